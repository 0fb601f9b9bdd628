// Frames the library allocates itself (extractFrame, extractGOP, readGOP, the async iterator) are converted
// straight into their memory when its rows are laid out as swscale's own padded frames would be
// (one plane, a row length that is already aligned) and the memory has slack past its end
// (native/video/scaler.cc, WritesInPlace). Every other frame is converted into a padded frame and
// copied out at its exact width, which the sweeps of buffer-safety-decode.test.ts compare with the
// ffmpeg CLI. Here the in-place result must be byte for byte the copied one (a caller's buffer,
// which has no slack, always takes the copy), over every aligned width up to 512 pixels, odd and
// even heights, every single-plane output format, sources of every chroma layout, scaled and not.
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Decoder, type Frame } from '../lib';
import { tempDir } from './helpers/fixtures';
import { RAW_FORMATS, rawSource, writeNoise, type RawFormat } from './helpers/raw-sources';

const { dir, cleanup } = tempDir('streamcoder-in-place-');
afterAll(cleanup);

// Every format whose packed picture is one plane (yuv420p is three: always copied).
const FORMATS = ['rgb24', 'bgr24', 'rgba', 'bgra', 'gray'] as const;
// Rows of 16 pixels' multiples are where some format's row is a multiple of 32 or 64 bytes (the
// alignment libav's frames use on this CPU); the odd ones between are the copy's, for contrast.
const WIDTHS = [...Array.from({ length: 32 }, (_, i) => 16 * (i + 1)), 17, 63, 1920];
const HEIGHTS = [1, 2, 3, 5, 8, 17, 64, 65];
const FRAMES = 3;

async function compare(file: string, source: RawFormat, w: number, h: number, pixelFormat: (typeof FORMATS)[number], scaleTo?: { width: number; height: number }): Promise<string[]> {
  const options = { ...rawSource(file, source, w, h), pixelFormat, ...scaleTo };
  const { path: p, ...rest } = options;
  const id = `${source} ${w}x${h} -> ${pixelFormat}${scaleTo ? ` ${scaleTo.width}x${scaleTo.height}` : ''}`;
  const copied = Decoder.openSync(p, rest);
  const inPlace = await Decoder.open(p, rest);
  const gops = await Decoder.open(p, rest);
  const sync = Decoder.openSync(p, rest);
  const syncGops = Decoder.openSync(p, rest);
  const out: string[] = [];
  try {
    const target = new Uint8Array(copied.frameBytes);
    // GOPs read as they run out (a raw source's is one frame).
    const gop: Frame[] = [];
    const syncGop: Frame[] = [];
    let n = 0;
    for await (const frame of inPlace) {
      if (!copied.extractFrameInto(target)) { out.push(`${id}: the copy ended first`); break; }
      const syncFrame = sync.extractFrame();
      if (gop.length <= n) gop.push(...(await gops.readGOP()) ?? []);
      if (syncGop.length <= n) syncGop.push(...syncGops.extractGOP() ?? []);
      const views: [string, Uint8Array | undefined][] = [['async iterator', frame.data], ['extractFrame', syncFrame?.data], ['readGOP', gop[n]?.data], ['extractGOP', syncGop[n]?.data]];
      for (const [how, data] of views) {
        if (data === undefined) out.push(`${id}: frame ${n}: none from ${how}`);
        else if (data.byteLength !== target.byteLength) out.push(`${id}: frame ${n}: ${data.byteLength} bytes from ${how}, not ${target.byteLength}`);
        else if (Buffer.compare(data, target) !== 0) out.push(`${id}: frame ${n} differs (${how})`);
      }
      if (++n === FRAMES) break;
    }
    if (n === 0) out.push(`${id}: no frame`);
  } finally {
    for (const dec of [copied, inPlace, gops, sync, syncGops]) dec.close();
  }
  return out;
}

describe('pictures converted in place equal the copied ones', () => {
  const sources: RawFormat[] = ['yuv420p', 'nv12', 'yuv444p', 'rgb24'];
  // One file per source format serves every size (a raw file of N bytes holds frames of any size).
  const files = new Map(sources.map((s) => [s, writeNoise(path.join(dir, `${s}.raw`), (FRAMES + 1) * RAW_FORMATS[s](1920, 65))]));

  test.each(sources)('%s sources, unscaled: every width x height x single-plane format', async (source) => {
    const failures: string[] = [];
    let cases = 0;
    for (const w of WIDTHS) {
      for (const h of HEIGHTS) {
        for (const format of FORMATS) {
          failures.push(...await compare(files.get(source)!, source, w, h, format));
          cases++;
        }
      }
    }
    expect(cases).toBe(WIDTHS.length * HEIGHTS.length * FORMATS.length);
    expect(failures.slice(0, 20)).toEqual([]);
  }, 300_000);

  test('scaled: a 53x37 yuv420p source to every width x height x single-plane format', async () => {
    const failures: string[] = [];
    for (const width of WIDTHS.filter((w) => w <= 512)) {
      for (const height of HEIGHTS) {
        for (const format of FORMATS) failures.push(...await compare(files.get('yuv420p')!, 'yuv420p', 53, 37, format, { width, height }));
      }
    }
    expect(failures.slice(0, 20)).toEqual([]);
  }, 300_000);
});

test('JS code that replaced subarray decides nothing: the view a frame is converted into is made natively', () => {
  const file = writeNoise(path.join(dir, 'patched.raw'), 2 * RAW_FORMATS.yuv420p(64, 16));
  const { path: p, ...options } = { ...rawSource(file, 'yuv420p', 64, 16), pixelFormat: 'rgb24' as const };
  const copied = Decoder.openSync(p, options);
  const target = new Uint8Array(copied.frameBytes);
  expect(copied.extractFrameInto(target)).not.toBeNull();
  copied.close();
  const saved = [Buffer.prototype.subarray, Uint8Array.prototype.subarray];
  // A hostile subarray: a tiny buffer of its own, whatever is asked.
  Buffer.prototype.subarray = Uint8Array.prototype.subarray = function () { return Buffer.alloc(4); } as never;
  try {
    const dec = Decoder.openSync(p, options);
    const frame = dec.extractFrame();
    dec.close();
    expect(frame?.data.byteLength).toBe(target.byteLength);
    expect(Buffer.compare(Buffer.from(frame!.data.buffer, frame!.data.byteOffset, frame!.data.byteLength), Buffer.from(target))).toBe(0);
  } finally {
    [Buffer.prototype.subarray, Uint8Array.prototype.subarray] = saved;
  }
});
