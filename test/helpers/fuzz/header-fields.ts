// Where a seed file declares its picture size, field by field, so that the structure-aware
// mutations can make it declare another one (small, odd, huge, zero). Every locator is checked
// against the size the seed really has, which is how the fields are told apart from look-alike
// bytes without a full parser for each container.
import { BitReader, readBitsAt, writeBitsAt } from './bits';
import { insertInside, type Container } from './container-resize';
import { h264FieldsFor, parseH264Sps, rewriteH264Sps, type H264Sps } from './h264-sps';
import { hevcFieldsFor, parseHevcSps, rewriteHevcSps, type HevcSps } from './hevc-sps';
import type { Random } from './prng';

export type Codec = 'h264' | 'hevc' | 'mpeg4' | 'mpeg2video' | 'vp9' | 'vp8' | 'av1' | 'mjpeg' | 'flv1' | 'prores' | 'gif' | 'png' | 'ffv1' | 'rawvideo' | 'theora';

export interface DimensionField {
  /** What and where, for the mutant's description, e.g. `h264-sps@612`. */
  name: string;
  /** Byte offset: edits are applied from the last field to the first, so offsets stay valid. */
  offset: number;
  /** Largest value the field can hold; `signed`: negative values are representable. */
  max: number;
  signed?: boolean;
  /** `buf` with this field declaring the size (null: that side unchanged), or null if it cannot. */
  write(buf: Uint8Array, width: number | null, height: number | null, random: Random): Uint8Array | null;
}

const be16 = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const le16 = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const be32 = (b: Uint8Array, i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const le32 = (b: Uint8Array, i: number) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;

function edited(buf: Uint8Array, edit: (out: Uint8Array, view: DataView) => void): Uint8Array {
  const out = buf.slice();
  edit(out, new DataView(out.buffer));
  return out;
}

/** Two fixed-width integers of a byte layout, one for each side. */
function bytePairField(name: string, offset: number, wAt: number, hAt: number, bytes: 2 | 4, little: boolean, max: number, signed = false, shift = 0): DimensionField {
  return {
    name: `${name}@${offset}`, offset, max, signed,
    write: (buf, w, h) => edited(buf, (_, view) => {
      for (const [at, v] of [[wAt, w], [hAt, h]] as const) {
        if (v === null) continue;
        if (bytes === 2) view.setUint16(at, v & 0xffff, little);
        else view.setUint32(at, (shift ? v * 2 ** shift : v) >>> 0, little);
      }
    }),
  };
}

function scanBytePairs(buf: Uint8Array, width: number, height: number): DimensionField[] {
  const fields: DimensionField[] = [];
  for (let i = 0; i + 8 <= buf.length; i++) {
    // Sample entries (avc1, hvc1, mp4v, vp09, av01), ProRes frame headers: u16 BE.
    if (be16(buf, i) === width && be16(buf, i + 2) === height) fields.push(bytePairField('be16', i, i, i + 2, 2, false, 0xffff));
    // tkhd: 16.16 fixed point.
    if (be32(buf, i) === width * 65536 && be32(buf, i + 4) === height * 65536) fields.push(bytePairField('tkhd-fixed', i, i, i + 4, 4, false, 0xffff, false, 16));
    // IVF header, VP8 key frames, AVI rcFrame: u16 LE.
    if (le16(buf, i) === width && le16(buf, i + 2) === height) fields.push(bytePairField('le16', i, i, i + 2, 2, true, 0xffff));
    // PNG IHDR: u32 BE.
    if (be32(buf, i) === width && be32(buf, i + 4) === height) fields.push(bytePairField('be32', i, i, i + 4, 4, false, 0x7fffffff));
    // AVI avih and the BITMAPINFOHEADER in strf: 32-bit LE (biHeight < 0 means top-down).
    if (le32(buf, i) === width && le32(buf, i + 4) === height) fields.push(bytePairField('le32', i, i, i + 4, 4, true, 0x7fffffff, true));
  }
  return fields;
}

// Matroska PixelWidth (0xB0) and PixelHeight (0xBA): an EBML unsigned integer of 1-4 bytes,
// rewritten in the bytes it has (a Matroska file cannot grow in place: cues point behind it).
function scanEbml(buf: Uint8Array, width: number, height: number): DimensionField[] {
  const fields: DimensionField[] = [];
  for (let i = 0; i + 3 <= buf.length; i++) {
    const id = buf[i];
    if (id !== 0xb0 && id !== 0xba) continue;
    const n = buf[i + 1] - 0x80;
    if (n < 1 || n > 4 || i + 2 + n > buf.length) continue;
    let value = 0;
    for (let k = 0; k < n; k++) value = value * 256 + buf[i + 2 + k];
    if (value !== (id === 0xb0 ? width : height)) continue;
    const side = id === 0xb0 ? 'width' : 'height';
    fields.push({
      name: `mkv-pixel-${side}@${i}`, offset: i, max: 2 ** (8 * n) - 1,
      write: (b, w, h) => {
        const v = side === 'width' ? w : h;
        if (v === null) return null;
        return edited(b, (out) => {
          for (let k = 0; k < n; k++) out[i + 2 + k] = Math.floor(v / 256 ** (n - 1 - k)) & 0xff;
        });
      },
    });
  }
  return fields;
}

// FLV onMetaData: AMF0 "width"/"height" keys followed by a number (marker 0, 8-byte double).
function scanAmf(buf: Uint8Array): DimensionField[] {
  const fields: DimensionField[] = [];
  const text = Buffer.from(buf).toString('latin1');
  for (const key of ['width', 'height'] as const) {
    const needle = `\0${String.fromCharCode(key.length)}${key}\0`;
    for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      const at = i + needle.length;
      if (at + 8 > buf.length) continue;
      fields.push({
        name: `flv-meta-${key}@${i}`, offset: i, max: 0xffff, signed: true,
        write: (b, w, h, random) => {
          const v = key === 'width' ? w : h;
          if (v === null) return null;
          // Doubles can also say what no integer field can.
          const value = random.chance(0.15) ? random.pick([Number.NaN, Infinity, -Infinity, 0.5, 1e300, -0]) : v;
          return edited(b, (_, view) => view.setFloat64(at, value));
        },
      });
    }
  }
  return fields;
}

/** A size stored as two bit fields at bit offsets `wPos`/`hPos`, minus `bias` (VP9 and AV1 store size - 1). */
function bitField(name: string, offset: number, wPos: number, wBits: number, hPos: number, hBits: number, bias = 0): DimensionField {
  return {
    name: `${name}@${offset}`, offset, max: Math.min(2 ** wBits, 2 ** hBits) - 1 + bias,
    write: (buf, w, h) => edited(buf, (out) => {
      if (w !== null) writeBitsAt(out, wPos, wBits, Math.max(0, w - bias) % 2 ** wBits);
      if (h !== null) writeBitsAt(out, hPos, hBits, Math.max(0, h - bias) % 2 ** hBits);
    }),
  };
}

function startCodes(buf: Uint8Array, accept: (code: number) => boolean): number[] {
  const found: number[] = [];
  for (let i = 0; i + 4 <= buf.length; i++) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1 && accept(buf[i + 3])) found.push(i);
  }
  return found;
}

/** Bit offsets in [from, to) where the fields `[value, bits][]` follow each other. */
function bitPattern(buf: Uint8Array, from: number, to: number, parts: readonly (readonly [number, number])[]): number[] {
  const total = parts.reduce((n, [, bits]) => n + bits, 0);
  const found: number[] = [];
  for (let pos = from; pos < to && pos + total <= buf.length * 8; pos++) {
    const r = new BitReader(buf, pos);
    if (parts.every(([value, bits]) => r.u(bits) === value)) found.push(pos);
  }
  return found;
}

function codecFields(codec: Codec, buf: Uint8Array, width: number, height: number, container: Container): DimensionField[] {
  switch (codec) {
    case 'h264':
      return spsFields(buf, width, height, container, 'h264');
    case 'hevc':
      return spsFields(buf, width, height, container, 'hevc');
    case 'mpeg2video':
      // sequence_header: horizontal_size_value(12) vertical_size_value(12).
      return startCodes(buf, (c) => c === 0xb3)
        .filter((i) => readBitsAt(buf, (i + 4) * 8, 12) === width && readBitsAt(buf, (i + 4) * 8 + 12, 12) === height)
        .map((i) => bitField('mpeg2-sequence-header', i, (i + 4) * 8, 12, (i + 4) * 8 + 12, 12));
    case 'mpeg4':
      // video_object_layer: marker, width(13), marker, height(13), marker, somewhere after the start code.
      return startCodes(buf, (c) => c >= 0x20 && c <= 0x2f).flatMap((i) =>
        bitPattern(buf, (i + 4) * 8, (i + 24) * 8, [[1, 1], [width, 13], [1, 1], [height, 13], [1, 1]])
          .map((pos) => bitField('mpeg4-vol', i, pos + 1, 13, pos + 15, 13)));
    case 'vp9': {
      // Key frames: the sync code 49 83 42, colour config, then frame_width_minus_1(16), frame_height_minus_1(16).
      const fields: DimensionField[] = [];
      for (let i = 0; i + 3 < buf.length; i++) {
        if (buf[i] !== 0x49 || buf[i + 1] !== 0x83 || buf[i + 2] !== 0x42) continue;
        for (const pos of bitPattern(buf, (i + 3) * 8, (i + 3) * 8 + 12, [[width - 1, 16], [height - 1, 16]])) {
          fields.push(bitField('vp9-frame-size', i, pos, 16, pos + 16, 16, 1));
        }
      }
      return fields;
    }
    case 'av1': {
      // Sequence header OBU (0x0A: type 1 with a size): frame_width_bits_minus_1(4),
      // frame_height_bits_minus_1(4), max_frame_width_minus_1, max_frame_height_minus_1.
      const fields: DimensionField[] = [];
      const minBits = (v: number) => Math.max(1, Math.ceil(Math.log2(v + 1)));
      for (let i = 0; i + 2 < buf.length; i++) {
        if (buf[i] !== 0x0a || buf[i + 1] > 0x7f) continue;
        for (let nw = minBits(width - 1); nw <= 16; nw++) {
          for (let nh = minBits(height - 1); nh <= 16; nh++) {
            for (const pos of bitPattern(buf, (i + 2) * 8, (i + 12) * 8, [[nw - 1, 4], [nh - 1, 4], [width - 1, nw], [height - 1, nh]])) {
              fields.push(bitField('av1-sequence-header', i, pos + 8, nw, pos + 8 + nw, nh, 1));
            }
          }
        }
      }
      return fields;
    }
    case 'mjpeg': {
      // SOF0-SOF3: FF Cx, length(16), precision(8), height(16), width(16).
      const fields: DimensionField[] = [];
      for (let i = 0; i + 9 <= buf.length; i++) {
        if (buf[i] === 0xff && buf[i + 1] >= 0xc0 && buf[i + 1] <= 0xc3 && be16(buf, i + 5) === height && be16(buf, i + 7) === width) {
          fields.push(bytePairField('jpeg-sof', i, i + 7, i + 5, 2, false, 0xffff));
        }
      }
      return fields;
    }
    case 'flv1': {
      // Sorenson H.263 picture header: start code (17 bits), version(5), temporal reference(8),
      // size code(3): 0 is then width(8) height(8), 1 is width(16) height(16).
      const fields: DimensionField[] = [];
      for (let i = 0; i + 8 <= buf.length; i++) {
        if (buf[i] !== 0 || buf[i + 1] !== 0 || (buf[i + 2] & 0x80) === 0) continue;
        const code = readBitsAt(buf, i * 8 + 30, 3);
        const bits = code === 0 ? 8 : code === 1 ? 16 : 0;
        if (bits && readBitsAt(buf, i * 8 + 33, bits) === width && readBitsAt(buf, i * 8 + 33 + bits, bits) === height) {
          fields.push(bitField('flv1-picture-size', i, i * 8 + 33, bits, i * 8 + 33 + bits, bits));
        }
      }
      return fields;
    }
    case 'theora': {
      // Identification header: 0x80 "theora", version(24), FMBW(16) FMBH(16) in macroblocks,
      // PICW(24) PICH(24) in pixels, PICX(8) PICY(8) offsets.
      const fields: DimensionField[] = [];
      const magic = Buffer.from('\x80theora', 'latin1');
      for (let i = Buffer.from(buf).indexOf(magic); i >= 0; i = Buffer.from(buf).indexOf(magic, i + 1)) {
        const at = i + 10;
        if (at + 12 > buf.length || readBitsAt(buf, (at + 4) * 8, 24) !== width || readBitsAt(buf, (at + 7) * 8, 24) !== height) continue;
        // The size as an encoder would declare it: macroblocks to hold the picture, offsets 0
        // (Theora refuses a picture its macroblocks do not cover, so only this reaches the decoder).
        fields.push({
          name: `theora-size@${i}`, offset: i, max: 0xffff * 16,
          write: (b, w, h) => edited(b, (out) => {
            if (w !== null) {
              writeBitsAt(out, at * 8, 16, Math.min(0xffff, Math.ceil(w / 16)));
              writeBitsAt(out, (at + 4) * 8, 24, w);
              out[at + 10] = 0;
            }
            if (h !== null) {
              writeBitsAt(out, (at + 2) * 8, 16, Math.min(0xffff, Math.ceil(h / 16)));
              writeBitsAt(out, (at + 7) * 8, 24, h);
              out[at + 11] = 0;
            }
          }),
        });
        fields.push(bitField('theora-picture-size', i + 1, (at + 4) * 8, 24, (at + 7) * 8, 24));
      }
      return fields;
    }
    default:
      return [];
  }
}

interface Nal {
  start: number;
  length: number;
  /** Offset of a 16-bit big-endian length before the NAL unit (avcC, hvcC), or null (Annex-B). */
  lengthField: number | null;
}

function candidateNals(buf: Uint8Array, isHeader: (i: number) => boolean): Nal[] {
  const nals: Nal[] = [];
  for (let p = 2; p + 4 < buf.length; p++) {
    if (!isHeader(p)) continue;
    if (p >= 3 && buf[p - 3] === 0 && buf[p - 2] === 0 && buf[p - 1] === 1) {
      let end = p + 1;
      while (end + 2 < buf.length && !(buf[end] === 0 && buf[end + 1] === 0 && buf[end + 2] <= 1)) end++;
      nals.push({ start: p, length: (end + 2 < buf.length ? end : buf.length) - p, lengthField: null });
    }
    const length = be16(buf, p - 2);
    if (length >= 4 && length <= 512 && p + length <= buf.length) nals.push({ start: p, length, lengthField: p - 2 });
  }
  return nals;
}

function spsFields(buf: Uint8Array, width: number, height: number, container: Container, codec: 'h264' | 'hevc'): DimensionField[] {
  const fields: DimensionField[] = [];
  const isHeader = codec === 'h264' ? (p: number) => (buf[p] & 0x9f) === 0x07 : (p: number) => buf[p] === 0x42 && buf[p + 1] === 0x01;
  for (const nal of candidateNals(buf, isHeader)) {
    const bytes = buf.subarray(nal.start, nal.start + nal.length);
    try {
      if (codec === 'h264') {
        const sps = parseH264Sps(bytes);
        if (sps.width === width && sps.height === height) fields.push(h264SpsField(sps, nal, container));
      } else {
        const sps = parseHevcSps(bytes);
        if (sps.visibleWidth === width && sps.visibleHeight === height) fields.push(hevcSpsField(sps, nal, container));
      }
    } catch {
      // Not a parameter set after all.
    }
  }
  return fields;
}

/** Puts `nal` where `old` was: zero-padded when shorter (trailing zeros after the stop bit are ignored), grown with its container when longer. */
function replaceNal(buf: Uint8Array, old: Nal, nal: Uint8Array, container: Container): Uint8Array | null {
  if (nal.length <= old.length) {
    return edited(buf, (out) => {
      out.set(nal, old.start);
      out.fill(0, old.start + nal.length, old.start + old.length);
    });
  }
  const grown = insertInside(container, buf, old.start + old.length, new Uint8Array(nal.length - old.length));
  if (grown === null) return null;
  grown.set(nal, old.start);
  if (old.lengthField !== null) new DataView(grown.buffer).setUint16(old.lengthField, nal.length);
  return grown;
}

function h264SpsField(sps: H264Sps, nal: Nal, container: Container): DimensionField {
  return {
    name: `h264-sps${nal.lengthField === null ? '-annexb' : ''}@${nal.start}`, offset: nal.start, max: 16384,
    write: (buf, w, h, random) => {
      let fields = h264FieldsFor(sps, w ?? sps.width, h ?? sps.height);
      // Now and then values no encoder would write: huge macroblock counts, crops past the picture, field coding.
      if (random.chance(0.25)) {
        fields = {
          widthMbsMinus1: random.chance(0.5) ? fields.widthMbsMinus1 : random.pick([0, 1, 1023, 4095, 65535, 2 ** 31 - 2]),
          heightMapUnitsMinus1: random.chance(0.5) ? fields.heightMapUnitsMinus1 : random.pick([0, 1, 1023, 4095, 65535, 2 ** 31 - 2]),
          frameMbsOnly: random.chance(0.3) ? 1 - fields.frameMbsOnly : fields.frameMbsOnly,
          crop: random.chance(0.5) ? fields.crop : [random.below(20), random.pick([0, 1, 7, 8, 15, 255]), random.below(20), random.pick([0, 1, 7, 8, 15, 255])],
        };
      }
      const keepVui = random.chance(0.5);
      return replaceNal(buf, nal, rewriteH264Sps(sps, fields, keepVui), container)
        ?? (keepVui ? replaceNal(buf, nal, rewriteH264Sps(sps, fields, false), container) : null);
    },
  };
}

function hevcSpsField(sps: HevcSps, nal: Nal, container: Container): DimensionField {
  return {
    name: `hevc-sps${nal.lengthField === null ? '-annexb' : ''}@${nal.start}`, offset: nal.start, max: 16384,
    write: (buf, w, h, random) => {
      const fields = hevcFieldsFor(sps, w ?? sps.visibleWidth, h ?? sps.visibleHeight, random.chance(0.7));
      if (random.chance(0.2)) fields.window = [random.below(10), random.pick([0, 1, 3, 4, 255, 65535]), random.below(10), random.pick([0, 1, 3, 4, 255])];
      return replaceNal(buf, nal, rewriteHevcSps(sps, fields), container);
    },
  };
}

/** Every place in `buf` (a seed of `codec` in `container`, `width` x `height`) that declares its size. */
export function locateDimensionFields(buf: Uint8Array, codec: Codec, container: Container, width: number, height: number): DimensionField[] {
  const fields = [...scanBytePairs(buf, width, height), ...codecFields(codec, buf, width, height, container)];
  if (container === 'matroska') fields.push(...scanEbml(buf, width, height));
  if (container === 'flv') fields.push(...scanAmf(buf));
  return fields.sort((a, b) => a.offset - b.offset);
}
