// Encoder against ffprobe/ffmpeg: frame count, duration, keyframe interval, pictures; then
// every bad input gets its StreamcoderError.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Decoder, Encoder, Server, StreamcoderError, type Frame } from '../lib';
import { fixture, tempDir } from './helpers/fixtures';
import { bufferAtMemoryEnd } from './helpers/guarded-memory';
import { probeFrameCount, probeFrames, psnr, rawFrames } from './helpers/ffmpeg-cli';
import { execFileSync } from 'node:child_process';
import { runChild } from './helpers/child';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const source = fixture('h264-bframes.mp4');

function sourceFrames(count = 50, options = {}): Frame[] {
  using dec = Decoder.openSync(source, options);
  const frames: Frame[] = [];
  for (let f = dec.extractFrame(); f && frames.length < count; f = dec.extractFrame()) frames.push(f);
  return frames;
}

function durationOf(file: string): number {
  return Number(String(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file])).trim());
}

function expectCode(call: () => unknown, code: string): StreamcoderError {
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeInstanceOf(StreamcoderError);
  expect((error as StreamcoderError).code, (error as Error).message).toBe(code);
  return error as StreamcoderError;
}

describe('encoders with habits of their own', () => {
  test('libx265 writes nothing to stderr by itself (its banner and statistics bypass FFmpeg\'s log)', async () => {
    const script = `
      const { Encoder } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
      const enc = Encoder.openSync(${JSON.stringify(path.join(dir, 'quiet.mkv'))}, { width: 64, height: 64, codec: 'libx265', preset: 'ultrafast' });
      for (let i = 0; i < 3; i++) enc.encodeFrame(new Uint8Array(64 * 64 * 3));
      enc.closeSync();`;
    const run = await runChild(process.execPath, ['-e', script], { timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    expect(probeFrameCount(path.join(dir, 'quiet.mkv'))).toBe(3);
  });

  test('x264/x265 presets and tunes they do not know: ERR_INVALID_ARGUMENT listing the valid ones, nothing opened', async () => {
    const base = { width: 64, height: 64 };
    const out = path.join(dir, 'never.mkv');
    let error = expectCode(() => Encoder.openSync(out, { ...base, preset: 'warp-speed' }), 'ERR_INVALID_ARGUMENT');
    expect(error.message).toBe("Expected a libx264 preset: one of ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow, placebo for preset but received 'warp-speed'");
    error = expectCode(() => Encoder.openSync(out, { ...base, tune: 'cartoon' }), 'ERR_INVALID_ARGUMENT');
    expect(error.message).toContain('one of film, animation, grain, stillimage, psnr, ssim, fastdecode, zerolatency for tune');
    error = expectCode(() => Encoder.openSync(out, { ...base, codec: 'libx265', preset: 'warp-speed' }), 'ERR_INVALID_ARGUMENT');
    expect(error.message).toContain('libx265 preset: one of ultrafast,');
    error = expectCode(() => Encoder.openSync(out, { ...base, codec: 'libx265', tune: 'film' }), 'ERR_INVALID_ARGUMENT');
    expect(error.message).toContain('one of psnr, ssim, grain, zerolatency, fastdecode, animation for tune');
    expectCode(() => Encoder.openSync(out, { ...base, codecOptions: { preset: 'warp-speed' } }), 'ERR_INVALID_ARGUMENT');
    expectCode(() => Encoder.openSync(out, { ...base, tune: 'film,grain' }), 'ERR_INVALID_ARGUMENT');
    await expect(Encoder.open(out, { ...base, preset: 'Warp' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(Server.open('rtmp://127.0.0.1:1/live/x', { ...base, preset: 'warp-speed' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(fs.existsSync(out)).toBe(false);
    // The names they know still open: x264 tunes joined by ',' or '+', one psy tune at most.
    for (const options of [{ preset: 'placebo', tune: 'film,fastdecode' }, { preset: 'ultrafast', tune: 'zerolatency+fastdecode' }, { codec: 'libx265', preset: 'ultrafast', tune: 'zerolatency' }]) {
      Encoder.openSync(path.join(dir, 'named.mkv'), { ...base, ...options }).closeSync();
    }
    // Other codecs' presets are theirs to judge.
    expect(expectCode(() => Encoder.openSync(path.join(dir, 'o.avi'), { ...base, codec: 'mpeg4', preset: 'warp-speed' }), 'ERR_INVALID_OPTION').message).toContain('preset');
  });

  test('x264/x265: maxBitRate without bufSize (or the reverse), which they would ignore, is refused; both reach the stream', () => {
    const base = { width: 64, height: 64 };
    const out = path.join(dir, 'vbv.mp4');
    let error = expectCode(() => Encoder.openSync(out, { ...base, maxBitRate: '1M' }), 'ERR_INVALID_ARGUMENT');
    expect(error.message).toBe('Expected a bit rate for bufSize but received nothing (libx264 ignores maxBitRate without bufSize)');
    error = expectCode(() => Encoder.openSync(out, { ...base, codec: 'libx265', bufSize: 2_000_000 }), 'ERR_INVALID_ARGUMENT');
    expect(error.message).toBe('Expected a bit rate for maxBitRate but received nothing (libx265 ignores bufSize without maxBitRate)');
    expect(fs.existsSync(out)).toBe(false);
    using enc = Encoder.openSync(out, { ...base, pixelFormat: 'gray', maxBitRate: '300k', bufSize: '600k' });
    enc.encodeFrame(new Uint8Array(64 * 64));
    enc.closeSync();
    // x264 writes its settings into the stream.
    expect(fs.readFileSync(out).toString('latin1')).toMatch(/ vbv_maxrate=300 vbv_bufsize=600 /);
    // Other encoders judge for themselves: mpeg4 refuses either alone, in its own words.
    error = expectCode(() => Encoder.openSync(path.join(dir, 'vbv.avi'), { ...base, codec: 'mpeg4', bufSize: '600k' }), 'ERR_INVALID_ARGUMENT');
    expect(error.message).toContain('Either both buffer size and max rate or neither must be specified');
  });

  test('an unknown x264 preset prints nothing to stderr (x264 would print its own error)', async () => {
    const script = `
      const { Encoder, Server } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
      const codes = [];
      for (const options of [{ preset: 'warp-speed' }, { tune: 'cartoon' }, { codec: 'libx265', preset: 'warp-speed' }, { codec: 'libx265', tune: 'film' }]) {
        try { Encoder.openSync(${JSON.stringify(path.join(dir, 'silent.mkv'))}, { width: 64, height: 64, ...options }); } catch (e) { codes.push(e.code); }
      }
      Server.open('rtmp://127.0.0.1:1/live/x', { width: 64, height: 64, preset: 'warp-speed' }).catch((e) => {
        codes.push(e.code);
        console.log(codes.join(' '));
      });`;
    const run = await runChild(process.execPath, ['-e', script], { timeout: 30_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(Array(5).fill('ERR_INVALID_ARGUMENT').join(' '));
    expect(run.stderr).toBe('');
  });

  test('libsvtav1 closes without a frame, and after a failed open (SVT-AV1 waited forever for a packet)', async () => {
    process.env.SVT_LOG = '1'; // SVT-AV1 prints its banner to stdout unless told otherwise
    const base = { width: 320, height: 240, codec: 'libsvtav1' };
    const unused = await Encoder.open(path.join(dir, 'unused.mkv'), base);
    await unused.close();
    expect(unused.stats.frames).toBe(0);
    await expect(Encoder.open(path.join(dir, 'bad.mkv'), { ...base, formatOptions: { bogus: 1 } })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
    const used = await Encoder.open(path.join(dir, 'used.mkv'), base);
    for (let i = 0; i < 3; i++) await used.encode(new Uint8Array(320 * 240 * 3));
    await used.close();
    expect(probeFrameCount(path.join(dir, 'used.mkv'))).toBe(3);
  }, 60_000);
});

describe('input pictures that end where memory ends', () => {
  // swscale reads a little past the end of each row; for the last row of a caller's picture that
  // was past the caller's buffer (valgrind saw it). Now the last rows are converted from a copy.
  test.each(['rgb24', 'bgr24', 'rgba', 'bgra', 'gray'] as const)('%s, odd and even sizes: no read past the end, the same pictures', (pixelFormat) => {
    for (const [file, codec] of [['odd-853x479.mp4', 'mpeg4'], ['h264-bframes.mp4', 'libx264']] as const) {
      using dec = Decoder.openSync(fixture(file), { pixelFormat });
      const pictures = [dec.extractFrame()!.data, dec.extractFrame()!.data];
      const guarded = bufferAtMemoryEnd(pictures[0].length);
      const encode = (name: string, feed: (picture: Uint8Array) => Uint8Array) => {
        const out = path.join(dir, name);
        using enc = Encoder.openSync(out, { from: dec.info, pixelFormat, codec, threads: 1 });
        for (const picture of pictures) enc.encodeFrame(feed(picture));
        enc.closeSync();
        return String(execFileSync('ffmpeg', ['-v', 'error', '-i', out, '-f', 'md5', '-'])).trim();
      };
      const fromGuarded = encode(`guarded-${pixelFormat}-${codec}.mkv`, (picture) => {
        guarded.set(picture);
        return guarded;
      });
      expect(fromGuarded).toBe(encode(`plain-${pixelFormat}-${codec}.mkv`, (picture) => picture));
    }
  });
});

describe.each([
  { codec: 'libx264', file: 'x264.mp4', options: { preset: 'veryfast', codecOptions: { 'x264-params': 'scenecut=0' } } },
  { codec: 'libx265', file: 'x265.mkv', options: { preset: 'ultrafast', crf: 20, codecOptions: { 'x265-params': 'scenecut=0:log-level=error' } } },
  // No B-frames here: with them, mpeg4 stretches a GOP of 10 to 12 (the ffmpeg CLI does too).
  { codec: 'mpeg4', file: 'mpeg4.avi', options: { bitRate: '2M', maxBFrames: 0 } },
])('$codec', ({ codec, file, options }) => {
  test('frame count, duration, keyframe interval and pictures as ffprobe sees them', async () => {
    const frames = sourceFrames(50);
    const out = path.join(dir, file);
    const enc = await Encoder.open(out, { from: Decoder.openSync(source).info, codec, gopSize: 10, ...options });
    for (const frame of frames) await enc.encode(frame);
    await enc.close();
    expect(enc.stats.frames).toBe(50);
    expect(enc.stats.keyFrames).toBe(5);

    expect(probeFrameCount(out)).toBe(50);
    expect(durationOf(out)).toBeCloseTo(2.0, 1);
    const keys = probeFrames(out).flatMap((f, i) => (f.keyFrame ? [i] : []));
    expect(keys).toEqual([0, 10, 20, 30, 40]);
    const decoded = rawFrames(out, 'rgb24');
    const size = 320 * 240 * 3;
    for (const i of [0, 17, 49]) {
      expect(psnr(decoded.subarray(i * size, (i + 1) * size), frames[i].data)).toBeGreaterThan(30);
    }
  });
});

describe('inputs', () => {
  test('plain Uint8Arrays (a SharedArrayBuffer view too), in yuv420p, sync API', () => {
    const frames = sourceFrames(20, { pixelFormat: 'yuv420p' });
    const out = path.join(dir, 'plain.mkv');
    const enc = Encoder.openSync(out, { width: 320, height: 240, frameRate: 25, pixelFormat: 'yuv420p' });
    const shared = new Uint8Array(new SharedArrayBuffer(enc.frameBytes));
    for (const frame of frames) {
      shared.set(frame.data);
      enc.encodeFrame(shared);
    }
    const frameBytes = enc.frameBytes;
    enc.closeSync();
    expect(probeFrameCount(out)).toBe(20);
    const decoded = rawFrames(out, 'yuv420p');
    expect(psnr(decoded.subarray(0, frameBytes), frames[0].data)).toBeGreaterThan(30);
  });

  test('a Frame keeps its place on the timeline: a gap in the input stays a gap', async () => {
    const frames = sourceFrames(50).filter((f) => f.index < 10 || f.index >= 40);
    const out = path.join(dir, 'gap.mkv');
    await using enc = await Encoder.open(out, { width: 320, height: 240, frameRate: 25 });
    for (const frame of frames) enc.encodeFrame(frame);
    await enc.close();
    const times = probeFrames(out).map((f) => f.pts);
    expect(times.length).toBe(20);
    // Matroska's time base is 1 ms: frame 10 of the output is input frame 40, at 1.6 s.
    expect(times[10]! - times[0]!).toBe(1600);
  });

  test('frameRate as {num, den}; the container says 30000/1001', () => {
    const out = path.join(dir, 'ntsc.mp4');
    const enc = Encoder.openSync(out, { width: 64, height: 48, frameRate: { num: 30000, den: 1001 }, pixelFormat: 'gray' });
    for (let i = 0; i < 30; i++) enc.encodeFrame(new Uint8Array(64 * 48).fill(i * 8));
    enc.closeSync();
    const rate = String(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=avg_frame_rate', '-of', 'csv=p=0', out])).trim();
    expect(rate).toBe('30000/1001');
  });
});

describe('bad inputs', () => {
  const base = { width: 320, height: 240, frameRate: 25 };

  test('a buffer of the wrong length: ERR_BUFFER_SIZE naming both sizes', () => {
    using enc = Encoder.openSync(path.join(dir, 'bad-length.mkv'), base);
    const error = expectCode(() => enc.encodeFrame(new Uint8Array(1000)), 'ERR_BUFFER_SIZE');
    expect(error.message).toContain('230400');
    expect(error.message).toContain('1000');
    expectCode(() => enc.encodeFrame(new Uint8Array(230401)), 'ERR_BUFFER_SIZE');
    expectCode(() => enc.encodeFrame('pixels' as never), 'ERR_INVALID_ARGUMENT');
    expectCode(() => enc.encodeFrame(new Float32Array(57600) as never), 'ERR_INVALID_ARGUMENT');
  });

  test('a frame of another size or pixel format is scaled (test/scale.test.ts); one whose size or format is not valid is refused', () => {
    using enc = Encoder.openSync(path.join(dir, 'bad-size.mkv'), { ...base, width: 640, height: 480 });
    const [frame] = sourceFrames(1);
    enc.encodeFrame(frame);
    expectCode(() => enc.encodeFrame({ ...frame, time: 1, width: 0 }), 'ERR_DIMENSIONS');
    expectCode(() => enc.encodeFrame({ ...frame, time: 1, height: 16385 }), 'ERR_DIMENSIONS');
    expectCode(() => enc.encodeFrame({ ...frame, time: 1, width: 1.5 }), 'ERR_DIMENSIONS');
    expectCode(() => enc.encodeFrame({ ...frame, time: 1, pixelFormat: 'nv12' as never }), 'ERR_PIXEL_FORMAT');
    expectCode(() => enc.encodeFrame({ ...frame, time: 1, width: frame.width + 1 }), 'ERR_BUFFER_SIZE');
    using gray = Encoder.openSync(path.join(dir, 'bad-format.mkv'), { ...base, pixelFormat: 'gray' });
    gray.encodeFrame(frame);
  });

  test('the same frame twice: its timestamp does not increase', () => {
    using enc = Encoder.openSync(path.join(dir, 'twice.mkv'), base);
    const [frame] = sourceFrames(1);
    enc.encodeFrame(frame);
    expect(expectCode(() => enc.encodeFrame(frame), 'ERR_INVALID_ARGUMENT').message).toContain('must increase');
  });

  test('unknown codec, a codec that is not a video encoder, an unknown container', async () => {
    await expect(Encoder.open(path.join(dir, 'a.mp4'), { ...base, codec: 'h266_magic' })).rejects.toMatchObject({ code: 'ERR_CODEC_NOT_FOUND' });
    await expect(Encoder.open(path.join(dir, 'a.mp4'), { ...base, codec: 'aac' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(expectCode(() => Encoder.openSync(path.join(dir, 'clip.unknownext'), base), 'ERR_FORMAT_NOT_FOUND').message).toContain('format');
    expectCode(() => Encoder.openSync(path.join(dir, 'clip.mp4'), { ...base, format: 'nosuchmuxer' }), 'ERR_FORMAT_NOT_FOUND');
  });

  test('an odd size the encoder refuses (libx264, yuv420p): ERR_DIMENSIONS saying why; mpeg4 takes it', () => {
    const odd = { width: 853, height: 479, frameRate: 25 };
    const error = expectCode(() => Encoder.openSync(path.join(dir, 'odd.mp4'), { ...odd, codec: 'libx264' }), 'ERR_DIMENSIONS');
    expect(error.message).toContain('853x479 is not a multiple of 2x2');
    Encoder.openSync(path.join(dir, 'odd.avi'), { ...odd, codec: 'mpeg4' }).closeSync();
  });

  test('invalid option values', () => {
    const out = path.join(dir, 'opts.mp4');
    expectCode(() => Encoder.openSync(out, { ...base, gopSize: -1 }), 'ERR_INVALID_ARGUMENT');
    expectCode(() => Encoder.openSync(out, { ...base, crf: 99 }), 'ERR_INVALID_ARGUMENT');
    expectCode(() => Encoder.openSync(out, { ...base, bitRate: 'fast' }), 'ERR_INVALID_ARGUMENT');
    expectCode(() => Encoder.openSync(out, { ...base, frameRate: 0 }), 'ERR_INVALID_ARGUMENT');
    expectCode(() => Encoder.openSync(out, { ...base, frameRate: { num: 30, den: 0 } }), 'ERR_INVALID_ARGUMENT');
    expectCode(() => Encoder.openSync(out, { ...base, maxBFrames: 99 }), 'ERR_INVALID_ARGUMENT');
    expectCode(() => Encoder.openSync(out, { ...base, pixelFormat: 'nv12' as never }), 'ERR_INVALID_ARGUMENT');
    expectCode(() => Encoder.openSync(out, { ...base, transport: 'tcp' }), 'ERR_INVALID_ARGUMENT');
    expectCode(() => Encoder.openSync(out, { frameRate: 25 }), 'ERR_DIMENSIONS');
    expectCode(() => Encoder.openSync(out, { ...base, width: -2 }), 'ERR_DIMENSIONS');
    expectCode(() => Encoder.openSync(out, { ...base, width: 100_000 }), 'ERR_DIMENSIONS');
    // Names the encoder does not know: a preset for mpeg4, a misspelt libav option.
    expect(expectCode(() => Encoder.openSync(path.join(dir, 'o.avi'), { ...base, codec: 'mpeg4', preset: 'fast' }), 'ERR_INVALID_OPTION').message).toContain('preset');
    expectCode(() => Encoder.openSync(out, { ...base, codecOptions: { no_such_thing: 1 } }), 'ERR_INVALID_OPTION');
    // A preset x264 does not know: refused here (ERR_INVALID_ARGUMENT), before x264 prints its own error.
    expectCode(() => Encoder.openSync(out, { ...base, preset: 'warp-speed' }), 'ERR_INVALID_ARGUMENT');
    // 4:2:0 H.264 needs even sides: the encoder says so, clearly.
    expect(() => Encoder.openSync(out, { ...base, width: 321 })).toThrow(StreamcoderError);
  });

  test('every call after close: ERR_CLOSED; close is idempotent; stats stay readable', async () => {
    const enc = await Encoder.open(path.join(dir, 'closed.mkv'), base);
    const [frame] = sourceFrames(1);
    await enc.encode(frame);
    await enc.close();
    await enc.close();
    enc.closeSync();
    expect(enc.closed).toBe(true);
    expect(enc.stats.frames).toBe(1);
    expect(enc.stats.packets).toBe(1);
    expectCode(() => enc.encodeFrame(frame), 'ERR_CLOSED');
    await expect(enc.encode(frame)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expectCode(() => enc.frameBytes, 'ERR_CLOSED');
  });

  test('an output directory that does not exist: ERR_NOT_FOUND naming the path', async () => {
    const error = await Encoder.open('/nonexistent/dir/out.mp4', base).catch((e) => e);
    expect(error).toBeInstanceOf(StreamcoderError);
    expect(error.code).toBe('ERR_NOT_FOUND');
    expect(error.message).toContain('/nonexistent/dir/out.mp4');
    expect(fs.existsSync('/nonexistent/dir')).toBe(false);
  });
});
