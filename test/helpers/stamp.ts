// Frame numbers written into the pictures themselves, so that what a reader decodes can be
// matched to what was sent: 16 bits as 16 blocks (8 per row, two rows) of black or white in a
// gray picture, big enough to survive any sane encoding.
export const STAMP_BITS = 16;

export function stampedFrame(n: number, width: number, height: number): Uint8Array {
  const picture = new Uint8Array(width * height).fill(128);
  const block = Math.floor(width / 8);
  for (let bit = 0; bit < STAMP_BITS; bit++) {
    const value = (n >> bit) & 1 ? 235 : 16;
    const x0 = (bit % 8) * block;
    const y0 = Math.floor(bit / 8) * block;
    for (let y = y0 + 2; y < y0 + block - 2; y++) picture.fill(value, y * width + x0 + 2, y * width + x0 + block - 2);
  }
  return picture;
}

/** Reads the number back from a gray picture (mean of each block's centre). */
export function readStamp(picture: Uint8Array, width: number): number {
  const block = Math.floor(width / 8);
  let n = 0;
  for (let bit = 0; bit < STAMP_BITS; bit++) {
    const cx = (bit % 8) * block + Math.floor(block / 2);
    const cy = Math.floor(bit / 8) * block + Math.floor(block / 2);
    let sum = 0;
    for (let y = cy - 4; y < cy + 4; y++) for (let x = cx - 4; x < cx + 4; x++) sum += picture[y * width + x];
    if (sum / 64 > 128) n |= 1 << bit;
  }
  return n;
}
