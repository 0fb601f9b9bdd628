// Decoder against the ffmpeg CLI: frame counts, pixels, GOP boundaries, seeking, for every codec
// fixture; then pixel formats, scaling, the zero-copy and async paths.
import { describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Decoder, Encoder, type Frame } from '../lib';
import { fixture, type FixtureName } from './helpers/fixtures';
import { bufferAtMemoryEnd } from './helpers/guarded-memory';
import { probeFrameCount, probeFrames, psnr, rawFrames } from './helpers/ffmpeg-cli';

const CODEC_FIXTURES: { name: FixtureName; codec: string; width: number; height: number; options?: object }[] = [
  { name: 'h264-bframes.mp4', codec: 'h264', width: 320, height: 240 },
  { name: 'h264-bframes.mp4', codec: 'h264', width: 320, height: 240, options: { threads: 4 } },
  { name: 'hevc.mp4', codec: 'hevc', width: 320, height: 240 },
  { name: 'mpeg4.avi', codec: 'mpeg4', width: 320, height: 240 },
  { name: 'vp9.webm', codec: 'vp9', width: 320, height: 240 },
  { name: 'odd-853x479.mp4', codec: 'h264', width: 853, height: 479 },
  { name: 'tenbit.mkv', codec: 'hevc', width: 320, height: 240 },
  { name: 'audio-first.mkv', codec: 'h264', width: 320, height: 240 },
];

function all<T>(next: () => T | null): T[] {
  const out: T[] = [];
  for (let item = next(); item !== null; item = next()) out.push(item);
  return out;
}

function expectSamePixels(actual: Uint8Array, expected: Uint8Array, label: string): void {
  expect(actual.length, label).toBe(expected.length);
  // Byte-identical is expected (same libswscale, same flags); 45 dB is the floor the issue allows.
  const quality = psnr(actual, expected);
  expect(quality, `${label}: PSNR ${quality.toFixed(1)} dB`).toBeGreaterThan(45);
}

describe.each(CODEC_FIXTURES)('$name $options', ({ name, codec, width, height, options }) => {
  const file = fixture(name);
  const frameCount = probeFrameCount(file);
  const probed = probeFrames(file);

  test('info describes the video', () => {
    using dec = Decoder.openSync(file, options);
    expect(dec.info).toMatchObject({ codec, width, height, sourceWidth: width, sourceHeight: height, pixelFormat: 'rgb24' });
    expect(dec.info.frameRate.num / dec.info.frameRate.den).toBeGreaterThan(0);
    expect(dec.info.duration).toBeGreaterThan(0);
    expect(dec.frameBytes).toBe(width * height * 3);
    if (name === 'audio-first.mkv') expect(dec.info.streamIndex).toBe(1);
  });

  test('extractFrame returns every frame once, in order, with the pixels ffmpeg gives', () => {
    using dec = Decoder.openSync(file, options);
    const frames = all(() => dec.extractFrame());
    expect(frames.length).toBe(frameCount);
    expect(frames.map((f) => f.index)).toEqual([...Array(frameCount).keys()]);
    const reference = rawFrames(file, 'rgb24');
    const size = width * height * 3;
    expect(reference.length).toBe(size * frameCount);
    for (const frame of frames) {
      expect(frame.width).toBe(width);
      expect(frame.height).toBe(height);
      expectSamePixels(frame.data, reference.subarray(frame.index * size, (frame.index + 1) * size), `frame ${frame.index}`);
    }
    // Timestamps increase strictly; keyframes where ffprobe sees them.
    for (let i = 1; i < frames.length; i++) expect(frames[i].pts!).toBeGreaterThan(frames[i - 1].pts!);
    expect(frames.map((f) => f.keyFrame)).toEqual(probed.map((p) => p.keyFrame));
  });

  test('a loop of extractGOP returns every frame once, split at the keyframes ffprobe reports', () => {
    using dec = Decoder.openSync(file, options);
    const gops = all(() => dec.extractGOP());
    const indices = gops.flat().map((f) => f.index);
    expect(indices).toEqual([...Array(frameCount).keys()]);
    const keyPositions = probed.flatMap((p, i) => (p.keyFrame ? [i] : []));
    expect(gops.map((g) => g[0].index)).toEqual(keyPositions);
    for (const gop of gops) {
      expect(gop[0].keyFrame).toBe(true);
      expect(gop.slice(1).every((f) => !f.keyFrame)).toBe(true);
    }
  });

  test('seek lands on the first frame at or after the time', () => {
    using dec = Decoder.openSync(file, options);
    const frames = all(() => dec.extractFrame());
    // Targets: exactly on a frame, between two frames, on a keyframe, and back to the start.
    const targets = [frames[Math.floor(frames.length / 2)].time!, (frames[7].time! + frames[8].time!) / 2, frames[0].time!];
    const keyAfterStart = frames.find((f, i) => i > 0 && f.keyFrame);
    if (keyAfterStart) targets.push(keyAfterStart.time!);
    for (const target of targets) {
      dec.seek(target);
      const landed = dec.extractFrame()!;
      const expected = frames.find((f) => f.time! >= target - 1e-9)!;
      expect(landed.index, `seek(${target})`).toBe(expected.index);
      expect(landed.pts).toBe(expected.pts);
      expectSamePixels(landed.data, expected.data, `seek(${target})`);
    }
    dec.seek(1e6);
    expect(dec.extractFrame()).toBeNull();
  });
});

describe('output formats and scaling', () => {
  const file = fixture('h264-bframes.mp4');

  test.each(['bgr24', 'rgba', 'bgra', 'gray', 'yuv420p'] as const)('%s matches ffmpeg -pix_fmt', (pixelFormat) => {
    using dec = Decoder.openSync(file, { pixelFormat });
    const bytesPerFrame = { bgr24: 3, rgba: 4, bgra: 4, gray: 1, yuv420p: 1.5 }[pixelFormat] * 320 * 240;
    expect(dec.frameBytes).toBe(bytesPerFrame);
    expect(dec.info.pixelFormat).toBe(pixelFormat);
    const reference = rawFrames(file, pixelFormat);
    for (let i = 0; i < 10; i++) {
      const frame = dec.extractFrame()!;
      expect(frame.pixelFormat).toBe(pixelFormat);
      expectSamePixels(frame.data, reference.subarray(i * bytesPerFrame, (i + 1) * bytesPerFrame), `${pixelFormat} frame ${i}`);
    }
  });

  test('width alone keeps the aspect ratio; the pixels match ffmpeg scale', () => {
    using dec = Decoder.openSync(file, { width: 160 });
    expect(dec.info).toMatchObject({ width: 160, height: 120, sourceWidth: 320, sourceHeight: 240 });
    const frame = dec.extractFrame()!;
    expect(frame.data.length).toBe(160 * 120 * 3);
    expectSamePixels(frame.data, rawFrames(file, 'rgb24', '160x120').subarray(0, 160 * 120 * 3), 'scaled');
  });

  test('height alone keeps the aspect ratio; both set any size', () => {
    using tall = Decoder.openSync(file, { height: 480 });
    expect([tall.info.width, tall.info.height]).toEqual([640, 480]);
    using odd = Decoder.openSync(file, { width: 101, height: 77, pixelFormat: 'yuv420p' });
    expect(odd.extractFrame()!.data.length).toBe(101 * 77 + 2 * 51 * 39);
  });

  // One side given: the other keeps the aspect ratio, rounded to an even number as ffmpeg's
  // scale=W:-2 does, so that the frames can be encoded in 4:2:0 (500x281 could not).
  test.each([
    ['bench-1080p.mp4', { width: 500 }, [500, 282]],
    ['odd-853x479.mp4', { width: 500 }, [500, 280]],
    ['odd-853x479.mp4', { height: 77 }, [138, 77]],
    ['h264-bframes.mp4', { height: 101 }, [134, 101]],
    ['h264-bframes.mp4', { width: 3 }, [3, 2]],
  ] as const)('%s scaled to %o: the derived side is even, as ffmpeg -2 makes it', (name, size, expected) => {
    const source = fixture(name);
    using dec = Decoder.openSync(source, { ...size, pixelFormat: 'yuv420p' });
    expect([dec.info.width, dec.info.height]).toEqual(expected);
    const filter = 'width' in size ? `scale=${size.width}:-2` : `scale=-2:${size.height}`;
    const reference = String(execFileSync('ffprobe', ['-v', 'error', '-f', 'lavfi', '-i', `movie=${source},${filter}`, '-show_entries', 'stream=width,height', '-of', 'csv=p=0']));
    expect(reference.trim()).toBe(expected.join(','));
  });

  test('a derived size encodes in yuv420p (1920x1080 at width 500)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-derived-'));
    try {
      using dec = Decoder.openSync(fixture('bench-1080p.mp4'), { width: 500, pixelFormat: 'yuv420p' });
      const out = path.join(dir, 'out.mp4');
      const enc = Encoder.openSync(out, { from: dec.info, preset: 'ultrafast' });
      for (let i = 0; i < 3; i++) enc.encodeFrame(dec.extractFrame()!);
      enc.closeSync();
      expect(probeFrameCount(out)).toBe(3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('startTime skips to the first frame at or after it', () => {
    using dec = Decoder.openSync(file, { startTime: 1 });
    expect(dec.extractFrame()!.index).toBe(25);
  });
});

describe('zero-copy and async paths', () => {
  const file = fixture('h264-bframes.mp4');
  const count = 75;

  test('extractFrameInto writes into a SharedArrayBuffer view and gives the same pixels', () => {
    using reference = Decoder.openSync(file);
    using dec = Decoder.openSync(file);
    const shared = new Uint8Array(new SharedArrayBuffer(dec.frameBytes + 16), 8, dec.frameBytes);
    for (let i = 0; i < count; i++) {
      const info = dec.extractFrameInto(shared)!;
      const frame = reference.extractFrame()!;
      expect(info.index).toBe(i);
      expect('data' in info).toBe(false);
      expect(Buffer.compare(shared, frame.data)).toBe(0);
    }
    expect(dec.extractFrameInto(shared)).toBeNull();
  });

  test.each(['rgb24', 'bgr24', 'rgba', 'bgra', 'gray', 'yuv420p'] as const)('extractFrameInto %s, odd size, into a buffer that ends where memory ends', (pixelFormat) => {
    using reference = Decoder.openSync(fixture('odd-853x479.mp4'), { pixelFormat });
    using dec = Decoder.openSync(fixture('odd-853x479.mp4'), { pixelFormat });
    const guarded = bufferAtMemoryEnd(dec.frameBytes);
    for (let i = 0; i < 3; i++) {
      dec.extractFrameInto(guarded);
      expect(Buffer.compare(guarded, reference.extractFrame()!.data)).toBe(0);
    }
  });

  test('read, readInto, readGOP and async iteration deliver every frame once', async () => {
    const viaRead: number[] = [];
    await using a = await Decoder.open(file);
    for (let f = await a.read(); f; f = await a.read()) viaRead.push(f.index);

    const viaInto: number[] = [];
    await using b = await Decoder.open(file);
    const target = new Uint8Array(b.frameBytes);
    for (let f = await b.readInto(target); f; f = await b.readInto(target)) viaInto.push(f.index);

    const viaGop: number[] = [];
    await using c = await Decoder.open(file);
    for (let g = await c.readGOP(); g; g = await c.readGOP()) viaGop.push(...g.map((f: Frame) => f.index));

    const viaIterator: number[] = [];
    await using d = await Decoder.open(file);
    for await (const frame of d) viaIterator.push(frame.index);

    const expected = [...Array(count).keys()];
    expect(viaRead).toEqual(expected);
    expect(viaInto).toEqual(expected);
    expect(viaGop).toEqual(expected);
    expect(viaIterator).toEqual(expected);
  });

  test('an async read keeps its decoder alive when the caller drops it', async () => {
    const pending = (await Decoder.open(file)).read();
    globalThis.gc?.();
    expect((await pending)!.index).toBe(0);
  });
});
