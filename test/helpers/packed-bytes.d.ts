/** Bytes of a tightly packed picture (see packed-bytes.js). */
export function packedBytes(pixelFormat: string, w: number, h: number): number;
