// Hostile values for every option: strings with an embedded NUL (FFmpeg reads C strings, so they
// would be cut silently), numbers out of range, NaN, Infinity, fractions, -0, through the public
// API and through the raw binding (so lib/ is not the only guard). Each is refused with a typed
// error and leaves the process, and the next valid call, fine. Then the timeline: a frame index
// that would overflow the pacing arithmetic is refused before it changes anything.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { NativeClientOptions, NativeDecoderOptions, NativeWriterOptions } from '../binding';
import { native } from '../lib/binding';
import { Client, Decoder, Encoder, MAX_FRAME_RATE, MAX_TIMELINE_SECONDS, MIN_FRAME_RATE, pipeline, Server, StreamcoderError, type Frame } from '../lib';
import { fixture, tempDir } from './helpers/fixtures';
import { probeFrameCount, probeFrames } from './helpers/ffmpeg-cli';
import { settledFile, startRtmpServer, type RtmpServer } from './helpers/servers';

const clip = fixture('h264-bframes.mp4');
const { dir, cleanup } = tempDir('streamcoder-hostile-');
afterAll(cleanup);

let rtmp: RtmpServer;
beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(() => rtmp?.stop());

function caught(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

async function refusal(call: () => unknown): Promise<StreamcoderError> {
  let error: unknown;
  try {
    await call();
  } catch (e) {
    error = e;
  }
  expect(error, 'the call was accepted').toBeInstanceOf(StreamcoderError);
  return error as StreamcoderError;
}

const base = { width: 320, height: 240, frameRate: 25, preset: 'ultrafast' };
let count = 0;
const out = (ext = 'mkv') => path.join(dir, `out-${count++}.${ext}`);

/** A valid encode right after a refusal: the process and the library are fine. */
function encodeWorks(): void {
  const file = out();
  const enc = Encoder.openSync(file, base);
  enc.encodeFrame(new Uint8Array(320 * 240 * 3));
  enc.closeSync();
  expect(fs.statSync(file).size).toBeGreaterThan(0);
}

describe('strings with an embedded NUL', () => {
  // [what, call]: each would reach FFmpeg as a C string cut at the NUL.
  const CASES: [string, () => unknown][] = [
    ['Decoder source', () => Decoder.openSync(`${clip}\0.evil`)],
    ['Decoder format', () => Decoder.openSync(clip, { format: 'mov\0evil' })],
    ['Decoder pixelFormat', () => Decoder.openSync(clip, { pixelFormat: 'rgb24\0' as never })],
    ['Decoder formatOptions name', () => Decoder.openSync(clip, { formatOptions: { 'probesize\0x': 32 } })],
    ['Decoder formatOptions value', () => Decoder.openSync(clip, { formatOptions: { probesize: '5000000\0x' } })],
    ['Decoder codecOptions name', () => Decoder.openSync(clip, { codecOptions: { 'threads\0': '1' } })],
    ['Decoder codecOptions value', () => Decoder.openSync(clip, { codecOptions: { threads: '1\0' } })],
    ['Decoder.open (async) source', () => Decoder.open(`${clip}\0`)],
    ['Client url', () => Client.openSync('rtmp://127.0.0.1:1/live/cam\0evil')],
    ['Client formatOptions value', () => Client.openSync('rtmp://127.0.0.1:1/live/cam', { formatOptions: { rtmp_app: 'live\0' } })],
    ['Client codecOptions name', () => Client.openSync('rtmp://127.0.0.1:1/live/cam', { codecOptions: { '\0': '1' } })],
    ['Encoder path', () => Encoder.openSync(`${out()}\0.mp4`, base)],
    ['Encoder codec', () => Encoder.openSync(out(), { ...base, codec: 'libx264\0evil' })],
    ['Encoder preset', () => Encoder.openSync(out(), { ...base, preset: 'ultrafast\0slow' })],
    ['Encoder tune', () => Encoder.openSync(out(), { ...base, tune: 'zerolatency\0' })],
    ['Encoder format', () => Encoder.openSync(out(), { ...base, format: 'matroska\0mp4' })],
    ['Encoder pixelFormat', () => Encoder.openSync(out(), { ...base, pixelFormat: 'gray\0' as never })],
    ['Encoder codecOptions name', () => Encoder.openSync(out(), { ...base, codecOptions: { 'x264-params\0': 'keyint=5' } })],
    ['Encoder codecOptions value', () => Encoder.openSync(out(), { ...base, codecOptions: { 'x264-params': 'keyint=5\0:bframes=0' } })],
    ['Encoder formatOptions name', () => Encoder.openSync(out(), { ...base, formatOptions: { '\0live': '1' } })],
    ['Encoder formatOptions value', () => Encoder.openSync(out(), { ...base, formatOptions: { live: '1\0' } })],
    ['Server url', () => Server.openSync(`${rtmp.liveUrl('nul')}\0evil`, base)],
    ['Server.open (async) codec', () => Server.open(rtmp.liveUrl('nul'), { ...base, codec: 'libx264\0' })],
    ['pipeline input', () => pipeline({ input: `${clip}\0`, output: out() })],
    ['pipeline output', () => pipeline({ input: clip, output: `${out()}\0` })],
    ['pipeline server codec', () => pipeline({ input: clip, output: out(), server: { codec: 'libx264\0' }, realtime: false })],
  ];

  test.each(CASES)('%s: ERR_INVALID_ARGUMENT, then a valid call works', async (_what, call) => {
    const error = await refusal(call);
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(error.message).toMatch(/NUL|one of/);
    // The NUL is never printed raw.
    expect(error.message).not.toContain('\0');
    encodeWorks();
  });

  test("the message shows the string, the NUL escaped: 'libx264\\0evil'", async () => {
    const error = await refusal(() => Encoder.openSync(out(), { ...base, codec: 'libx264\0evil' }));
    expect(error.message).toBe("Expected a string without NUL characters for codec but received 'libx264\\0evil'");
  });

  test('an option value with a NUL is not echoed (it may be a passphrase)', async () => {
    const error = await refusal(() => Client.openSync('srt://127.0.0.1:1', { formatOptions: { passphrase: 'secret-pass\0phrase' } }));
    expect(error.message).not.toContain('secret-pass');
    expect(error.message).toContain('formatOptions.passphrase');
  });
});

describe('the raw binding refuses the same (one conversion point in native code)', () => {
  const decoderOptions = (): NativeDecoderOptions => ({
    source: clip, pixelFormat: 'rgb24', width: 0, height: 0, startTime: 0, threads: 0, timeoutMs: 0, maxPixels: 8192 * 4320, formatOptions: {}, codecOptions: {},
  });
  const writerOptions = (): NativeWriterOptions => ({
    url: out(), width: 320, height: 240, frameRateNum: 25, frameRateDen: 1, pixelFormat: 'rgb24', codec: 'libx264', preset: 'ultrafast',
    bitRate: 0, maxBitRate: 0, bufSize: 0, gopSize: -1, maxBFrames: -1, threads: 0, crf: -1, timeoutMs: 0, codecOptions: {}, formatOptions: {},
  });
  const clientOptions = (): NativeClientOptions => ({
    source: 'rtmp://127.0.0.1:1/live/x', pixelFormat: 'rgb24', width: 0, height: 0, threads: 0, timeoutMs: 1000, maxPixels: 8192 * 4320,
    formatOptions: {}, codecOptions: {}, cacheSize: 8, maxCacheBytes: 2 ** 30, frameRate: 0, retries: 0, backoffMs: 0,
  });

  const NUL_CASES: [string, () => unknown][] = [
    ['Decoder source', () => new native.Decoder({ ...decoderOptions(), source: `${clip}\0x` })],
    ['Decoder inputFormat', () => new native.Decoder({ ...decoderOptions(), inputFormat: 'mov\0' })],
    ['Decoder pixelFormat', () => new native.Decoder({ ...decoderOptions(), pixelFormat: 'gray\0rgb24' })],
    ['Decoder formatOptions name', () => new native.Decoder({ ...decoderOptions(), formatOptions: { 'probesize\0': '32' } })],
    ['Decoder codecOptions value', () => new native.Decoder({ ...decoderOptions(), codecOptions: { threads: '1\0' } })],
    ['Writer url', () => new native.Writer({ ...writerOptions(), url: `${out()}\0.mp4` })],
    ['Writer codec', () => new native.Writer({ ...writerOptions(), codec: 'libx264\0evil' })],
    ['Writer preset', () => new native.Writer({ ...writerOptions(), preset: 'ultrafast\0' })],
    ['Writer tune', () => new native.Writer({ ...writerOptions(), tune: '\0' })],
    ['Writer format', () => new native.Writer({ ...writerOptions(), format: 'mp4\0' })],
    ['Writer pixelFormat', () => new native.Writer({ ...writerOptions(), pixelFormat: 'rgb24\0' })],
    ['Writer codecOptions name', () => new native.Writer({ ...writerOptions(), codecOptions: { 'crf\0': '20' } })],
    ['Writer formatOptions value', () => new native.Writer({ ...writerOptions(), formatOptions: { live: '1\0' } })],
    ['Client source', () => new native.Client({ ...clientOptions(), source: 'rtmp://127.0.0.1:1/live/x\0y' }, () => {})],
    ['Client formatOptions value', () => new native.Client({ ...clientOptions(), formatOptions: { rtmp_app: 'a\0' } }, () => {})],
  ];

  test.each(NUL_CASES)('%s with a NUL: ERR_INVALID_ARGUMENT', (_what, call) => {
    const error = caught(call) as StreamcoderError;
    expect(error).toBeInstanceOf(StreamcoderError);
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(error.message).toMatch(/without NUL characters/);
  });

  const NUMBER_CASES: [string, Partial<NativeWriterOptions>][] = [
    ['frame rate 1/1000000', { frameRateNum: 1, frameRateDen: 1_000_000 }],
    ['frame rate 1/61', { frameRateNum: 1, frameRateDen: 61 }],
    ['frame rate 1001/1', { frameRateNum: 1001, frameRateDen: 1 }],
    ['frame rate 0/1', { frameRateNum: 0, frameRateDen: 1 }],
    ['frame rate 30/0', { frameRateNum: 30, frameRateDen: 0 }],
    ['frame rate -30/-1', { frameRateNum: -30, frameRateDen: -1 }],
    ['frame rate num 2^31', { frameRateNum: 2 ** 31, frameRateDen: 1 }],
    ['frame rate NaN', { frameRateNum: Number.NaN }],
    ['bitRate 1e300', { bitRate: 1e300 }],
    ['bitRate -1', { bitRate: -1 }],
    ['bitRate Infinity', { bitRate: Number.POSITIVE_INFINITY }],
    ['bitRate 1.5', { bitRate: 1.5 }],
    ['maxBitRate 1e12', { maxBitRate: 1e12 }],
    ['bufSize -1e300', { bufSize: -1e300 }],
    ['gopSize -2', { gopSize: -2 }],
    ['gopSize 2^31', { gopSize: 2 ** 31 }],
    ['maxBFrames 17', { maxBFrames: 17 }],
    ['threads -1', { threads: -1 }],
    ['threads 100000', { threads: 100000 }],
    ['crf 64', { crf: 64 }],
    ['crf NaN', { crf: Number.NaN }],
    ['timeoutMs 1e300', { timeoutMs: 1e300 }],
    ['timeoutMs -1', { timeoutMs: -1 }],
    ['timeoutMs NaN', { timeoutMs: Number.NaN }],
  ];

  test.each(NUMBER_CASES)('Writer %s: ERR_INVALID_ARGUMENT before anything is opened', (_what, options) => {
    const error = caught(() => new native.Writer({ ...writerOptions(), ...options })) as StreamcoderError;
    expect(error).toBeInstanceOf(StreamcoderError);
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
  });

  test('Writer frame rate 1/60 and 1000/1, and -0 for crf and gopSize: accepted', () => {
    for (const options of [{ frameRateNum: 1, frameRateDen: 60 }, { frameRateNum: 1000, frameRateDen: 1 }, { crf: -0, gopSize: -0 }]) {
      const writer = new native.Writer({ ...writerOptions(), ...options });
      writer.openSync();
      writer.write(new Uint8Array(320 * 240 * 3), 0, false);
      writer.closeSync();
    }
  });

  test.each([
    ['audio sample rate NaN', { audio: 'encode', audioSampleRate: Number.NaN }],
    ['audio sample rate 1e9', { audio: 'encode', audioSampleRate: 1e9 }],
    ['audio channels 0', { audio: 'encode', audioChannels: 0 }],
    ['audio channels 65', { audio: 'encode', audioChannels: 65 }],
    ['audio bit rate -1', { audio: 'encode', audioBitRate: -1 }],
    ['audio mode', { audio: 'loud' as never }],
    ['audio copy without parameters', { audio: 'copy' }],
    ['video copy with a codec that does not exist', { video: 'copy', videoParameters: { codec: 'h266\0' } as never }],
    ['videoSync', { videoSync: 'wobbly' as never }],
    ['timeline', { timeline: 'backwards' as never }],
  ] as [string, Partial<NativeWriterOptions>][])('Writer %s: refused before anything is opened', (_what, options) => {
    const error = caught(() => new native.Writer({ ...writerOptions(), ...options })) as StreamcoderError;
    expect(error).toBeInstanceOf(StreamcoderError);
    expect(['ERR_INVALID_ARGUMENT', 'ERR_CODEC_NOT_FOUND']).toContain(error.code);
  });

  test('Writer send(): items the binding refuses (kinds, NaN times, absurd audio, packets without times); the writer goes on', () => {
    const file = out('mkv');
    const writer = new native.Writer({ ...writerOptions(), url: file, audio: 'encode', audioSampleRate: 48000, audioChannels: 2 });
    writer.openSync();
    const picture = new Uint8Array(320 * 240 * 3);
    const samples = new Float32Array(2048);
    const bad: unknown[] = [
      null, 42, { kind: 'smell', data: picture }, { kind: 'video', data: samples, time: 0 }, { kind: 'video', data: picture, time: Number.NaN },
      { kind: 'video', data: picture, time: 1e300 }, { kind: 'audio', data: samples, sampleFormat: 'f32', sampleRate: 1e9, channels: 2, time: 0 },
      { kind: 'audio', data: samples, sampleFormat: 'f32', sampleRate: 48000, channels: 0, time: 0 },
      { kind: 'audio', data: samples, sampleFormat: 'f32', sampleRate: 48000, channels: 3, time: 0 },
      { kind: 'audio', data: samples, sampleFormat: 's16', sampleRate: 48000, channels: 2, time: 0 },
      { kind: 'audio', data: picture, sampleFormat: 'f32', sampleRate: 48000, channels: 2, time: 0 },
      { kind: 'audio-packet', data: picture, pts: null, dts: null, duration: 0, timeBase: { num: 1, den: 48000 }, keyFrame: true },
      { kind: 'video-packet', data: picture, pts: 0.5, dts: 0, duration: 0, timeBase: { num: 1, den: 25 }, keyFrame: true },
    ];
    for (const item of bad) {
      const error = caught(() => writer.send(item as never, false)) as StreamcoderError;
      expect(error, JSON.stringify(item)).toBeInstanceOf(StreamcoderError);
      expect(['ERR_INVALID_ARGUMENT', 'ERR_BUFFER_SIZE', 'ERR_INVALID_STATE'], error.message).toContain(error.code);
    }
    writer.send({ kind: 'video', data: picture, time: 0 }, false);
    writer.send({ kind: 'audio', data: samples, sampleFormat: 'f32', sampleRate: 48000, channels: 2, time: 0 }, false);
    writer.closeSync();
    expect(writer.stats).toMatchObject({ frames: 1, audioSamples: 1024 });
  });

  test.each([
    ['maxCacheBytes 1e300', { maxCacheBytes: 1e300 }],
    ['maxCacheBytes 0', { maxCacheBytes: 0 }],
    ['frameRate -1', { frameRate: -1 }],
    ['frameRate 1e6', { frameRate: 1e6 }],
  ] as [string, Partial<NativeClientOptions>][])('Client %s: ERR_INVALID_ARGUMENT', (_what, options) => {
    const error = caught(() => new native.Client({ ...clientOptions(), ...options } as NativeClientOptions, () => {})) as StreamcoderError;
    expect(error).toBeInstanceOf(StreamcoderError);
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
  });

  test('Client next()/nextAsync() with NaN, -1, 1e300, 1.5 ms: ERR_INVALID_ARGUMENT, the client still works', async () => {
    const client = new native.Client(clientOptions(), () => {});
    try {
      for (const timeout of [Number.NaN, -1, 1e300, 1.5, Number.POSITIVE_INFINITY]) {
        expect(caught(() => client.next(timeout))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
        expect(await refusal(() => client.nextAsync(timeout))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      }
      // Not started, nothing cached: a valid short wait times out as it should.
      expect(caught(() => client.next(10))).toMatchObject({ code: 'ERR_TIMEOUT' });
    } finally {
      client.close();
    }
  });

  test('Writer pts beyond the timeline (1e15), negative, NaN: refused natively; the writer goes on; close works', async () => {
    const file = out();
    const writer = new native.Writer({ ...writerOptions(), url: file });
    writer.openSync();
    const picture = new Uint8Array(320 * 240 * 3);
    writer.write(picture, 0, true);
    for (const pts of [1e15, 2 ** 53 - 1, -1, Number.NaN, 0.5]) {
      expect(caught(() => writer.write(picture, pts, true))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      expect(await refusal(() => writer.writeAsync(picture, pts, true))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
    // The largest pts: 10^9 s at 25 fps. Not waited for here (block false).
    expect(caught(() => writer.write(picture, MAX_TIMELINE_SECONDS * 25 + 1, false))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    // Due a second after the first: the refused calls waited for nothing and counted nothing late.
    const late = writer.write(picture, 25, true);
    expect(Math.abs(late)).toBeLessThan(0.5);
    expect(writer.stats).toMatchObject({ frames: 2, lateFrames: 0 });
    writer.closeSync();
    expect(probeFrameCount(file)).toBe(2);
  });
});

describe('numeric options through the API', () => {
  const BAD_WRITER: [string, Record<string, unknown>][] = [
    ['frameRate 0', { frameRate: 0 }],
    ['frameRate -25', { frameRate: -25 }],
    ['frameRate -0', { frameRate: -0 }],
    ['frameRate NaN', { frameRate: Number.NaN }],
    ['frameRate Infinity', { frameRate: Number.POSITIVE_INFINITY }],
    ['frameRate 1/61', { frameRate: 1 / 61 }],
    ['frameRate 1000.5', { frameRate: 1000.5 }],
    ['frameRate 1e6', { frameRate: 1e6 }],
    ['frameRate {1, 1e6}', { frameRate: { num: 1, den: 1e6 } }],
    ['frameRate {1, 61}', { frameRate: { num: 1, den: 61 } }],
    ['frameRate {1001, 1}', { frameRate: { num: 1001, den: 1 } }],
    ['frameRate {0, 1}', { frameRate: { num: 0, den: 1 } }],
    ['frameRate {30, 0}', { frameRate: { num: 30, den: 0 } }],
    ['frameRate {2^31, 1}', { frameRate: { num: 2 ** 31, den: 1 } }],
    ['frameRate {29.97, 1}', { frameRate: { num: 29.97, den: 1 } }],
    ['frameRate {NaN, 1}', { frameRate: { num: Number.NaN, den: 1 } }],
    ["frameRate '30'", { frameRate: '30' }],
    ['bitRate 0', { bitRate: 0 }],
    ['bitRate -1', { bitRate: -1 }],
    ['bitRate NaN', { bitRate: Number.NaN }],
    ['bitRate 1e12', { bitRate: 1e12 }],
    ['bitRate 1.5', { bitRate: 1.5 }],
    ["bitRate '2X'", { bitRate: '2X' }],
    ["bitRate '99999999999999999999'", { bitRate: '99999999999999999999' }],
    ['maxBitRate Infinity', { maxBitRate: Number.POSITIVE_INFINITY }],
    ['bufSize -5', { bufSize: -5 }],
    ['gopSize -1', { gopSize: -1 }],
    ['gopSize 1.5', { gopSize: 1.5 }],
    ['gopSize 1e6', { gopSize: 1e6 }],
    ['maxBFrames 17', { maxBFrames: 17 }],
    ['threads -1', { threads: -1 }],
    ['threads 65', { threads: 65 }],
    ['threads NaN', { threads: Number.NaN }],
    ['crf -1', { crf: -1 }],
    ['crf 64', { crf: 64 }],
    ['crf Infinity', { crf: Number.POSITIVE_INFINITY }],
    ['timeoutMs 0', { timeoutMs: 0 }],
    ['timeoutMs 1e12', { timeoutMs: 1e12 }],
    ['timeoutMs 1.5', { timeoutMs: 1.5 }],
    ['codecOptions NaN', { codecOptions: { crf: Number.NaN } }],
    ['codecOptions Infinity', { codecOptions: { crf: Number.POSITIVE_INFINITY } }],
  ];

  test.each(BAD_WRITER)('Encoder %s: ERR_INVALID_ARGUMENT, then a valid call works', async (_what, options) => {
    const error = await refusal(() => Encoder.openSync(out(), { ...base, ...options }));
    expect(error.code).toBe('ERR_INVALID_ARGUMENT');
    expect(error.message).toMatch(/^Expected /);
    encodeWorks();
  });

  test('the frame rate message names the bounds', async () => {
    const error = await refusal(() => Server.open(rtmp.liveUrl('rate'), { ...base, frameRate: { num: 1, den: 1e6 } }));
    expect(error.message).toBe('Expected a frame rate from 1/60 (one frame a minute) to 1000 frames per second for frameRate but received 1/1000000');
    expect(MIN_FRAME_RATE).toBe(1 / 60);
    expect(MAX_FRAME_RATE).toBe(1000);
  });

  test('a `from` whose rate is out of bounds is refused by its name; an unknown one (0/1) gives 30', async () => {
    const error = await refusal(() => Encoder.openSync(out(), { from: { width: 320, height: 240, frameRate: { num: 90000, den: 1 } } }));
    expect(error.message).toContain('from.frameRate');
    const enc = Encoder.openSync(out(), { from: { width: 320, height: 240, frameRate: { num: 0, den: 1 } } });
    expect(enc.frameRate).toEqual({ num: 30, den: 1 });
    enc.closeSync();
  });

  test.each([
    ['1/60 as a number', { frameRate: 1 / 60 }, { num: 17, den: 1000 }],
    ['{1, 60}', { frameRate: { num: 1, den: 60 } }, { num: 1, den: 60 }],
    ['1000', { frameRate: 1000 }, { num: 1000, den: 1 }],
    ['{2^31-1, 2^31-1}', { frameRate: { num: 2 ** 31 - 1, den: 2 ** 31 - 1 } }, { num: 2 ** 31 - 1, den: 2 ** 31 - 1 }],
    ['30000/1001', { frameRate: { num: 30000, den: 1001 } }, { num: 30000, den: 1001 }],
    ['-0 for gopSize and crf', { gopSize: -0, crf: -0 }, { num: 25, den: 1 }],
  ])('accepted at the edges: %s', (_what, options, rate) => {
    const file = out();
    const enc = Encoder.openSync(file, { ...base, ...options });
    expect(enc.frameRate).toEqual(rate);
    enc.encodeFrame(new Uint8Array(320 * 240 * 3));
    enc.closeSync();
    expect(probeFrameCount(file)).toBe(1);
  });

  const BAD_DECODER: [string, () => unknown][] = [
    ['startTime -1', () => Decoder.openSync(clip, { startTime: -1 })],
    ['startTime NaN', () => Decoder.openSync(clip, { startTime: Number.NaN })],
    ['startTime 1e10 (past the timeline)', () => Decoder.openSync(clip, { startTime: 1e10 })],
    ['startTime Infinity', () => Decoder.openSync(clip, { startTime: Number.POSITIVE_INFINITY })],
    ['threads 65', () => Decoder.openSync(clip, { threads: 65 })],
    ['timeoutMs -1', () => Decoder.openSync(clip, { timeoutMs: -1 })],
    ['timeoutMs NaN', () => Decoder.openSync(clip, { timeoutMs: Number.NaN })],
    ['width 0', () => Decoder.openSync(clip, { width: 0 })],
    ['width 1.5', () => Decoder.openSync(clip, { width: 1.5 })],
    ['height 16385', () => Decoder.openSync(clip, { height: 16385 })],
    ['maxPixels Infinity', () => Decoder.openSync(clip, { maxPixels: Number.POSITIVE_INFINITY })],
    ['Client cacheSize 0', () => Client.openSync('rtmp://127.0.0.1:1/live/x', { cacheSize: 0 })],
    ['Client cacheSize NaN', () => Client.openSync('rtmp://127.0.0.1:1/live/x', { cacheSize: Number.NaN })],
    ['Client frameRate -1', () => Client.openSync('rtmp://127.0.0.1:1/live/x', { frameRate: -1 })],
    ['Client frameRate Infinity', () => Client.openSync('rtmp://127.0.0.1:1/live/x', { frameRate: Number.POSITIVE_INFINITY })],
    ['Client timeoutMs 1e12', () => Client.openSync('rtmp://127.0.0.1:1/live/x', { timeoutMs: 1e12 })],
    ['Client reconnect.retries -1', () => Client.openSync('rtmp://127.0.0.1:1/live/x', { reconnect: { retries: -1 } })],
    ['Client reconnect.backoffMs NaN', () => Client.openSync('rtmp://127.0.0.1:1/live/x', { reconnect: { backoffMs: Number.NaN } })],
    ['Client maxCacheBytes 0', () => Client.openSync('rtmp://127.0.0.1:1/live/x', { maxCacheBytes: 0 })],
    ['pipeline slots 1', () => pipeline({ input: clip, output: out(), slots: 1 })],
    ['pipeline slots NaN', () => pipeline({ input: clip, output: out(), slots: Number.NaN })],
    ['pipeline maxFrames -1', () => pipeline({ input: clip, output: out(), maxFrames: -1 })],
    ['pipeline server frameRate {1, 1e6}', () => pipeline({ input: clip, output: out(), server: { frameRate: { num: 1, den: 1e6 } }, realtime: false })],
  ];

  test.each(BAD_DECODER)('%s: refused with a typed error, then a valid call works', async (_what, call) => {
    const error = await refusal(call);
    expect(['ERR_INVALID_ARGUMENT', 'ERR_DIMENSIONS']).toContain(error.code);
    using dec = Decoder.openSync(clip);
    expect(dec.extractFrame()).not.toBeNull();
  });

  test('Decoder.seek and Client.next/read with out-of-range numbers; the objects keep working', async () => {
    using dec = Decoder.openSync(clip);
    for (const seconds of [-1, Number.NaN, Number.POSITIVE_INFINITY, 1e10, Number.MAX_SAFE_INTEGER]) {
      expect(caught(() => dec.seek(seconds))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
    dec.seek(1);
    expect(dec.extractFrame()!.time).toBeCloseTo(1, 5);
  });
});

describe('a Frame time far along the timeline (nginx-rtmp, paced)', () => {
  let frames: Frame[];
  beforeAll(() => {
    using dec = Decoder.openSync(clip);
    frames = [];
    for (let f = dec.extractFrame(); f && frames.length < 10; f = dec.extractFrame()) frames.push(f);
  });

  test('Frame.time = 1e15 to serveBlock: refused at once, nothing counted; the next frame is on time; close works', async () => {
    const srv = await Server.open(rtmp.recordUrl('far'), { from: { width: 320, height: 240, frameRate: { num: 25, den: 1 } }, preset: 'ultrafast', tune: 'zerolatency' });
    for (const frame of frames.slice(0, 5)) await srv.serveBlock(frame);
    const started = performance.now();
    // Times beyond the timeline's bounds, and times that are no times.
    for (const time of [1e15, 2 ** 53 - 1, MAX_TIMELINE_SECONDS + 1, -1e12, Number.NaN, Number.POSITIVE_INFINITY, '5.5' as never]) {
      const error = await refusal(() => srv.serveBlock({ ...frames[5], time }));
      expect(error.code).toBe('ERR_INVALID_ARGUMENT');
      expect(error.message).toMatch(/for frame\.time/);
      expect(caught(() => srv.serveFrameBlock({ ...frames[5], time }))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
    expect(performance.now() - started).toBeLessThan(1000);
    const late = await srv.serveBlock(frames[5]);
    expect(late).toBeGreaterThan(-0.05);
    expect(late).toBeLessThan(1);
    for (const frame of frames.slice(6)) await srv.serveBlock(frame);
    expect(srv.stats.frames).toBe(10);
    expect(srv.stats.lead).toBeGreaterThan(-1);
    expect(srv.stats.lead).toBeLessThan(1);
    const closing = performance.now();
    await srv.close();
    expect(performance.now() - closing).toBeLessThan(5000);
    expect(probeFrameCount(await settledFile(rtmp.recordingOf('far')))).toBe(10);
  });

  test("a first frame refused (time NaN) sets nothing: the next frame's time becomes the origin", async () => {
    const file = out('mkv');
    const enc = Encoder.openSync(file, { width: 320, height: 240, frameRate: 25, preset: 'ultrafast' });
    expect(caught(() => enc.encodeFrame({ ...frames[0], time: Number.NaN }))).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    enc.encodeFrame({ ...frames[0], time: 4 });
    enc.encodeFrame({ ...frames[1], time: 4.04 });
    enc.encodeFrame({ ...frames[2], time: 4.12 });
    enc.closeSync();
    // Frames at 0, 1 and 3 frame times: the origin came from the first frame written, the gap kept.
    expect(probeFrames(file).map((f) => f.pts)).toEqual([0, 40, 120]);
  });

  test('a paced stream at one frame a minute closes in seconds (the flush is not spaced a minute apart)', async () => {
    const srv = await Server.open(rtmp.liveUrl('slow'), { width: 320, height: 240, frameRate: { num: 1, den: 60 }, preset: 'ultrafast' });
    expect(await srv.serveBlock(frames[0])).toBe(0);
    const closing = performance.now();
    await srv.close();
    expect(performance.now() - closing).toBeLessThan(10_000);
  });
});
