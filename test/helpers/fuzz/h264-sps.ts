// H.264 sequence parameter sets (ITU-T H.264 7.3.2.1.1), parsed far enough to find the picture
// size (pic_width_in_mbs_minus1, pic_height_in_map_units_minus1, frame cropping) and rewritten
// with other sizes: the field crashes all came from "a header that declares a small or odd
// width", and a size that the rest of the stream does not match is exactly that.
import { BitReader, BitWriter, escapeRbsp, stopBitPosition, unescapeRbsp } from './bits';

// Profiles whose SPS carries chroma_format_idc, bit depths and scaling matrices.
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

export interface H264SizeFields {
  widthMbsMinus1: number;
  heightMapUnitsMinus1: number;
  frameMbsOnly: number;
  /** left, right, top, bottom, in crop units; null: no frame_cropping. */
  crop: [number, number, number, number] | null;
}

export interface H264Sps extends H264SizeFields {
  rbsp: Uint8Array;
  chromaFormatIdc: number;
  /** Bit offsets in `rbsp` (which starts with the NAL header byte). */
  sizeStart: number;
  vuiFlag: number;
  stopBit: number;
  /** Visible size in pixels, after cropping. */
  width: number;
  height: number;
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

export function cropUnits(chromaFormatIdc: number, frameMbsOnly: number): { x: number; y: number } {
  const fieldFactor = 2 - frameMbsOnly;
  if (chromaFormatIdc === 0 || chromaFormatIdc === 3) return { x: 1, y: fieldFactor };
  return { x: 2, y: (chromaFormatIdc === 1 ? 2 : 1) * fieldFactor };
}

/** Parses an SPS NAL unit (header byte included, still escaped); throws if it is not one. */
export function parseH264Sps(nal: Uint8Array): H264Sps {
  if ((nal[0] & 0x9f) !== 0x07) throw new Error('not an H.264 SPS NAL unit');
  const rbsp = unescapeRbsp(nal);
  const r = new BitReader(rbsp, 8);
  const profile = r.u(8);
  r.skip(16);
  if (r.ue() > 31) throw new Error('bad seq_parameter_set_id');
  let chromaFormatIdc = 1;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc > 3) throw new Error('bad chroma_format_idc');
    if (chromaFormatIdc === 3) r.skip(1);
    r.ue();
    r.ue();
    r.skip(1);
    if (r.bit()) {
      for (let i = 0; i < (chromaFormatIdc === 3 ? 12 : 8); i++) if (r.bit()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue();
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.skip(1);
    r.se();
    r.se();
    const cycle = r.ue();
    if (cycle > 255) throw new Error('bad num_ref_frames_in_pic_order_cnt_cycle');
    for (let i = 0; i < cycle; i++) r.se();
  } else if (pocType !== 2) throw new Error('bad pic_order_cnt_type');
  r.ue();
  r.skip(1);
  const sizeStart = r.pos;
  const widthMbsMinus1 = r.ue();
  const heightMapUnitsMinus1 = r.ue();
  const frameMbsOnly = r.bit();
  if (!frameMbsOnly) r.skip(1);
  r.skip(1);
  const crop = r.bit() ? ([r.ue(), r.ue(), r.ue(), r.ue()] as [number, number, number, number]) : null;
  const vuiFlag = r.pos;
  const stopBit = stopBitPosition(rbsp);
  if (stopBit < vuiFlag) throw new Error('SPS ends before its VUI flag');
  const unit = cropUnits(chromaFormatIdc, frameMbsOnly);
  const width = (widthMbsMinus1 + 1) * 16 - unit.x * ((crop?.[0] ?? 0) + (crop?.[1] ?? 0));
  const height = (heightMapUnitsMinus1 + 1) * 16 * (2 - frameMbsOnly) - unit.y * ((crop?.[2] ?? 0) + (crop?.[3] ?? 0));
  return { rbsp, chromaFormatIdc, sizeStart, vuiFlag, stopBit, widthMbsMinus1, heightMapUnitsMinus1, frameMbsOnly, crop, width, height };
}

/** The size fields that declare `width` x `height` pixels (<= 0: a crop that eats the whole picture). */
export function h264FieldsFor(sps: H264Sps, width: number, height: number): H264SizeFields {
  const unit = cropUnits(sps.chromaFormatIdc, sps.frameMbsOnly);
  const mapUnit = 16 * (2 - sps.frameMbsOnly);
  const mbs = Math.max(1, Math.ceil(width / 16));
  const rows = Math.max(1, Math.ceil(height / mapUnit));
  const right = width <= 0 ? 16 / unit.x : Math.ceil((mbs * 16 - width) / unit.x);
  const bottom = height <= 0 ? mapUnit / unit.y : Math.ceil((rows * mapUnit - height) / unit.y);
  return {
    widthMbsMinus1: mbs - 1,
    heightMapUnitsMinus1: rows - 1,
    frameMbsOnly: sps.frameMbsOnly,
    crop: right || bottom ? [0, right, 0, bottom] : null,
  };
}

/** The SPS NAL unit (escaped, header included) with other size fields; `keepVui: false` drops the VUI to save bits. */
export function rewriteH264Sps(sps: H264Sps, fields: H264SizeFields, keepVui = true): Uint8Array {
  const r = new BitReader(sps.rbsp);
  const w = new BitWriter();
  w.copy(r, 0, sps.sizeStart).ue(fields.widthMbsMinus1).ue(fields.heightMapUnitsMinus1).u(1, fields.frameMbsOnly);
  if (!fields.frameMbsOnly) w.u(1, 0);
  // direct_8x8_inference_flag must be 1 when frame_mbs_only_flag is 0.
  w.u(1, fields.frameMbsOnly ? new BitReader(sps.rbsp, sps.vuiFlag - 1 - cropBits(sps)).bit() : 1);
  w.u(1, fields.crop ? 1 : 0);
  for (const v of fields.crop ?? []) w.ue(v);
  if (keepVui) w.copy(r, sps.vuiFlag, sps.stopBit);
  else w.u(1, 0);
  w.u(1, 1);
  return escapeRbsp(w.toBytes());
}

/** Bits the frame_cropping flag and its offsets take in the original SPS. */
function cropBits(sps: H264Sps): number {
  const w = new BitWriter().u(1, 0);
  for (const v of sps.crop ?? []) w.ue(v);
  return w.length;
}
