// One input, many outputs (issue 13): a rendition ladder from one decode, each output on its own
// thread, isolated from the others. The input's pictures carry their frame number (stamped
// blocks), so what each output's server recorded can be matched frame by frame, at any size.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Decoder, Encoder, StreamcoderError, pipeline, type PipelineOutput, type PipelineStats } from '../lib';
import { runCli } from './helpers/cli';
import { tempDir } from './helpers/fixtures';
import { runChild } from './helpers/child';
import { frameTimes, sine, streamOf } from './helpers/media';
import { freePort, settledFile, startRtmpServer, type RtmpServer } from './helpers/servers';
import { readStamp, stampedFrame } from './helpers/stamp';
import { startThrottleProxy, type ThrottleProxy } from './helpers/throttle-proxy';
import { execFileSync } from 'node:child_process';
import { rejection } from './helpers/errors';

const { dir, cleanup } = tempDir('streamcoder-ladder-');
const servers: RtmpServer[] = [];
const proxies: ThrottleProxy[] = [];
afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  for (const server of servers) await server.stop();
  cleanup();
});

/**
 * A file of `frames` stamped gray pictures (H.264) with a sine (AAC) beside them; with `noise`,
 * the rows below the stamp are noise, which no encoder can make small.
 */
async function stampedSource(name: string, width: number, height: number, frames: number, fps = 30, noise = false): Promise<string> {
  const file = path.join(dir, name);
  const enc = Encoder.openSync(file, { width, height, pixelFormat: 'gray', frameRate: fps, preset: 'ultrafast', gopSize: fps, audio: { codec: 'aac' } });
  const sound = sine({ seconds: frames / fps, chunk: 1600 });
  let next = 0;
  for (let n = 0; n < frames; n++) {
    while (next < sound.length && sound[next].time <= n / fps) enc.encodeFrame(sound[next++]);
    const data = stampedFrame(n, width, height);
    if (noise) {
      let seed = n + 1;
      for (let i = Math.floor(width / 4) * width; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    }
    enc.encodeFrame({ data, width, height, pixelFormat: 'gray', pts: n, time: n / fps });
  }
  while (next < sound.length) enc.encodeFrame(sound[next++]);
  await enc.close();
  return file;
}

/** The stamped numbers of a recording's pictures, in order. */
async function stampsOf(file: string): Promise<number[]> {
  await using dec = await Decoder.open(await settledFile(file), { pixelFormat: 'gray' });
  const stamps: number[] = [];
  for await (const frame of dec) stamps.push(readStamp(frame.data, frame.width));
  return stamps;
}

function sizeOf(file: string): string {
  return String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0:s=x', file])).trim();
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);


describe('the ring serves GOPs, and frames keep their place on the timeline', () => {
  test('examples/two-workers.mjs (GOPs decoded into the ring, slots served as frames) keeps a 2 s gap of its input', async () => {
    const rtmp = await startRtmpServer();
    servers.push(rtmp);
    const input = path.join(dir, 'gap.mp4');
    const enc = Encoder.openSync(input, { width: 160, height: 120, pixelFormat: 'gray', frameRate: 30, preset: 'ultrafast', gopSize: 10 });
    for (let n = 0; n < 40; n++) {
      const t = n < 20 ? n : n + 60; // 20 frames, 2 s of nothing, 20 frames
      enc.encodeFrame({ data: stampedFrame(n, 160, 120), width: 160, height: 120, pixelFormat: 'gray', pts: t, time: t / 30 });
    }
    await enc.close();
    const run = await runChild(process.execPath, [path.join(__dirname, '..', 'examples', 'two-workers.mjs'), input, rtmp.recordUrl('example')], { timeout: 30_000 });
    expect(run.status, run.stderr).toBe(0);
    const times = frameTimes(await settledFile(rtmp.recordingOf('example')));
    expect(times.length).toBe(40);
    const steps = times.slice(1).map((t, i) => t - times[i]);
    expect(Math.max(...steps)).toBeGreaterThan(2);
    expect(steps.filter((d) => d > 0.1).length).toBe(1);
    expect(await stampsOf(rtmp.recordingOf('example'))).toEqual(range(40));
  }, 60_000);
});

describe('a ladder from one decode to nginx-rtmp', () => {
  let source1080: string;
  let source360: string;
  let noisy: string;
  let rtmp: RtmpServer;
  beforeAll(async () => {
    [source1080, source360, noisy] = await Promise.all([
      stampedSource('src-1080.mp4', 1920, 1080, 60), stampedSource('src-360.mp4', 640, 360, 240), stampedSource('src-noise.mp4', 640, 360, 180, 30, true),
    ]);
    rtmp = await startRtmpServer();
    servers.push(rtmp);
  }, 60_000);

  test('source size, 720p and 360p: each recording has its size and every frame, and frame N of each is the same picture', async () => {
    const fast = { preset: 'ultrafast' };
    const stats = await pipeline({
      input: source1080,
      outputs: [
        { url: rtmp.recordUrl('hd'), server: { ...fast, bitRate: '4.5M' } },
        { url: rtmp.recordUrl('720'), width: 1280, height: 720, server: { ...fast, bitRate: '2.5M' } },
        { url: rtmp.recordUrl('360'), width: 640, height: 360, server: { ...fast, bitRate: '800k' } },
      ],
      realtime: false,
    });
    expect(stats.outputs.map((o) => [o.state, o.frames, o.dropped, o.error])).toEqual([['done', 60, 0, null], ['done', 60, 0, null], ['done', 60, 0, null]]);
    expect(stats.outputs.map((o) => o.url)).toEqual(['output 0 (rtmp://127.0.0.1:' + new URL(rtmp.recordUrl('hd')).port + '/rec/***)', expect.stringContaining('output 1'), expect.stringContaining('output 2')]);
    // The input's AAC is copied: one sound stream, shared.
    expect(stats.audioStreams).toBe(1);
    const sizes = ['1920x1080', '1280x720', '640x360'];
    for (const [i, name] of ['hd', '720', '360'].entries()) {
      const file = rtmp.recordingOf(name);
      expect(await stampsOf(file)).toEqual(range(60));
      expect(sizeOf(file)).toBe(sizes[i]);
      expect(streamOf(file, 'audio').codec_name).toBe('aac');
    }
  }, 120_000);

  test('sound encoded once per distinct setting: two outputs of one setting share an encode', async () => {
    const stats = await pipeline({
      input: source360,
      outputs: [
        { url: rtmp.recordUrl('a96'), server: { preset: 'ultrafast' }, audio: { bitRate: '96k' } },
        { url: rtmp.recordUrl('b96'), width: 320, height: 180, server: { preset: 'ultrafast' }, audio: { bitRate: '96k' } },
        { url: rtmp.recordUrl('c64'), width: 320, height: 180, server: { preset: 'ultrafast' }, audio: { bitRate: '64k', channels: 1 } },
      ],
      realtime: false,
      maxFrames: 90,
    });
    expect(stats.audioStreams).toBe(2);
    const channels = [2, 2, 1];
    for (const [i, name] of ['a96', 'b96', 'c64'].entries()) {
      const file = await settledFile(rtmp.recordingOf(name));
      expect(streamOf(file, 'audio')).toMatchObject({ codec_name: 'aac', channels: channels[i] });
      expect(await stampsOf(file)).toEqual(range(90));
    }
  }, 120_000);

  test('the server of one output killed mid-push: that output fails alone, the other two deliver every frame at pace', async () => {
    const doomed = await startRtmpServer();
    servers.push(doomed);
    setTimeout(() => doomed.kill(), 2500);
    const started = performance.now();
    const stats = await pipeline({
      input: source360,
      outputs: [
        { url: rtmp.recordUrl('k-a'), server: { preset: 'ultrafast' } },
        { url: rtmp.recordUrl('k-b'), width: 320, height: 180, server: { preset: 'ultrafast' } },
        { url: doomed.liveUrl('k-c'), width: 320, height: 180, server: { preset: 'ultrafast', reconnect: false, timeoutMs: 2000 } },
      ],
      realtime: true,
      maxFrames: 180,
    });
    const seconds = (performance.now() - started) / 1000;
    expect(stats.outputs[2].state).toBe('failed');
    expect(stats.outputs[2].error).toBeInstanceOf(StreamcoderError);
    for (const [i, name] of ['k-a', 'k-b'].entries()) {
      expect(stats.outputs[i]).toMatchObject({ state: 'done', frames: 180, dropped: 0 });
      expect(await stampsOf(rtmp.recordingOf(name))).toEqual(range(180));
      // Paced at 30 fps: 6 s of frames in about 6 s, not held back by the dead output (whose
      // writes would have held them for its 2 s timeout, or for ever). Loose: a busy machine.
      expect(stats.outputs[i].streamSeconds).toBeGreaterThan(5.5);
      expect(stats.outputs[i].streamSeconds).toBeLessThan(9);
    }
    expect(seconds).toBeLessThan(12);
  }, 60_000);


  test('retryOutputs: an output whose server is down at the start comes back on its own once it is up, the other untouched; what it missed is counted', async () => {
    const port = await freePort();
    let late: RtmpServer | null = null;
    const states = new Set<string>();
    const timer = setTimeout(() => {
      void startRtmpServer(port).then((server) => {
        late = server;
        servers.push(server);
      });
    }, 2000);
    try {
      const stats = await pipeline({
        input: source360,
        outputs: [
          { url: rtmp.recordUrl('r-a'), server: { preset: 'ultrafast' } },
          { url: `rtmp://127.0.0.1:${port}/rec/r-b`, width: 320, height: 180, server: { preset: 'ultrafast' } },
        ],
        realtime: true,
        retryOutputs: { backoffMs: 200, maxBackoffMs: 400 },
        onProgress: (p) => states.add(p.outputs[1].state),
      });
      expect(states).toContain('retrying');
      expect(stats.outputs[0]).toMatchObject({ state: 'done', frames: 240, dropped: 0, retries: 0, error: null });
      expect(await stampsOf(rtmp.recordingOf('r-a'))).toEqual(range(240));
      const back = stats.outputs[1];
      expect(back).toMatchObject({ state: 'done', error: null });
      expect(back.retries).toBeGreaterThanOrEqual(1);
      // Up after ~2 s of 8: most of the frames went out, every one before counted as dropped.
      expect(back.frames).toBeGreaterThan(120);
      expect(back.frames + back.dropped).toBe(240);
      expect(late).not.toBeNull();
      expect(await stampsOf(late!.recordingOf('r-b'))).toEqual(range(240).slice(240 - back.frames));
    } finally {
      clearTimeout(timer);
    }
  }, 60_000);

  test('maxPixelRate: outputs that would encode more pixels a second than the bound fail before any starts, naming each; under it they run', async () => {
    const outputs = (tag: string) => [{ url: rtmp.recordUrl(`${tag}-a`), server: { preset: 'ultrafast' } }, { url: rtmp.recordUrl(`${tag}-b`), width: 320, height: 180, server: { preset: 'ultrafast' } }];
    // 640x360 + 320x180 at 30 fps: 8 640 000 pixels a second.
    const error = await rejection(pipeline({ input: source360, outputs: outputs('px-over'), maxPixelRate: 8_600_000, maxFrames: 30, realtime: false }));
    expect(error.code).toBe('ERR_LIMIT');
    expect(error.message).toMatch(/8640000 pixels a second at the input's 30 fps \(output 0 \(.*\): 640x360, output 1 \(.*\): 320x180\), more than maxPixelRate \(8600000\)/);
    expect(fs.existsSync(rtmp.recordingOf('px-over-a'))).toBe(false);
    const stats = await pipeline({ input: source360, outputs: outputs('px-under'), maxPixelRate: 8_640_000, maxFrames: 30, realtime: false });
    expect(stats.outputs.map((o) => o.frames)).toEqual([30, 30]);
    for (const bad of [0, -1, '1M', Number.NaN]) {
      expect((await rejection(pipeline({ input: source360, output: rtmp.liveUrl('x'), maxPixelRate: bad as number }))).code).toBe('ERR_INVALID_ARGUMENT');
    }
  }, 60_000);

  test('retryOutputs is checked, and with no output left running the pipeline still rejects', async () => {
    for (const bad of [null, 1, 'yes', { backoffMs: 5 }, { backoffMs: 1000, maxBackoffMs: 500 }, { every: 1 }]) {
      const error = await rejection(pipeline({ input: source360, output: rtmp.liveUrl('x'), retryOutputs: bad as never }));
      expect(error.code, JSON.stringify(bad)).toBe('ERR_INVALID_ARGUMENT');
    }
    const dead = `rtmp://127.0.0.1:${await freePort()}/live/none`;
    const error = await rejection(pipeline({ input: source360, outputs: [{ url: dead }, { url: `${dead}2` }], retryOutputs: { backoffMs: 100 }, maxFrames: 60 }));
    expect(error.message).toMatch(/Every output failed/);
  }, 30_000);
  test("an output through a throttled link with onSlow 'drop' falls behind alone: it drops (counted), the others keep every frame and their pace", async () => {
    const proxy = await startThrottleProxy(Number(new URL(rtmp.recordUrl('x')).port), 600_000);
    proxies.push(proxy);
    const slowUrl = rtmp.recordUrl('slow').replace(`:${new URL(rtmp.recordUrl('x')).port}/`, `:${proxy.port}/`);
    const stats: PipelineStats = await pipeline({
      input: noisy,
      outputs: [
        { url: rtmp.recordUrl('s-a'), server: { preset: 'ultrafast' } },
        { url: rtmp.recordUrl('s-b'), width: 320, height: 180, server: { preset: 'ultrafast' } },
        // 6 Mbit/s of noise into a 0.6 Mbit/s link (through a small socket buffer, so the kernel
        // does not soak up seconds of it): its writes block, it falls behind.
        { url: slowUrl, server: { preset: 'ultrafast', bitRate: '6M', reconnect: false, timeoutMs: 20_000, formatOptions: { send_buffer_size: '32768' } }, onSlow: 'drop' },
      ],
      realtime: true,
      maxFrames: 180,
      slots: 8,
    });
    console.log(`slow output: ${stats.outputs[2].frames} served, ${stats.outputs[2].dropped} dropped; fast: ${stats.outputs[0].streamSeconds.toFixed(2)} s`);
    expect(stats.outputs[2].dropped).toBeGreaterThan(0);
    expect(stats.outputs[2].frames + stats.outputs[2].dropped).toBe(180);
    for (const [i, name] of ['s-a', 's-b'].entries()) {
      expect(stats.outputs[i]).toMatchObject({ state: 'done', frames: 180, dropped: 0 });
      // 6 s of frames; held to the slow link they would have taken 30 s.
      expect(stats.outputs[i].streamSeconds).toBeLessThan(9);
      expect(await stampsOf(rtmp.recordingOf(name))).toEqual(range(180));
    }
  }, 90_000);

  test('bad input is refused before anything starts: zero outputs, one URL twice, a size over 16384, an unknown codec in one output', async () => {
    const url = (name: string) => rtmp.liveUrl(name);
    // The error names the option at fault (outputs[i]...) and says what is wrong with it.
    const cases: [PipelineOutput[] | unknown, string, string[]][] = [
      [[], 'ERR_INVALID_ARGUMENT', ['outputs', 'at least one output']],
      [[{ url: url('same') }, { url: url('same'), width: 320, height: 180 }], 'ERR_INVALID_ARGUMENT', ['outputs[1].url', 'outputs[0] has it too']],
      [[{ url: url('a') }, { url: url('big'), width: 16385, height: 720 }], 'ERR_DIMENSIONS', ['outputs[1].width', '16385']],
      [[{ url: url('a') }, { url: url('half'), width: 640 }], 'ERR_DIMENSIONS', ['outputs[1].height', 'both or neither']],
      [[{ url: url('a') }, { url: url('b'), server: { codec: 'libx999' } }], 'ERR_CODEC_NOT_FOUND', ['codec', "no encoder named 'libx999'"]],
      [[{ url: url('a') }, { url: url('b'), audio: { codec: 'no-such-aac' } }], 'ERR_CODEC_NOT_FOUND', ['audio.codec', "no encoder named 'no-such-aac'"]],
      [[{ url: url('a'), onSlow: 'skip' }], 'ERR_INVALID_ARGUMENT', ['outputs[0].onSlow', 'skip']],
      [[{ url: url('a'), bitrate: '1M' }], 'ERR_INVALID_ARGUMENT', ['bitrate', 'outputs[0]']],
      ['rtmp://x', 'ERR_INVALID_ARGUMENT', ['outputs', 'a list of outputs']],
    ];
    for (const [outputs, code, parts] of cases) {
      const started = performance.now();
      const error = await rejection(pipeline({ input: source360, outputs: outputs as PipelineOutput[] }));
      expect(error.code, error.message).toBe(code);
      for (const part of parts) expect(error.message).toContain(part);
      expect(performance.now() - started).toBeLessThan(1000);
    }
    await expect(pipeline({ input: source360, output: url('a'), outputs: [{ url: url('b') }] })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('output') });
    expect(fs.existsSync(rtmp.recordingOf('same'))).toBe(false);
  });

  test('streamcoder push with --output groups: each its own size and bit rate; the summary lists every output', async () => {
    const result = await runCli([
      'push', source360, rtmp.recordUrl('cli-a'), '--frames', '60', '--preset', 'ultrafast', '--json',
      '--output', rtmp.recordUrl('cli-b'), '--size', '320x180', '--bitrate', '300k', '--preset', 'ultrafast',
      '--output', rtmp.recordUrl('cli-c'), '--size', '160x90', '--bitrate', '150k', '--preset', 'ultrafast', '--no-audio',
    ]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    // Paced (2 s): progress objects come once a second, each with every output's figures.
    const progress = lines.filter((line) => line.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1).outputs.map((o: { url: string }) => o.url)).toEqual([expect.stringContaining('output 0'), expect.stringContaining('output 1'), expect.stringContaining('output 2')]);
    const summary = lines.at(-1);
    expect(summary.type).toBe('summary');
    expect(summary.outputs.map((o: { state: string; frames: number }) => [o.state, o.frames])).toEqual([['done', 60], ['done', 60], ['done', 60]]);
    expect(sizeOf(await settledFile(rtmp.recordingOf('cli-b')))).toBe('320x180');
    expect(sizeOf(await settledFile(rtmp.recordingOf('cli-c')))).toBe('160x90');
    expect(() => streamOf(rtmp.recordingOf('cli-c'), 'audio')).toThrow(/no audio/);
    expect(await stampsOf(rtmp.recordingOf('cli-c'))).toEqual(range(60));

    // An option of the whole push is taken after the groups too (it once was "unknown option").
    const last = await runCli(['push', source360, rtmp.recordUrl('cli-d'), '--output', rtmp.recordUrl('cli-e'), '--size', '320x180', '--bitrate', '300k', '--no-realtime', '--frames', '30', '--json']);
    expect(last.code, last.stderr).toBe(0);
    expect(JSON.parse(last.stdout.trim().split('\n').at(-1)!).outputs.map((o: { state: string; frames: number }) => [o.state, o.frames])).toEqual([['done', 30], ['done', 30]]);
    const usage = await runCli(['push', source360, rtmp.liveUrl('u'), '--output', rtmp.liveUrl('v'), '--fps', '25']);
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringMatching(/--fps applies to every output: give it before the first --output/)]);
    const half = await runCli(['push', source360, rtmp.liveUrl('u'), '--output', rtmp.liveUrl('v'), '--size', '640x-1']);
    expect([half.code, half.stderr]).toEqual([2, expect.stringMatching(/--size after --output needs both sides/)]);
    const missing = await runCli(['push', source360, rtmp.liveUrl('u'), '--output']);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/--output needs a value/)]);
  }, 90_000);
});
