// Checksums recomputed after mutation, so the mutant reaches the decoder: an Ogg page whose CRC
// does not match is dropped by the demuxer, and a Theora mutant would test nothing but that.
// (MPEG-TS tables and Matroska CRC-32 elements are not needed: the size fields are not in them,
// or FFmpeg does not check them by default.)
import type { Container } from './container-resize';

// CRC-32 as Ogg uses it: polynomial 0x04c11db7, not reflected, initial value 0.
const OGG_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

function oggCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) ^ OGG_TABLE[((crc >>> 24) ^ b) & 0xff]) >>> 0;
  return crc;
}

/** Recomputes the CRC of every whole Ogg page in `buf` (in place); returns how many. */
function fixOggPages(buf: Uint8Array): number {
  let fixed = 0;
  for (let at = 0; at + 27 <= buf.length; at++) {
    if (buf[at] !== 0x4f || buf[at + 1] !== 0x67 || buf[at + 2] !== 0x67 || buf[at + 3] !== 0x53) continue;
    const segments = buf[at + 26];
    if (at + 27 + segments > buf.length) continue;
    let length = 27 + segments;
    for (let i = 0; i < segments; i++) length += buf[at + 27 + i];
    if (at + length > buf.length) continue;
    const page = buf.subarray(at, at + length);
    page.fill(0, 22, 26);
    new DataView(buf.buffer, buf.byteOffset).setUint32(at + 22, oggCrc(page), true);
    fixed++;
  }
  return fixed;
}

/** `buf` with its container's checksums made right again, or null where there are none to fix. */
export function fixChecksums(container: Container, buf: Uint8Array): Uint8Array | null {
  if (container !== 'ogg') return null;
  const out = buf.slice();
  return fixOggPages(out) > 0 ? out : null;
}
