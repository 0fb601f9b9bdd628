// Where a seed keeps its timing and packet-size fields, for the second family of structure-aware
// mutations: time bases of 0 or 1, timestamps near 2^31, 2^32, 2^33 (MPEG PTS), 2^63, negative
// composition offsets, sample sizes that lie. These are what frame indexes, pts fill-ins, frame
// counts, durations and seeks are computed from; an overflow there is undefined behaviour in
// the native code, and an impossible duration has made readers loop or allocate before.
import { mp4Boxes, walkMp4, type Container } from './container-resize';
import type { Random } from './prng';

type Bytes = 1 | 2 | 3 | 4 | 8;
const SIZES: readonly number[] = [1, 2, 3, 4, 8];

export interface TimingField {
  /** e.g. `mdhd.timescale@812`. */
  name: string;
  offset: number;
  /** A byte count, or `pts33`: an MPEG PES timestamp (33 bits spread over 5 bytes with markers). */
  layout: Bytes | 'pts33';
  little?: boolean;
}

const field = (name: string, offset: number, layout: TimingField['layout'], little = false): TimingField => ({ name: `${name}@${offset}`, offset, layout, little });
const MAX_ENTRIES = 6;

function mp4Fields(buf: Uint8Array): TimingField[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const fields: TimingField[] = [];
  const table = (box: { start: number; size: number }, name: string, stride: number, parts: [string, number, 4 | 8][], first = 16) => {
    const count = Math.min(MAX_ENTRIES, view.getUint32(box.start + first - 4));
    for (let i = 0; i < count; i++) {
      for (const [part, at, size] of parts) {
        const offset = box.start + first + i * stride + at;
        if (offset + size <= box.start + box.size) fields.push(field(`${name}.${part}`, offset, size));
      }
    }
  };
  for (const box of walkMp4(mp4Boxes(buf))) {
    if (box.headerSize !== 8 || box.start + 40 > buf.length) continue;
    const v1 = buf[box.start + 8] === 1;
    switch (box.type) {
      case 'mvhd': case 'mdhd':
        fields.push(field(`${box.type}.timescale`, box.start + (v1 ? 28 : 20), 4));
        fields.push(field(`${box.type}.duration`, box.start + (v1 ? 32 : 24), v1 ? 8 : 4));
        break;
      case 'tkhd':
        fields.push(field('tkhd.duration', box.start + (v1 ? 36 : 28), v1 ? 8 : 4));
        break;
      case 'stts': table(box, 'stts', 8, [['count', 0, 4], ['delta', 4, 4]]); break;
      case 'ctts': table(box, 'ctts', 8, [['offset', 4, 4]]); break;
      case 'stss': table(box, 'stss', 4, [['sample', 0, 4]]); break;
      case 'stsc': table(box, 'stsc', 12, [['first', 0, 4], ['samples', 4, 4]]); break;
      case 'stco': table(box, 'stco', 4, [['offset', 0, 4]]); break;
      case 'stsz':
        fields.push(field('stsz.size', box.start + 12, 4));
        table(box, 'stsz', 4, [['entry', 0, 4]], 20);
        break;
      case 'elst': table(box, 'elst', v1 ? 20 : 12, [['duration', 0, v1 ? 8 : 4], ['media_time', v1 ? 8 : 4, v1 ? 8 : 4]]); break;
      default:
    }
  }
  return fields;
}

function indexOfAll(buf: Uint8Array, pattern: number[], limit = 64): number[] {
  const found: number[] = [];
  for (let i = 0; i + pattern.length <= buf.length && found.length < limit; i++) {
    if (pattern.every((b, k) => buf[i + k] === b)) found.push(i);
  }
  return found;
}

function flvFields(buf: Uint8Array): TimingField[] {
  const fields: TimingField[] = [];
  for (let at = 13, n = 0; at + 11 <= buf.length && n < 3 * MAX_ENTRIES; n++) {
    const size = (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3];
    fields.push(field('flv.timestamp', at + 4, 3), field('flv.timestamp_ext', at + 7, 1));
    // AVC video packets: a signed 24-bit composition time after the flags and packet type.
    if (buf[at] === 9 && (buf[at + 11] & 0x0f) === 7) fields.push(field('flv.avc_cts', at + 13, 3));
    at += 11 + size + 4;
  }
  return fields;
}

function ivfFields(buf: Uint8Array): TimingField[] {
  const fields = [field('ivf.timebase_den', 16, 4, true), field('ivf.timebase_num', 20, 4, true), field('ivf.frames', 24, 4, true)];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let at = 32, n = 0; at + 12 <= buf.length && n < MAX_ENTRIES; n++) {
    fields.push(field('ivf.frame_size', at, 4, true), field('ivf.pts', at + 4, 8, true));
    at += 12 + view.getUint32(at, true);
  }
  return fields;
}

// Video PES packets (MPEG-TS, MPEG-PS): 00 00 01 E0-EF, length(16), then MPEG-2 flags(16),
// header length(8), PTS, DTS; or MPEG-1 stuffing (FF), buffer size (01..), PTS ('0010') or
// PTS and DTS ('0011').
function pesFields(buf: Uint8Array): TimingField[] {
  const fields: TimingField[] = [];
  for (let i = 0; i + 19 <= buf.length && fields.length < 2 * MAX_ENTRIES; i++) {
    if (buf[i] !== 0 || buf[i + 1] !== 0 || buf[i + 2] !== 1 || (buf[i + 3] & 0xf0) !== 0xe0) continue;
    if ((buf[i + 6] & 0xc0) === 0x80) {
      const flags = buf[i + 7] >> 6;
      if (flags & 2) fields.push(field('pes.pts', i + 9, 'pts33'));
      if (flags === 3) fields.push(field('pes.dts', i + 14, 'pts33'));
      continue;
    }
    let at = i + 6;
    while (buf[at] === 0xff && at < i + 22) at++;
    if ((buf[at] & 0xc0) === 0x40) at += 2;
    if ((buf[at] & 0xe0) === 0x20) fields.push(field('pes.pts', at, 'pts33'));
    if ((buf[at] & 0xf0) === 0x30) fields.push(field('pes.dts', at + 5, 'pts33'));
  }
  return fields.filter((f) => f.offset + 5 <= buf.length);
}

function matroskaFields(buf: Uint8Array): TimingField[] {
  const fields: TimingField[] = [];
  // TimecodeScale (2A D7 B1), then Cluster Timecode (E7) just after each Cluster ID (1F 43 B6 75).
  for (const i of indexOfAll(buf, [0x2a, 0xd7, 0xb1], 2)) {
    const n = buf[i + 3] - 0x80;
    if (SIZES.includes(n)) fields.push(field('mkv.timecode_scale', i + 4, n as Bytes));
  }
  for (const i of indexOfAll(buf, [0x1f, 0x43, 0xb6, 0x75], MAX_ENTRIES)) {
    for (let k = i + 5; k < i + 14 && k + 2 < buf.length; k++) {
      const n = buf[k + 1] - 0x80;
      if (buf[k] === 0xe7 && SIZES.includes(n)) {
        fields.push(field('mkv.cluster_timecode', k + 2, n as Bytes));
        break;
      }
    }
  }
  return fields;
}

function aviFields(buf: Uint8Array): TimingField[] {
  const fields: TimingField[] = [];
  for (const i of indexOfAll(buf, [0x61, 0x76, 0x69, 0x68], 1)) fields.push(field('avih.usec_per_frame', i + 8, 4, true), field('avih.total_frames', i + 24, 4, true));
  for (const i of indexOfAll(buf, [0x73, 0x74, 0x72, 0x68], 2)) {
    fields.push(field('strh.scale', i + 28, 4, true), field('strh.rate', i + 32, 4, true), field('strh.start', i + 36, 4, true), field('strh.length', i + 40, 4, true));
  }
  // idx1 entries: the chunk offsets and sizes the demuxer seeks by.
  for (const i of indexOfAll(buf, [0x69, 0x64, 0x78, 0x31], 1)) {
    for (let k = 0; k < MAX_ENTRIES && i + 8 + 16 * (k + 1) <= buf.length; k++) fields.push(field('idx1.offset', i + 16 + 16 * k, 4, true), field('idx1.size', i + 20 + 16 * k, 4, true));
  }
  return fields;
}

function oggFields(buf: Uint8Array): TimingField[] {
  return indexOfAll(buf, [0x4f, 0x67, 0x67, 0x53], MAX_ENTRIES).map((i) => field('ogg.granule', i + 6, 8, true));
}

function gifFields(buf: Uint8Array): TimingField[] {
  // Graphic control extension: 21 F9 04, flags, delay (u16 LE, 1/100 s).
  return indexOfAll(buf, [0x21, 0xf9, 0x04], MAX_ENTRIES).map((i) => field('gif.delay', i + 4, 2, true));
}

/** Timing and packet-size fields of a seed in `container` (capped per table: a handful suffices). */
export function locateTimingFields(buf: Uint8Array, container: Container): TimingField[] {
  switch (container) {
    case 'mp4': return mp4Fields(buf);
    case 'flv': return flvFields(buf);
    case 'ivf': return ivfFields(buf);
    case 'mpegts': case 'mpeg-ps': return pesFields(buf);
    case 'matroska': return matroskaFields(buf);
    case 'avi': return aviFields(buf);
    case 'ogg': return oggFields(buf);
    case 'gif': return gifFields(buf);
    default: return [];
  }
}

const VALUES_32 = [0, 1, 2, 3, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 1000, 90000, 0x10000];
const VALUES_64 = [0n, 1n, 2n ** 31n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];
const VALUES_33 = [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 33 - 1, 2 ** 33 - 90000, 90000];

/** `buf` with `f` set to an interesting value; the description says which. */
export function writeTiming(buf: Uint8Array, f: TimingField, random: Random): [Uint8Array, string] | null {
  if (f.offset + (f.layout === 'pts33' ? 5 : f.layout) > buf.length) return null;
  const out = buf.slice();
  const view = new DataView(out.buffer);
  let value: string;
  if (f.layout === 'pts33') {
    const v = random.chance(0.8) ? random.pick(VALUES_33) : random.below(2 ** 32) * 2;
    // '0010' or '0011' prefix, then bits 32..30, marker, 29..15, marker, 14..0, marker.
    out[f.offset] = (out[f.offset] & 0xf0) | ((Math.floor(v / 2 ** 30) & 7) << 1) | 1;
    view.setUint16(f.offset + 1, ((Math.floor(v / 2 ** 15) & 0x7fff) << 1) | 1);
    view.setUint16(f.offset + 3, ((v & 0x7fff) << 1) | 1);
    value = String(v);
  } else if (f.layout === 8) {
    const v = random.pick(VALUES_64);
    view.setBigUint64(f.offset, v, f.little);
    value = String(v);
  } else {
    const bits = 8 * f.layout;
    const v = random.chance(0.7) ? random.pick(VALUES_32) % 2 ** bits : random.below(2 ** Math.min(bits, 32));
    for (let k = 0; k < f.layout; k++) {
      const byte = Math.floor(v / 256 ** k) & 0xff;
      out[f.little ? f.offset + k : f.offset + f.layout - 1 - k] = byte;
    }
    value = String(v);
  }
  return [out, `${f.name} := ${value}`];
}
