// pipeline()'s two engines: the native relay (the default: native/media/relay.h) and the worker
// threads around a FrameRing. Given the same options they must write the same streams, packet
// for packet: the relay hands the decoded pictures to the encoders by reference where they
// already have the encoder's size and format, converts them where not, and copies packets as
// they come. Then what the relay leaves to the workers (encoded sound), and its raw binding
// misused: typed errors, never a crash.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { NativeRelay } from '../binding';
import { pipeline, type PipelineOptions, type PipelineStats } from '../lib';
import { native } from '../lib/binding';
import { ThreadBudget } from '../lib/service/thread-budget';
import { caught, rejection } from './helpers/errors';
import { packetHashes } from './helpers/ffmpeg-cli';
import { fixture, tempDir } from './helpers/fixtures';
import { probeStreams } from './helpers/media';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

// One thread per codec: x264 is then deterministic whatever the machine, so the two engines'
// outputs can be compared byte for byte.
const x264 = { preset: 'ultrafast', threads: 1, gopSize: 25 } as const;

type Case = { name: string; options: Omit<PipelineOptions, 'engine' | 'output' | 'outputs' | 'server'>; outputs: { ext: string; width?: number; height?: number; audio?: false }[] };

const CASES: Case[] = [
  // The decoder's yuv420p pictures go to x264 by reference; the AAC is copied.
  { name: 'same size, sound copied', options: { input: fixture('av.mp4') }, outputs: [{ ext: 'flv' }] },
  // Three outputs of one decode: one by reference, two scaled from the decoder's frames, one silent.
  { name: 'a ladder', options: { input: fixture('av.mp4') }, outputs: [{ ext: 'mkv' }, { ext: 'mkv', width: 96, height: 72 }, { ext: 'flv', width: 64, height: 48, audio: false }] },
  // rgb24 pictures: the relay converts them (packed) before the encoder converts them back.
  { name: 'rgb24 pictures', options: { input: fixture('h264-bframes.mp4'), decoder: { pixelFormat: 'rgb24' } }, outputs: [{ ext: 'mkv' }] },
  // A 4:4:4 odd-sized source delivered as yuv420p: converted by the reader, then taken as it is.
  { name: 'an odd 4:4:4 source', options: { input: fixture('odd-853x479.mp4'), decoder: { width: 426, height: 240 } }, outputs: [{ ext: 'mkv' }] },
  // Stream copy of both: packets as they come.
  { name: 'video and sound copied', options: { input: fixture('av.mp4'), video: 'copy' }, outputs: [{ ext: 'mkv' }, { ext: 'flv' }] },
];

async function run(c: Case, engine: 'native' | 'workers'): Promise<{ files: string[]; stats: PipelineStats }> {
  const files = c.outputs.map((o, i) => path.join(dir, `${c.name.replace(/\W+/g, '-')}-${engine}-${i}.${o.ext}`));
  const stats = await pipeline({
    ...c.options,
    engine,
    realtime: false,
    outputs: c.outputs.map((o, i) => ({
      url: files[i],
      server: c.options.video === 'copy' ? {} : { ...x264 },
      ...(o.width ? { width: o.width, height: o.height } : {}),
      ...(o.audio === false ? { audio: false } : {}),
    })),
  });
  return { files, stats };
}

describe('the native relay writes what the worker threads write', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const relay = await run(c, 'native');
      const workers = await run(c, 'workers');
      expect(relay.stats.engine).toBe('native');
      expect(workers.stats.engine).toBe('workers');
      for (const [i, file] of relay.files.entries()) {
        const other = workers.files[i];
        const video = packetHashes(file, 'v');
        expect(video.length).toBeGreaterThan(20);
        expect(video).toEqual(packetHashes(other, 'v'));
        const sound = probeStreams(file).some((s) => s.codec_type === 'audio');
        expect(sound).toBe(c.outputs[i].audio !== false && c.options.input !== fixture('h264-bframes.mp4') && c.options.input !== fixture('odd-853x479.mp4'));
        if (sound) expect(packetHashes(file, 'a')).toEqual(packetHashes(other, 'a'));
        expect(relay.stats.outputs[i]).toMatchObject({ state: 'done', frames: workers.stats.outputs[i].frames, dropped: 0, error: null });
      }
      expect(relay.stats.frames).toBe(workers.stats.frames);
      expect(relay.stats.audioStreams).toBe(workers.stats.audioStreams);
    }, 60_000);
  }

  test('every output size from 1x1 to 64x64 (each width with 3 heights, each height with 3 widths): scaled from the decoder\'s frames, the same bytes as the workers scale', async () => {
    const sizes: [number, number][] = [];
    for (let w = 1; w <= 64; w++) for (const h of [1 + ((w * 7) % 64), 1 + ((w * 13) % 64), 1 + ((w * 29) % 64)]) sizes.push([w, h]);
    for (let h = 1; h <= 64; h++) for (const w of [1 + ((h * 5) % 64), 1 + ((h * 11) % 64), 1 + ((h * 23) % 64)]) sizes.push([w, h]);
    // 16 outputs a pipeline (the most it takes), rawvideo in NUT: any size, the pictures as they are.
    for (let first = 0; first < sizes.length; first += 16) {
      const group = sizes.slice(first, first + 16);
      const files = { native: [] as string[], workers: [] as string[] };
      for (const engine of ['native', 'workers'] as const) {
        files[engine] = group.map(([w, h], i) => path.join(dir, `size-${engine}-${first + i}-${w}x${h}.nut`));
        await pipeline({
          input: fixture('av.mp4'), engine, realtime: false, maxFrames: 2, audio: false,
          outputs: group.map(([width, height], i) => ({ url: files[engine][i], width, height, server: { codec: 'rawvideo' } })),
        });
      }
      for (const [i, [w, h]] of group.entries()) {
        const a = fs.readFileSync(files.native[i]);
        expect(a.length, `${w}x${h}`).toBeGreaterThan(2 * w * h);
        expect(a.equals(fs.readFileSync(files.workers[i])), `${w}x${h}`).toBe(true);
      }
    }
  }, 120_000);

  test('sound that must be encoded goes to the worker threads: asked for, or found on opening (Opus into FLV)', async () => {
    const opus = path.join(dir, 'opus.mkv');
    const { execFileSync } = await import('node:child_process');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', fixture('av.mp4'), '-c:v', 'copy', '-c:a', 'libopus', opus]);
    const asked = await pipeline({ input: fixture('av.mp4'), output: path.join(dir, 'asked.flv'), server: x264, audio: { codec: 'aac', bitRate: '96k' }, realtime: false });
    expect(asked.engine).toBe('workers');
    const found = await pipeline({ input: opus, output: path.join(dir, 'found.flv'), server: x264, realtime: false });
    expect(found.engine).toBe('workers');
    expect(probeStreams(path.join(dir, 'found.flv')).map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    // Into a container that takes Opus, the relay copies it.
    const kept = await pipeline({ input: opus, output: path.join(dir, 'kept.mkv'), server: x264, realtime: false });
    expect(kept.engine).toBe('native');
    expect(packetHashes(path.join(dir, 'kept.mkv'), 'a')).toEqual(packetHashes(opus, 'a'));
  }, 60_000);

  test('an output that cannot be written fails alone, typed; with none left the run rejects with it', async () => {
    const stats = await pipeline({
      input: fixture('av.mp4'),
      outputs: [{ url: path.join(dir, 'fine.mkv'), server: x264 }, { url: path.join(dir, 'no-such-dir', 'x.mkv'), server: x264 }],
      realtime: false,
    });
    expect(stats.engine).toBe('native');
    expect(stats.outputs[0]).toMatchObject({ state: 'done', frames: 50 });
    expect(stats.outputs[1].state).toBe('failed');
    expect(stats.outputs[1].error?.code).toMatch(/^ERR_/);
    // Every picture handed out that it did not write counts as dropped.
    expect(stats.outputs[1].frames + stats.outputs[1].dropped).toBe(50);
    const alone = await rejection(pipeline({ input: fixture('av.mp4'), output: path.join(dir, 'no-such-dir', 'y.mkv'), server: x264, realtime: false }));
    expect(alone.code).toMatch(/^ERR_/);
    expect(alone.stack).toContain('pipeline-engines.test.ts');
  }, 60_000);

  test('aborted while opening or running: ERR_ABORTED with the figures so far, every thread gone', async () => {
    for (const delay of [0, 5, 200]) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), delay);
      const error = await rejection(pipeline({ input: fixture('av.mp4'), output: path.join(dir, `abort-${delay}.mkv`), server: x264, loop: true, signal: controller.signal }));
      expect(error.code).toBe('ERR_ABORTED');
      expect((error as unknown as { stats: PipelineStats }).stats.engine).toBe('native');
    }
  }, 60_000);
});

describe('the raw Relay binding refuses misuse with typed errors', () => {
  const options = () => ({ source: fixture('av.mp4'), pixelFormat: 'yuv420p', width: 0, height: 0, startTime: 0, threads: 1, timeoutMs: 5000, maxPixels: 1 << 26, maxGopBytes: 1 << 26, formatOptions: {}, codecOptions: {}, videoCopy: false });
  const writer = (file: string) => ({ url: file, width: 160, height: 120, pixelFormat: 'yuv420p', codec: 'libx264', preset: 'ultrafast', threads: 1, frameRateNum: 25, frameRateDen: 1 });

  test('start before open, twice, bad outputs; open twice; stats and restart when closed', async () => {
    const relay: NativeRelay = new native.Relay(options() as never, () => {});
    expect(caught(() => relay.start([{ writer: writer(path.join(dir, 'raw.mkv')), realtime: false, onSlow: 'wait', slots: 4 }] as never, { loop: false, maxFrames: 0 })).code).toBe('ERR_NOT_OPEN');
    const opened = relay.open();
    expect(caught(() => relay.open()).code).toBe('ERR_BUSY');
    const info = await opened;
    expect(info.width).toBe(160);
    for (const [outputs, pattern] of [
      [[], /1 to 64 outputs/],
      ['x', /list of outputs/],
      [[{ realtime: false }], /writer options/],
      [[{ writer: writer(path.join(dir, 'raw.mkv')), slots: 1 }], /slots from 2/],
      [[{ writer: writer(path.join(dir, 'raw.mkv')), onSlow: 'skip' }], /'wait' or 'drop'/],
      [[{ writer: { url: '' } }], /output path or URL/],
    ] as const) {
      const error = caught(() => relay.start(outputs as never, { loop: false, maxFrames: 0 }));
      expect(error.code).toBe('ERR_INVALID_ARGUMENT');
      expect(error.message).toMatch(pattern);
    }
    expect(caught(() => relay.start([{ writer: writer(path.join(dir, 'raw.mkv')), realtime: false, onSlow: 'wait', slots: 4 }] as never, { loop: false, maxFrames: -1 })).code).toBe('ERR_INVALID_ARGUMENT');
    relay.start([{ writer: writer(path.join(dir, 'raw.mkv')), realtime: false, onSlow: 'wait', slots: 4 }] as never, { loop: false, maxFrames: 10 });
    expect(caught(() => relay.start([] as never, { loop: false, maxFrames: 0 })).code).toBe('ERR_BUSY');
    expect(caught(() => relay.restartOutput(5)).code).toBe('ERR_INVALID_ARGUMENT');
    for (let i = 0; i < 200 && !relay.stats.outputs[0].state.match(/done|failed/); i++) await new Promise((r) => setTimeout(r, 10));
    expect(relay.stats.outputs[0]).toMatchObject({ state: 'done', frames: 10 });
    // The input has ended: nothing to start again.
    expect(relay.restartOutput(0)).toBe(false);
    relay.close();
    relay.close();
    expect(caught(() => relay.stats).code).toBe('ERR_CLOSED');
    expect(caught(() => relay.restartOutput(0)).code).toBe('ERR_CLOSED');
    expect(fs.statSync(path.join(dir, 'raw.mkv')).size).toBeGreaterThan(0);
  });

  test('closed while it opens: the open rejects ERR_CLOSED; a missing input rejects typed', async () => {
    const relay: NativeRelay = new native.Relay(options() as never, () => {});
    const opening = relay.open();
    relay.close();
    expect((await rejection(opening)).code).toMatch(/ERR_CLOSED|ERR_ABORTED|ERR_EXIT/);
    const missing: NativeRelay = new native.Relay({ ...options(), source: path.join(dir, 'none.mp4') } as never, () => {});
    expect((await rejection(missing.open())).code).toMatch(/^ERR_/);
    missing.close();
    expect(caught(() => new native.Relay(options() as never, 'x' as never)).code).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe("the service's codec threads", () => {
  test('auto shares the cores among the streams running; a count is kept as given', () => {
    const budget = new ThreadBudget('auto', 4);
    expect([budget.acquire(), budget.acquire(), budget.acquire(), budget.acquire(), budget.acquire()]).toEqual([4, 2, 1, 1, 1]);
    budget.release();
    budget.release();
    budget.release();
    expect(budget.running).toBe(2);
    expect(budget.acquire()).toBe(1);
    budget.release();
    budget.release();
    budget.release();
    budget.release();
    expect(budget.running).toBe(0);
    expect(budget.acquire()).toBe(4);
    const fixed = new ThreadBudget(0, 4);
    expect([fixed.acquire(), fixed.acquire()]).toEqual([0, 0]);
  });
});
