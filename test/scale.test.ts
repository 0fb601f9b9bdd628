// A Server or Encoder opened at one size scales Frames of any other size and pixel format to it
// (native/video/video_encoder.cc Convert, through swscale on the encoding thread). Files are written
// with Encoder (and a Server publishing to a file), and judged by ffprobe and the ffmpeg CLI:
// the output's size, its frame count, and what the pictures show.
//
// Memory safety of scaled input, as in test/buffer-safety-encode.test.ts: pictures end exactly
// where mapped memory ends (a read past them is a SIGSEGV), or sit between guard bytes that must
// come back untouched and must not leak into the output (every picture is one flat grey, so a
// guard byte read into it shows as a pixel far from that grey).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Decoder, Encoder, FrameRing, Server, StreamcoderError, frameBytes, type Frame, type PixelFormat, type WriterInput } from '../lib';
import { PIXEL_FORMATS } from '../lib/types';
import { fixture, tempDir } from './helpers/fixtures';
import { probeFrameCount, rawFrames } from './helpers/ffmpeg-cli';
import { packedBytes } from './helpers/raw-sources';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

/** `codec,width,height,pix_fmt` of a file's first video stream, as ffprobe reads it. */
function probeStream(file: string): string {
  return String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,pix_fmt', '-of', 'csv=p=0', file])).trim();
}

function codeOf(call: () => unknown): string | undefined {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(StreamcoderError);
    return (error as StreamcoderError).code;
  }
  return undefined;
}

/**
 * A packed picture whose left `split` of the width is white and the rest black (or the
 * reverse), in any of the PIXEL_FORMATS.
 */
function halves(width: number, height: number, pixelFormat: PixelFormat, whiteLeft = true, split = 0.5): Uint8Array {
  const data = new Uint8Array(packedBytes(pixelFormat, width, height));
  const isWhite = (x: number) => (x < width * split) === whiteLeft;
  if (pixelFormat === 'yuv420p') {
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = isWhite(x) ? 235 : 16;
    data.fill(128, width * height);
    return data;
  }
  const size = pixelFormat === 'gray' ? 1 : pixelFormat === 'rgb24' || pixelFormat === 'bgr24' ? 3 : 4;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) if (isWhite(x)) data.fill(255, (y * width + x) * size, (y * width + x + 1) * size);
  }
  // Opaque black: alpha 255 everywhere.
  if (size === 4) for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return data;
}

/** A flat mid-grey picture in any of the PIXEL_FORMATS: luma 128 (126 for rgb, after BT.601 limited range). */
function grey(view: Uint8Array, pixelFormat: PixelFormat, width: number, height: number): void {
  view.fill(128);
  if (pixelFormat === 'rgba' || pixelFormat === 'bgra') for (let i = 3; i < view.length; i += 4) view[i] = 255;
  expect(view.length).toBe(packedBytes(pixelFormat, width, height));
}

/** Mean luma of columns [from, to) of every row of one decoded gray picture. */
function meanLuma(picture: Uint8Array, width: number, from: number, to: number): number {
  const height = picture.length / width;
  let sum = 0;
  for (let y = 0; y < height; y++) for (let x = from; x < to; x++) sum += picture[y * width + x];
  return sum / (height * (to - from));
}

// ---- Pictures at the end of mapped memory, and between guard bytes ----

// One WebAssembly.Memory (test/helpers/guarded-memory.ts): what follows its last page is kept
// inaccessible by V8, so a read past a picture placed at its very end crashes the test process.
// Grown when a bigger picture needs it; each view is used before the next is made.
const WASM_PAGE = 65536;
let memory: WebAssembly.Memory | null = null;
function atMemoryEnd(bytes: number): Uint8Array {
  const pages = Math.ceil(bytes / WASM_PAGE);
  if (memory === null) memory = new WebAssembly.Memory({ initial: pages, maximum: 65536 });
  const have = memory.buffer.byteLength / WASM_PAGE;
  if (have < pages) memory.grow(pages - have);
  return new Uint8Array(memory.buffer, memory.buffer.byteLength - bytes, bytes);
}

const GUARD = 256;
let seed = 1;
/**
 * A view of `bytes` at an odd offset inside a bigger (Shared)ArrayBuffer, guard bytes of a
 * pattern that differs from buffer to buffer before and after it; `intact()` says whether
 * they are unchanged.
 */
function guarded(bytes: number, shared: boolean): { view: Uint8Array; intact: () => boolean } {
  const before = GUARD + 1 + (seed % 15);
  const buffer = shared ? new SharedArrayBuffer(before + bytes + GUARD) : new ArrayBuffer(before + bytes + GUARD);
  const all = new Uint8Array(buffer);
  let s = (seed = (seed * 69069 + 1) >>> 0);
  for (let i = 0; i < all.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    all[i] = s >>> 24;
  }
  const head = all.slice(0, before);
  const tail = all.slice(before + bytes);
  const view = new Uint8Array(buffer, before, bytes);
  return {
    view,
    intact: () => Buffer.compare(all.subarray(0, before), head) === 0 && Buffer.compare(all.subarray(before + bytes), tail) === 0,
  };
}

type Path = 'sync.memend' | 'sync.guarded' | 'async.memend' | 'async.guarded' | 'async.shared';
const PATHS: Path[] = ['sync.memend', 'sync.guarded', 'async.memend', 'async.guarded', 'async.shared'];

/**
 * Encodes one flat grey picture of `width`x`height` in `pixelFormat` at `time`, by `how`; checks
 * the guard bytes and that the picture itself was not written to.
 */
async function encodeGrey(enc: Encoder, width: number, height: number, pixelFormat: PixelFormat, time: number, how: Path): Promise<void> {
  const bytes = packedBytes(pixelFormat, width, height);
  const target = how.endsWith('memend') ? { view: atMemoryEnd(bytes), intact: () => true } : guarded(bytes, how === 'async.shared');
  grey(target.view, pixelFormat, width, height);
  const copy = target.view.slice();
  const frame = { data: target.view, width, height, pixelFormat, time } as Frame;
  if (how.startsWith('sync')) enc.encodeFrame(frame);
  else await enc.encode(frame);
  const where = `${width}x${height} ${pixelFormat} by ${how}`;
  expect(target.intact(), `guard bytes around ${where}`).toBe(true);
  expect(Buffer.compare(target.view, copy), `the picture of ${where} was written to`).toBe(0);
}

/**
 * Every output picture (decoded to gray) within `tolerance` of one grey: nothing else got in.
 * Not exact even losslessly: swscale's bicubic gains a little in the edge rows of a large
 * downscale (the ffmpeg CLI's scale=32:18 makes luma 136 of a flat 128 1920x1080 yuv420p
 * picture's top row, 131 for 641x361 to 31x17), which a guard byte read in would far exceed.
 */
function expectAllGrey(file: string, width: number, height: number, count: number, tolerance = 12): void {
  const decoded = rawFrames(file, 'gray');
  expect(decoded.length).toBe(width * height * count);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < decoded.length; i++) {
    const d = Math.abs(decoded[i] - 128);
    if (d > worst) [worst, at] = [d, i];
  }
  expect(worst, `luma ${decoded[at]} at frame ${Math.floor(at / (width * height))}, pixel ${at % (width * height)}`).toBeLessThanOrEqual(tolerance);
}

describe('a Frame of another size is scaled to the size the writer was opened at', () => {
  test.each(PIXEL_FORMATS)('1280x720 %s, left half white, into 640x360 libx264: the output is 640x360 yuv420p and bright on the left only', async (pixelFormat) => {
    const file = path.join(dir, `down-${pixelFormat}.mp4`);
    const enc = await Encoder.open(file, { width: 640, height: 360, frameRate: 25, preset: 'ultrafast' });
    const data = halves(1280, 720, pixelFormat);
    for (let i = 0; i < 3; i++) await enc.encode({ data, width: 1280, height: 720, pixelFormat, time: i / 25 } as Frame);
    await enc.close();
    expect(enc.stats.frames).toBe(3);
    expect(probeStream(file)).toBe('h264,640,360,yuv420p');
    expect(probeFrameCount(file)).toBe(3);
    const decoded = rawFrames(file, 'gray');
    for (let i = 0; i < 3; i++) {
      const picture = decoded.subarray(i * 640 * 360, (i + 1) * 640 * 360);
      // Away from the edge, where bicubic rings for a few pixels.
      expect(meanLuma(picture, 640, 0, 300)).toBeGreaterThan(230);
      expect(meanLuma(picture, 640, 340, 640)).toBeLessThan(25);
    }
  });

  test('smaller to bigger: 64x36 rgb24 and 7x5 yuv420p (odd: chroma rounded up) into a 1280x720 Encoder', () => {
    const file = path.join(dir, 'up.mkv');
    const enc = Encoder.openSync(file, { width: 1280, height: 720, frameRate: 25, preset: 'ultrafast' });
    enc.encodeFrame({ data: halves(64, 36, 'rgb24'), width: 64, height: 36, pixelFormat: 'rgb24', time: 0 } as Frame);
    // 7 wide: columns 0..3 white (x < 3.5), 4..6 black.
    enc.encodeFrame({ data: halves(7, 5, 'yuv420p'), width: 7, height: 5, pixelFormat: 'yuv420p', time: 0.04 } as Frame);
    enc.closeSync();
    expect(probeStream(file)).toBe('h264,1280,720,yuv420p');
    expect(probeFrameCount(file)).toBe(2);
    const decoded = rawFrames(file, 'gray');
    const size = 1280 * 720;
    expect(decoded.length).toBe(2 * size);
    expect(meanLuma(decoded.subarray(0, size), 1280, 0, 560)).toBeGreaterThan(230);
    expect(meanLuma(decoded.subarray(0, size), 1280, 720, 1280)).toBeLessThan(25);
    expect(meanLuma(decoded.subarray(size), 1280, 0, 500)).toBeGreaterThan(230);
    expect(meanLuma(decoded.subarray(size), 1280, 800, 1280)).toBeLessThan(25);
  });

  test('a rendition ladder from one Decoder: the same Frames to an Encoder at the source size and a Server at a smaller one', async () => {
    const hdFile = path.join(dir, 'ladder-hd.mp4');
    const sdFile = path.join(dir, 'ladder-sd.mkv');
    const dec = await Decoder.open(fixture('h264-bframes.mp4'));
    const hd = await Encoder.open(hdFile, { from: dec.info, preset: 'ultrafast' });
    const sd = await Server.open(sdFile, { from: dec.info, width: 160, height: 90, preset: 'ultrafast' });
    let served = 0;
    for await (const frame of dec) {
      await hd.encode(frame);
      // Paced: 25 frames are a second.
      await sd.serveBlock(frame);
      if (++served === 25) break;
    }
    await Promise.all([hd.close(), sd.close()]);
    dec.close();
    expect(probeStream(hdFile)).toBe('h264,320,240,yuv420p');
    expect(probeStream(sdFile)).toBe('h264,160,90,yuv420p');
    expect(probeFrameCount(hdFile)).toBe(25);
    expect(probeFrameCount(sdFile)).toBe(25);
    // The small rendition is the big one scaled: close to the CLI's own scaling of it.
    const small = rawFrames(sdFile, 'gray');
    const reference = rawFrames(hdFile, 'gray', '160x90');
    let diff = 0;
    for (let i = 0; i < small.length; i++) diff += Math.abs(small[i] - reference[i]);
    expect(diff / small.length).toBeLessThan(6);
  });

  test('ring slots (lib/ring/) of another size are scaled too: a 640x360 and a 99x37 yuv420p slot into a 320x180 Encoder', () => {
    const file = path.join(dir, 'ring.mkv');
    const ring = FrameRing.create({ slots: 2, slotBytes: frameBytes(640, 360, 'yuv420p') });
    const enc = Encoder.openSync(file, { width: 320, height: 180, frameRate: 25, preset: 'ultrafast' });
    [[640, 360], [99, 37]].forEach(([width, height], i) => {
      const slot = ring.acquireWrite();
      slot.data.set(halves(width, height, 'yuv420p', i === 0));
      slot.commit({ kind: 'video', width, height, pixelFormat: 'yuv420p', pts: i, time: i / 25, index: i, keyFrame: true, pictType: 'I' });
      const item = ring.acquireRead()!;
      expect(item.data.length).toBe(frameBytes(width, height, 'yuv420p'));
      enc.encodeFrame(item as WriterInput);
      item.release();
    });
    enc.closeSync();
    expect(probeStream(file)).toBe('h264,320,180,yuv420p');
    const decoded = rawFrames(file, 'gray');
    const size = 320 * 180;
    expect(decoded.length).toBe(2 * size);
    expect(meanLuma(decoded.subarray(0, size), 320, 0, 140)).toBeGreaterThan(230);
    expect(meanLuma(decoded.subarray(size), 320, 0, 140)).toBeLessThan(25);
    expect(meanLuma(decoded.subarray(size), 320, 180, 320)).toBeGreaterThan(230);
  });

  test('the size changes mid-stream: each picture is scaled from its own size (a new converter each time)', () => {
    const file = path.join(dir, 'changes.nut');
    const enc = Encoder.openSync(file, { width: 320, height: 180, frameRate: 25, codec: 'rawvideo' });
    // White on the left, then on the right, alternately, at a new size (and format) each time;
    // the last comes back to the first size.
    const steps: [number, number, PixelFormat][] = [[640, 360, 'rgb24'], [1280, 720, 'yuv420p'], [320, 180, 'rgb24'], [99, 37, 'gray'], [640, 360, 'rgb24']];
    steps.forEach(([w, h, format], i) => enc.encodeFrame({ data: halves(w, h, format, i % 2 === 0), width: w, height: h, pixelFormat: format, time: i / 25 } as Frame));
    enc.closeSync();
    expect(probeFrameCount(file)).toBe(steps.length);
    const decoded = rawFrames(file, 'gray');
    const size = 320 * 180;
    steps.forEach(([w, h], i) => {
      const picture = decoded.subarray(i * size, (i + 1) * size);
      const [left, right] = [meanLuma(picture, 320, 0, 140), meanLuma(picture, 320, 180, 320)];
      const [white, black] = i % 2 === 0 ? [left, right] : [right, left];
      expect(white, `step ${i} (${w}x${h}): the white half`).toBeGreaterThan(230);
      expect(black, `step ${i} (${w}x${h}): the black half`).toBeLessThan(25);
    });
  });
});

describe('every small size and every pixel format into a fixed 32x18 yuv420p output', () => {
  const WIDTHS = Array.from({ length: 24 }, (_, i) => i + 1);
  const HEIGHTS = [1, 2, 3, 17, 18, 19, 35];
  test.each(PIXEL_FORMATS)('widths 1..24 x heights 1, 2, 3, 17, 18, 19, 35 in %s, a new size every frame, by every path', async (pixelFormat) => {
    const file = path.join(dir, `sweep-${pixelFormat}.mp4`);
    const enc = Encoder.openSync(file, { width: 32, height: 18, frameRate: 25, preset: 'ultrafast' });
    let n = 0;
    for (const w of WIDTHS) for (const h of HEIGHTS) await encodeGrey(enc, w, h, pixelFormat, n / 25, PATHS[n++ % PATHS.length]);
    n % 2 ? enc.closeSync() : await enc.close();
    expect(enc.stats.frames).toBe(n);
    expect(probeStream(file)).toBe('h264,32,18,yuv420p');
    expect(probeFrameCount(file)).toBe(n);
    expectAllGrey(file, 32, 18, n);
  }, 60_000);

  test('into an odd output (31x17, rawvideo: yuv420p with chroma rounded up), yuv420p and rgb24 inputs of odd and even sizes', async () => {
    const file = path.join(dir, 'odd-out.nut');
    const enc = Encoder.openSync(file, { width: 31, height: 17, frameRate: 25, codec: 'rawvideo' });
    let n = 0;
    for (const [w, h] of [[1, 1], [3, 5], [31, 17], [33, 19], [62, 34], [641, 361]]) {
      for (const format of ['yuv420p', 'rgb24'] as const) await encodeGrey(enc, w, h, format, n / 25, PATHS[n++ % PATHS.length]);
    }
    enc.closeSync();
    expect(probeStream(file)).toBe('rawvideo,31,17,yuv420p');
    expect(probeFrameCount(file)).toBe(n);
    expectAllGrey(file, 31, 17, n, 6);
  });

  test('bigger and thin sizes into 32x18, and 32x18 into 1280x720', async () => {
    const down = path.join(dir, 'big-down.mp4');
    const enc = Encoder.openSync(down, { width: 32, height: 18, frameRate: 25, preset: 'ultrafast' });
    let n = 0;
    const sizes = [[1920, 1080], [1281, 721], [4097, 3], [3, 4097], [8191, 2], [1, 8191]];
    for (const [w, h] of sizes) {
      for (const format of ['yuv420p', 'rgba', 'bgr24'] as const) await encodeGrey(enc, w, h, format, n / 25, PATHS[n++ % PATHS.length]);
    }
    await enc.close();
    expect(probeStream(down)).toBe('h264,32,18,yuv420p');
    expect(probeFrameCount(down)).toBe(n);
    expectAllGrey(down, 32, 18, n);

    const up = path.join(dir, 'small-up.mp4');
    const big = Encoder.openSync(up, { width: 1280, height: 720, frameRate: 25, preset: 'ultrafast' });
    for (let i = 0; i < PATHS.length; i++) await encodeGrey(big, i % 2 ? 32 : 1, i % 2 ? 18 : 1, PIXEL_FORMATS[i], i / 25, PATHS[i]);
    big.closeSync();
    expect(probeStream(up)).toBe('h264,1280,720,yuv420p');
    expect(probeFrameCount(up)).toBe(PATHS.length);
    expectAllGrey(up, 1280, 720, PATHS.length);
  }, 60_000);
});

describe('what is refused, before anything is read', () => {
  test('a Frame whose data is not exactly its claimed width x height x format: ERR_BUFFER_SIZE, sync and async, nothing written', async () => {
    const file = path.join(dir, 'refused.mkv');
    const enc = Encoder.openSync(file, { width: 64, height: 36, frameRate: 25, preset: 'ultrafast' });
    const frame = (data: Uint8Array, width: number, height: number, pixelFormat: PixelFormat) => ({ data, width, height, pixelFormat, time: 0 }) as Frame;
    const cases: [Frame, string][] = [
      [frame(new Uint8Array(1280 * 720 * 3 - 1), 1280, 720, 'rgb24'), 'one byte short'],
      [frame(new Uint8Array(1280 * 720 * 3 + 1), 1280, 720, 'rgb24'), 'one byte over'],
      [frame(new Uint8Array(1280 * 720 * 3), 1280, 720, 'rgba'), 'rgb24 bytes claimed as rgba'],
      // 7x5 yuv420p is 35 + 2 x 4 x 3 = 59 bytes (chroma rounded up), not 52 (rounded down).
      [frame(new Uint8Array(35 + 2 * 3 * 2), 7, 5, 'yuv420p'), 'odd yuv420p with chroma rounded down'],
      [frame(new Uint8Array(64 * 36 * 3), 1280, 720, 'rgb24'), 'the open size\'s bytes claimed as 1280x720'],
    ];
    for (const [bad, what] of cases) {
      expect(codeOf(() => enc.encodeFrame(bad)), what).toBe('ERR_BUFFER_SIZE');
      await expect(enc.encode(bad), what).rejects.toMatchObject({ code: 'ERR_BUFFER_SIZE' });
    }
    const error = (() => { try { enc.encodeFrame(cases[3][0]); } catch (e) { return e as Error; } })();
    expect(error?.message).toContain('59 bytes');
    // A bare Uint8Array is still a picture of the open size and format.
    expect(codeOf(() => enc.encodeFrame(new Uint8Array(1280 * 720 * 3)))).toBe('ERR_BUFFER_SIZE');
    enc.encodeFrame(new Uint8Array(64 * 36 * 3));
    enc.closeSync();
    expect(enc.stats.frames).toBe(1);
    expect(probeFrameCount(file)).toBe(1);
  });

  test('sizes and formats out of bounds: ERR_DIMENSIONS / ERR_PIXEL_FORMAT from lib/, and from the native layer on its own', async () => {
    using enc = Encoder.openSync(path.join(dir, 'bounds.mkv'), { width: 64, height: 36, frameRate: 25, preset: 'ultrafast' });
    const data = new Uint8Array(12);
    for (const [width, height] of [[0, 1], [1, 0], [-2, 2], [1.5, 8], [16385, 1], [1, 16385], [Number.NaN, 1], [16384, 16384]]) {
      expect(codeOf(() => enc.encodeFrame({ data, width, height, pixelFormat: 'gray', time: 0 } as Frame)), `${width}x${height}`).toBe('ERR_DIMENSIONS');
    }
    for (const pixelFormat of ['nv12', 'yuv444p', '', undefined, 3]) {
      expect(codeOf(() => enc.encodeFrame({ data, width: 2, height: 2, pixelFormat, time: 0 } as unknown as Frame)), String(pixelFormat)).toBe('ERR_PIXEL_FORMAT');
    }
    // The raw binding, past lib/'s checks: the native layer refuses the same.
    const native = (enc as unknown as { native: { send(item: object, block: boolean): number } }).native;
    const send = (item: object) => codeOf(() => native.send({ kind: 'video', data, time: null, ...item }, false));
    expect(send({ width: 3, height: 2, pixelFormat: 'rgb24' })).toBe('ERR_BUFFER_SIZE');
    expect(send({ width: 4096, height: 4096, pixelFormat: 'rgba' })).toBe('ERR_BUFFER_SIZE');
    expect(send({ width: 0, height: 2, pixelFormat: 'rgb24' })).toBe('ERR_DIMENSIONS');
    expect(send({ width: 16384, height: 16384, pixelFormat: 'gray' })).toBe('ERR_DIMENSIONS');
    expect(send({ width: 2, height: 2, pixelFormat: 'nv12' })).toBe('ERR_PIXEL_FORMAT');
    expect(send({ width: 2, height: 2 })).toBe('ERR_PIXEL_FORMAT');
    expect(send({ width: 2, height: 2, pixelFormat: 'gray' })).toBe('ERR_BUFFER_SIZE');
    expect(send({ width: 4, height: 3, pixelFormat: 'gray' })).toBeUndefined();
    expect(enc.stats.frames).toBe(1);
  });
});
