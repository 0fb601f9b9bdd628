// One timeline from the source's times: variable frame rates and gaps kept, frame-rate changes by
// dropping and duplicating (as ffmpeg's -r), retiming on request, and `timeline: 'continue'` for
// sources that go back in time (a loop with seek(0)). ffprobe's frame times are the judge.
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Decoder, Encoder, StreamcoderError, type Frame } from '../lib';
import { fixture, tempDir } from './helpers/fixtures';
import { byTime, frameTimes, grayFrame, sine, streamOf } from './helpers/media';
import { execFileSync } from 'node:child_process';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const out = (name: string) => path.join(dir, name);
const base = { width: 64, height: 48, pixelFormat: 'gray' as const, preset: 'ultrafast' };

// Uneven times: bursts, a 0.6 s gap, 10 ms apart, 100 ms apart.
const VFR = [0, 0.04, 0.08, 0.1, 0.25, 0.26, 0.27, 0.3, 0.9, 0.91, 1.0, 1.1, 1.2, 1.5, 1.52, 2.0];

describe('variable frame rates and gaps', () => {
  test.each(['vfr.mp4', 'vfr.mkv', 'vfr.flv'])('%s: every picture at its own time', (name) => {
    const enc = Encoder.openSync(out(name), { ...base, from: { width: 64, height: 48, frameRate: { num: 25, den: 1 } } });
    for (const time of VFR) enc.encodeFrame(grayFrame(64, 48, time + 3));  // the source's timeline starts at 3 s
    enc.closeSync();
    const times = frameTimes(out(name));
    expect(times.length).toBe(VFR.length);
    // Matroska and FLV keep milliseconds.
    times.forEach((t, i) => expect(Math.abs(t - times[0] - VFR[i]), `frame ${i} at ${t}`).toBeLessThan(0.0015));
  });

  test('a Frame without a time (and packed bytes) takes the next frame slot', () => {
    const enc = Encoder.openSync(out('slots.mkv'), { ...base, frameRate: 10 });
    enc.encodeFrame(new Uint8Array(64 * 48));
    enc.encodeFrame(grayFrame(64, 48, null));
    enc.encodeFrame(new Uint8Array(64 * 48));
    enc.closeSync();
    expect(frameTimes(out('slots.mkv'))).toEqual([0, 0.1, 0.2]);
  });
});

describe('frame rate changes', () => {
  const source = (count: number) => Array.from({ length: count }, (_, i) => grayFrame(64, 48, i / 25, i));
  const from = { width: 64, height: 48, frameRate: { num: 25, den: 1 } };

  test('25 -> 10 fps drops pictures by time; 25 -> 50 fps duplicates them; the duration stays', () => {
    const down = Encoder.openSync(out('down.mkv'), { ...base, from, frameRate: 10 });
    for (const frame of source(50)) down.encodeFrame(frame);
    down.closeSync();
    const times = frameTimes(out('down.mkv'));
    // Slots 0 to 2.0 s (the last picture, at 1.96 s, rounds to 2.0): 21 of the 50 pictures.
    expect(times.length).toBe(21);
    times.forEach((t, i) => expect(t).toBeCloseTo(i / 10, 3));
    expect(down.stats).toMatchObject({ frames: 21, droppedFrames: 29, duplicatedFrames: 0 });

    const up = Encoder.openSync(out('up.mkv'), { ...base, from, frameRate: 50 });
    for (const frame of source(50)) up.encodeFrame(frame);
    up.closeSync();
    expect(frameTimes(out('up.mkv')).length).toBe(99);
    expect(up.stats).toMatchObject({ frames: 99, duplicatedFrames: 49, droppedFrames: 0 });
  });

  test('retime: true spaces the pictures evenly at the new rate (50 pictures at 50 fps: 1 s)', () => {
    const enc = Encoder.openSync(out('retime.mkv'), { ...base, from, frameRate: 50, retime: true });
    for (const frame of source(50)) enc.encodeFrame(frame);
    enc.closeSync();
    const times = frameTimes(out('retime.mkv'));
    expect(times.length).toBe(50);
    expect(times[49]).toBeCloseTo(0.98, 3);
  });

  test('AVI (a container without timestamps per frame) gets a constant-rate stream, gaps filled', () => {
    const enc = Encoder.openSync(out('gap.avi'), { ...base, codec: 'mpeg4', frameRate: 25, preset: undefined });
    for (const time of [0, 0.04, 0.2, 0.24]) enc.encodeFrame(grayFrame(64, 48, time));
    enc.closeSync();
    expect(enc.stats).toMatchObject({ frames: 7, duplicatedFrames: 3 });
  });
});

describe('sources that go back in time', () => {
  function decodeLoop(times: number): Frame[] {
    using dec = Decoder.openSync(fixture('h264-bframes.mp4'), { pixelFormat: 'gray', width: 64, height: 48 });
    const frames: Frame[] = [];
    for (let loop = 0; loop < times; loop++) {
      dec.seek(0);
      for (let i = 0; i < 20; i++) frames.push(dec.extractFrame()!);
    }
    return frames;
  }

  test("strict (the default): a seek(0) loop is refused with a message naming timeline: 'continue'", () => {
    const frames = decodeLoop(2);
    using enc = Encoder.openSync(out('strict.mkv'), { ...base, frameRate: 25 });
    for (const frame of frames.slice(0, 20)) enc.encodeFrame(frame);
    let error: unknown;
    try {
      enc.encodeFrame(frames[20]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StreamcoderError);
    expect((error as StreamcoderError).code).toBe('ERR_INVALID_ARGUMENT');
    expect((error as Error).message).toMatch(/timestamps must increase: time 0 s after 0\.76 s.*timeline: 'continue'/);
  });

  test("timeline: 'continue': a three-times seek(0) loop with its sound plays on, one frame after another", () => {
    const frames = decodeLoop(3);
    const sound = sine({ seconds: 0.8 });
    const enc = Encoder.openSync(out('loop.mkv'), { ...base, frameRate: 25, timeline: 'continue', audio: {} });
    for (let loop = 0; loop < 3; loop++) {
      for (const item of byTime(frames.slice(loop * 20, loop * 20 + 20), sound)) enc.encodeFrame(item);
    }
    enc.closeSync();
    const times = frameTimes(out('loop.mkv'));
    expect(times.length).toBe(60);
    // Relative to the first: Matroska shifts both streams by AAC's negative priming timestamp.
    times.forEach((t, i) => expect(t - times[0]).toBeCloseTo(i * 0.04, 3));
    const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', out('loop.mkv'), '-map', '0:a', '-f', 's16le', '-ac', '1', '-']);
    expect(pcm.length / 2 / 48000).toBeCloseTo(2.4, 1);
    expect(Math.abs(Number(streamOf(out('loop.mkv'), 'audio').start_time) - times[0])).toBeLessThan(0.025);
  });
});
