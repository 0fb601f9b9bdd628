// Thumbnails of what a pipeline sends: a small JPEG of the last picture handed to the outputs,
// every few seconds, made natively from a picture the run already has (no second decode). For a
// status page that shows at a glance whether a channel carries the program or the slate.
import * as check from '../validate';

export interface ThumbnailOptions {
  /** Called on the event loop with each JPEG. */
  onThumbnail: (jpeg: Uint8Array) => void;
  /** Pixels wide, 16 to 1920 (the height keeps the aspect ratio). Default 160. */
  width?: number;
  /** How often, in ms (500 to 600000). Default 5000. */
  everyMs?: number;
}

export interface Thumbnails {
  onThumbnail: (jpeg: Uint8Array) => void;
  width: number;
  everyMs: number;
}

export function normaliseThumbnails(value: unknown): Thumbnails | null {
  if (value === undefined) return null;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw check.invalid('thumbnails', '{ onThumbnail, width?, everyMs? }', value);
  const o = value as ThumbnailOptions;
  check.knownOptions(o, ['onThumbnail', 'width', 'everyMs'], 'pipeline thumbnails');
  if (typeof o.onThumbnail !== 'function') throw check.invalid('thumbnails.onThumbnail', 'a function', o.onThumbnail);
  return {
    onThumbnail: o.onThumbnail,
    width: o.width === undefined ? 160 : check.integer(o.width, 'thumbnails.width', 16, 1920),
    everyMs: o.everyMs === undefined ? 5000 : check.integer(o.everyMs, 'thumbnails.everyMs', 500, 600_000),
  };
}
