// Growing a header in place: a rewritten SPS with a large width can be longer than the original,
// and then every length that encloses it must grow too, or the demuxer sees a broken container
// instead of the declared size we meant to test. Done for the containers where it is cheap:
// raw Annex-B (nothing to fix), MP4 (box sizes and chunk offsets) and FLV (the tag's sizes).
// Elsewhere (MPEG-TS, Matroska, AVI) the rewrite must fit in the original bytes.

export type Container = 'mp4' | 'annexb' | 'flv' | 'mpegts' | 'matroska' | 'avi' | 'ivf' | 'mpeg-ps' | 'gif' | 'ogg';

const MP4_CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'edts', 'dinf', 'udta', 'mvex', 'moof', 'traf', 'mfra']);
// Visual sample entries: 8-byte box header and 78 bytes of fields, then child boxes (avcC, ...).
const MP4_SAMPLE_ENTRIES = new Set(['avc1', 'avc3', 'hvc1', 'hev1', 'mp4v', 'vp09', 'av01', 'jpeg', 'mjpa', 'png ', 'apch', 'apcn', 'apcs', 'apco', 'ap4h']);

export interface Mp4Box {
  type: string;
  start: number;
  size: number;
  headerSize: number;
  children: Mp4Box[];
}

function childOffset(type: string): number | null {
  if (MP4_CONTAINERS.has(type)) return 0;
  if (type === 'stsd') return 8;
  if (MP4_SAMPLE_ENTRIES.has(type)) return 78;
  return null;
}

/** The box tree of an MP4 (as far as it is well-formed). */
export function mp4Boxes(buf: Uint8Array, start = 0, end = buf.length, depth = 0): Mp4Box[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const boxes: Mp4Box[] = [];
  for (let at = start; at + 8 <= end && depth < 12; ) {
    let size = view.getUint32(at);
    let headerSize = 8;
    if (size === 1 && at + 16 <= end) {
      size = Number(view.getBigUint64(at + 8));
      headerSize = 16;
    } else if (size === 0) size = end - at;
    if (size < headerSize || at + size > end) break;
    const type = String.fromCharCode(...buf.subarray(at + 4, at + 8));
    const offset = childOffset(type);
    const children = offset === null ? [] : mp4Boxes(buf, at + headerSize + offset, at + size, depth + 1);
    boxes.push({ type, start: at, size, headerSize, children });
    at += size;
  }
  return boxes;
}

export function* walkMp4(boxes: Mp4Box[]): Generator<Mp4Box> {
  for (const box of boxes) {
    yield box;
    yield* walkMp4(box.children);
  }
}

/** `buf` with `bytes` inserted at `offset`, every enclosing length grown to match; null where that is not done. */
export function insertInside(container: Container, buf: Uint8Array, offset: number, bytes: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(buf.length + bytes.length);
  out.set(buf.subarray(0, offset));
  out.set(bytes, offset);
  out.set(buf.subarray(offset), offset + bytes.length);
  if (container === 'annexb') return out;
  if (container === 'mp4') return growMp4(buf, out, offset, bytes.length) ? out : null;
  if (container === 'flv') return growFlv(buf, out, offset, bytes.length) ? out : null;
  return null;
}

function growMp4(before: Uint8Array, after: Uint8Array, offset: number, delta: number): boolean {
  const view = new DataView(after.buffer, after.byteOffset, after.byteLength);
  let grown = 0;
  for (const box of walkMp4(mp4Boxes(before))) {
    if (box.start < offset && offset < box.start + box.size) {
      if (box.headerSize === 16) view.setBigUint64(box.start + 8, BigInt(box.size + delta));
      else view.setUint32(box.start, box.size + delta);
      grown++;
    }
    // Chunk offsets point into mdat; those behind the insertion move with it.
    if ((box.type === 'stco' || box.type === 'co64') && box.start + 16 <= before.length) {
      const shift = box.start >= offset ? delta : 0;
      const count = view.getUint32(box.start + shift + 12);
      const wide = box.type === 'co64';
      for (let i = 0; i < count; i++) {
        const at = box.start + shift + 16 + i * (wide ? 8 : 4);
        if (at + (wide ? 8 : 4) > after.length) break;
        const value = wide ? Number(view.getBigUint64(at)) : view.getUint32(at);
        if (value < offset) continue;
        if (wide) view.setBigUint64(at, BigInt(value + delta));
        else view.setUint32(at, value + delta);
      }
    }
  }
  return grown > 0;
}

// FLV: a 9-byte header, then (PreviousTagSize u32, tag)*; a tag is an 11-byte header whose bytes
// 1-3 are the data size, then the data. The PreviousTagSize after a tag is 11 + data size.
function growFlv(before: Uint8Array, after: Uint8Array, offset: number, delta: number): boolean {
  for (let at = 13; at + 11 <= before.length; ) {
    const size = (before[at + 1] << 16) | (before[at + 2] << 8) | before[at + 3];
    const end = at + 11 + size;
    if (offset > at + 11 && offset <= end) {
      const grown = size + delta;
      if (grown > 0xffffff || end + 4 > before.length) return false;
      after.set([grown >> 16, (grown >> 8) & 0xff, grown & 0xff], at + 1);
      new DataView(after.buffer, after.byteOffset).setUint32(end + delta, 11 + grown);
      return true;
    }
    at = end + 4;
  }
  return false;
}
