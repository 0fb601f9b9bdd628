// HEVC sequence parameter sets (ITU-T H.265 7.3.2.2), parsed as far as the picture size
// (pic_width/height_in_luma_samples and the conformance window) and rewritten with other sizes.
// Everything after the conformance window is copied bit for bit: reaching the VUI would mean
// parsing short-term reference picture sets, and the size is what the crashes were about.
import { BitReader, BitWriter, escapeRbsp, stopBitPosition, unescapeRbsp } from './bits';

export interface HevcSizeFields {
  width: number;
  height: number;
  /** left, right, top, bottom conformance window offsets in chroma units; null: none. */
  window: [number, number, number, number] | null;
}

export interface HevcSps extends HevcSizeFields {
  rbsp: Uint8Array;
  chromaFormatIdc: number;
  sizeStart: number;
  sizeEnd: number;
  stopBit: number;
  visibleWidth: number;
  visibleHeight: number;
}

export function windowUnits(chromaFormatIdc: number): { x: number; y: number } {
  return { x: chromaFormatIdc === 1 || chromaFormatIdc === 2 ? 2 : 1, y: chromaFormatIdc === 1 ? 2 : 1 };
}

/** Parses an SPS NAL unit (2-byte header included, still escaped); throws if it is not one. */
export function parseHevcSps(nal: Uint8Array): HevcSps {
  if (nal[0] !== 0x42 || (nal[1] & 0xf8) !== 0) throw new Error('not an HEVC SPS NAL unit');
  const rbsp = unescapeRbsp(nal);
  const r = new BitReader(rbsp, 16);
  r.skip(4);
  const maxSubLayersMinus1 = r.u(3);
  if (maxSubLayersMinus1 > 6) throw new Error('bad sps_max_sub_layers_minus1');
  r.skip(1);
  r.skip(96); // general profile, tier and level
  const profilePresent: number[] = [];
  const levelPresent: number[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.bit());
    levelPresent.push(r.bit());
  }
  if (maxSubLayersMinus1 > 0) r.skip(2 * (8 - maxSubLayersMinus1));
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) r.skip(88);
    if (levelPresent[i]) r.skip(8);
  }
  if (r.ue() > 15) throw new Error('bad sps_seq_parameter_set_id');
  const chromaFormatIdc = r.ue();
  if (chromaFormatIdc > 3) throw new Error('bad chroma_format_idc');
  if (chromaFormatIdc === 3) r.skip(1);
  const sizeStart = r.pos;
  const width = r.ue();
  const height = r.ue();
  const window = r.bit() ? ([r.ue(), r.ue(), r.ue(), r.ue()] as [number, number, number, number]) : null;
  const sizeEnd = r.pos;
  const stopBit = stopBitPosition(rbsp);
  if (stopBit < sizeEnd) throw new Error('SPS ends inside its size fields');
  const unit = windowUnits(chromaFormatIdc);
  return {
    rbsp, chromaFormatIdc, sizeStart, sizeEnd, stopBit, width, height, window,
    visibleWidth: width - unit.x * ((window?.[0] ?? 0) + (window?.[1] ?? 0)),
    visibleHeight: height - unit.y * ((window?.[2] ?? 0) + (window?.[3] ?? 0)),
  };
}

/**
 * Size fields that declare `width` x `height` visible pixels: the coded size rounded up to 8
 * (HEVC's smallest coding block) and a conformance window for the rest; `aligned: false` writes
 * the size as is, which a conforming stream may not do.
 */
export function hevcFieldsFor(sps: HevcSps, width: number, height: number, aligned = true): HevcSizeFields {
  if (!aligned) return { width: Math.max(0, width), height: Math.max(0, height), window: null };
  const unit = windowUnits(sps.chromaFormatIdc);
  const codedW = Math.max(8, Math.ceil(width / 8) * 8);
  const codedH = Math.max(8, Math.ceil(height / 8) * 8);
  const right = width <= 0 ? codedW / unit.x : Math.ceil((codedW - width) / unit.x);
  const bottom = height <= 0 ? codedH / unit.y : Math.ceil((codedH - height) / unit.y);
  return { width: codedW, height: codedH, window: right || bottom ? [0, right, 0, bottom] : null };
}

/** The SPS NAL unit (escaped, header included) with other size fields. */
export function rewriteHevcSps(sps: HevcSps, fields: HevcSizeFields): Uint8Array {
  const r = new BitReader(sps.rbsp);
  const w = new BitWriter();
  w.copy(r, 0, sps.sizeStart).ue(fields.width).ue(fields.height).u(1, fields.window ? 1 : 0);
  for (const v of fields.window ?? []) w.ue(v);
  w.copy(r, sps.sizeEnd, sps.stopBit).u(1, 1);
  return escapeRbsp(w.toBytes());
}
