// Bytes of a tightly packed picture, computed by the tests themselves rather than asked of the
// library they check. Plain CommonJS, so the child-process runners (plain JS) and the TypeScript
// tests share one rule.
'use strict';

const BYTES_PER_PIXEL = { rgb24: 3, bgr24: 3, rgba: 4, bgra: 4, gray: 1, yuv444p: 3 };

/** @param {string} pixelFormat @param {number} w @param {number} h @returns {number} */
function packedBytes(pixelFormat, w, h) {
  if (pixelFormat === 'yuv420p' || pixelFormat === 'nv12') return w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2);
  const perPixel = BYTES_PER_PIXEL[pixelFormat];
  if (perPixel === undefined) throw new Error(`no size rule for ${pixelFormat}`);
  return perPixel * w * h;
}

module.exports = { packedBytes };
