// pipeline() end to end: a fixture decoded on one worker thread, pushed from another to a real
// nginx-rtmp on loopback, and judged by what nginx itself recorded (read by ffprobe). Then the
// failures of either side, abort, and the memory bound.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { StreamcoderError, pipeline, type PipelineAbortError, type PipelineOptions, type PipelineProgress } from '../lib';
import { fixture, tempDir } from './helpers/fixtures';
import { probeFrameCount } from './helpers/ffmpeg-cli';
import { freePort, settledFile, startRtmpServer, type RtmpServer } from './helpers/servers';

const input = fixture('h264-bframes.mp4'); // 320x240, 25 fps, 75 frames
const fast = { preset: 'ultrafast', gopSize: 25 } as const;
let rtmp: RtmpServer;

beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(() => rtmp?.stop());

/** TCP connections established to nginx now (publishers; nothing else connects to it here). */
function connectionsTo(port: number): number {
  const out = String(execFileSync('ss', ['-Htn', 'state', 'established', `( dport = :${port} )`]));
  return out.split('\n').filter((line) => line.trim()).length;
}

async function rejection(promise: Promise<unknown>): Promise<StreamcoderError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StreamcoderError);
  return error as StreamcoderError;
}

describe('pipeline to nginx-rtmp', () => {
  test('every frame arrives, once (nginx recording read by ffprobe)', async () => {
    const stats = await pipeline({ input, output: rtmp.recordUrl('all'), server: fast, slots: 4, realtime: false });
    expect(stats.frames).toBe(75);
    expect(stats.server).toMatchObject({ frames: 75 });
    expect(stats.maxDepth).toBeGreaterThan(0);
    expect(stats.maxDepth).toBeLessThanOrEqual(4);
    expect(stats.decodeFps).toBeGreaterThan(0);
    expect(stats.pushFps).toBeGreaterThan(0);
    expect(stats.fps).toBeGreaterThan(0);
    expect(probeFrameCount(await settledFile(rtmp.recordingOf('all')))).toBe(75);
    expect(connectionsTo(rtmp.port)).toBe(0);
  });

  test('realtime paces the push to the frame rate and reports progress at least once a second', async () => {
    const progress: PipelineProgress[] = [];
    const stats = await pipeline({ input, output: rtmp.liveUrl('paced'), server: fast, maxFrames: 30, onProgress: (p) => progress.push(p) });
    expect(stats.frames).toBe(30);
    // 30 frames at 25 fps: the last is due 1.16 s after the first.
    expect(stats.seconds).toBeGreaterThan(1.1);
    // The streaming alone: first frame to last, without the open before or the paced flush after.
    expect(stats.streamSeconds).toBeGreaterThan(1.1);
    expect(stats.streamSeconds).toBeLessThan(1.6);
    expect(stats.seconds).toBeGreaterThan(stats.streamSeconds);
    expect(stats.fps).toBeCloseTo(30 / stats.streamSeconds, 5);
    expect(stats.dropped).toBe(0);
    expect(stats.consumerWaits + stats.producerWaits).toBeGreaterThan(0);
    expect(progress.length).toBeGreaterThanOrEqual(Math.floor(stats.seconds));
    // The last report comes after the close: the server's figures with every packet out.
    expect(progress.at(-1)).toMatchObject({ frames: 30, decoded: 30, depth: 0, dropped: 0, streamSeconds: stats.streamSeconds, server: { frames: 30, packets: 30 } });
    for (let i = 1; i < progress.length; i++) expect(progress[i].frames).toBeGreaterThanOrEqual(progress[i - 1].frames);
  });

  test('memory stays the ring: a looped input, 8 times its length, through 3 slots', async () => {
    const before = process.memoryUsage().rss;
    const stats = await pipeline({ input, output: rtmp.recordUrl('loop'), server: fast, slots: 3, realtime: false, loop: true, maxFrames: 600 });
    expect(stats.frames).toBe(600);
    expect(stats.maxDepth).toBeLessThanOrEqual(3);
    expect(probeFrameCount(await settledFile(rtmp.recordingOf('loop')))).toBe(600);
    // 600 frames of 115 kB would be 69 MB if frames were kept; the ring holds 3.
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 2 ** 20);
  });
});

describe('pipeline failures reach the caller as typed errors, both threads stopped', () => {
  test('the decoding side fails to open: its error, and the pusher never connects', async () => {
    const error = await rejection(pipeline({ input: '/nonexistent/clip.mp4', output: rtmp.liveUrl('none'), server: fast }));
    expect(error.code).toBe('ERR_NOT_FOUND');
    expect(error.stack).toMatch(/pipeline\.test/); // the caller's stack, not the worker's
    expect(connectionsTo(rtmp.port)).toBe(0);
  });

  test('the pushing side fails to open (nothing listens): its error, and the decoder stops', async () => {
    const port = await freePort();
    const started = performance.now();
    const error = await rejection(pipeline({ input, output: `rtmp://127.0.0.1:${port}/live/x`, server: { ...fast, timeoutMs: 3000 }, loop: true }));
    expect(error.code).toBe('ERR_CONNECTION_REFUSED');
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  test('an unknown codec is refused before either thread starts', async () => {
    const error = await rejection(pipeline({ input, output: rtmp.liveUrl('codec'), server: { codec: 'no-such-codec' }, loop: true }));
    expect(error.code).toBe('ERR_CODEC_NOT_FOUND');
  });

  test('the decoding side rejects an option: its error', async () => {
    const error = await rejection(pipeline({ input, output: rtmp.liveUrl('opt'), server: fast, decoder: { codecOptions: { 'no-such-option': 1 } } }));
    expect(error.code).toBe('ERR_INVALID_OPTION');
  });

  test('the decoding side fails in the middle (its source stalls): its error, the pusher stopped, no connection left', async () => {
    // A real HTTP source that sends the first half of an MPEG-TS file, then nothing: the decoder
    // opens, frames flow, then its read times out.
    const { dir, cleanup } = tempDir();
    const ts = path.join(dir, 'clip.ts');
    execFileSync('ffmpeg', ['-v', 'error', '-i', fixture('bench-1080p.mp4'), '-c', 'copy', '-f', 'mpegts', ts]);
    const bytes = fs.readFileSync(ts);
    const held: http.ServerResponse[] = [];
    const source = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp2t', 'content-length': bytes.length });
      res.write(bytes.subarray(0, bytes.length >> 1));
      held.push(res);
    });
    await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = source.address() as { port: number };
      let pushed = 0;
      const error = await rejection(pipeline({
        input: `http://127.0.0.1:${port}/clip.ts`,
        output: rtmp.liveUrl('stall'),
        decoder: { width: 320, timeoutMs: 1500 },
        server: fast,
        realtime: false,
        onProgress: (p) => (pushed = p.frames),
      }));
      expect(error.code, error.message).toBe('ERR_TIMEOUT');
      expect(pushed).toBeGreaterThan(0); // it failed in the middle, not at the start
      expect(connectionsTo(rtmp.port)).toBe(0);
    } finally {
      for (const res of held) res.destroy();
      await new Promise((resolve) => source.close(resolve));
      cleanup();
    }
  });

  test('the server dies in the middle with reconnect: false: the pusher\'s error, the decoder stopped, no connection left', async () => {
    const own = await startRtmpServer();
    try {
      const frames: number[] = [];
      const running = pipeline({
        input,
        output: own.liveUrl('dies'),
        server: { ...fast, timeoutMs: 3000, reconnect: false },
        loop: true,
        onProgress: (p) => {
          frames.push(p.frames);
          if (p.frames >= 10 && frames.length === 2) own.kill();
        },
      });
      const error = await rejection(running);
      expect(['ERR_CONNECTION_LOST', 'ERR_IO']).toContain(error.code);
      expect(frames.at(-1)).toBeGreaterThan(0);
    } finally {
      await own.stop();
    }
  });

  test('by default a live output reconnects: the server killed and restarted, the pipeline goes on to the end', async () => {
    const port = await freePort();
    let own = await startRtmpServer(port);
    const states: string[] = [];
    let killed = false;
    let killedAt = 0;
    try {
      const stats = await pipeline({
        input,
        output: own.recordUrl('back'),
        server: fast,
        loop: true,
        maxFrames: 150,
        onProgress: (p) => {
          if (p.server) states.push(p.server.state);
          if (!killed && p.frames >= 25) {
            killed = true;
            killedAt = p.frames;
            own.kill();
            setTimeout(async () => (own = await startRtmpServer(port)), 500);
          }
        },
      });
      expect(stats.server).toMatchObject({ disconnects: 1, reconnects: 1, state: 'closed' });
      expect(states).toContain('reconnecting');
      // Every frame served went out, the outage's included (it was shorter than the buffer).
      expect(stats.server!.droppedFrames).toBe(0);
      // The restarted server got everything from the kill on (and the GOP before it, sent again).
      expect(probeFrameCount(own.recordingOf('back'))).toBeGreaterThanOrEqual(150 - killedAt);
    } finally {
      await own.stop();
    }
  });

  test('abort in the middle: ERR_ABORTED, no thread and no connection left', async () => {
    const controller = new AbortController();
    let connected = -1;
    let last: PipelineProgress | null = null;
    const running = pipeline({
      input,
      output: rtmp.liveUrl('abort'),
      server: fast,
      loop: true,
      signal: controller.signal,
      onProgress: (p) => {
        last = p;
        if (p.frames > 5 && connected < 0) {
          connected = connectionsTo(rtmp.port);
          controller.abort();
        }
      },
    });
    const started = performance.now();
    const error = await rejection(running);
    expect(error.code).toBe('ERR_ABORTED');
    expect(connected).toBe(1); // it was publishing when aborted
    expect(performance.now() - started).toBeLessThan(15_000);
    // The promise settles only once both threads have exited; their connection went with them.
    expect(connectionsTo(rtmp.port)).toBe(0);
    // One last report after both threads stopped: the output closed cleanly, every frame served went out.
    const { server, streamSeconds } = last! as PipelineProgress;
    expect(server!.frames).toBeGreaterThan(5);
    expect(server!.packets).toBe(server!.frames);
    expect(streamSeconds).toBeGreaterThan(0);
    // The rejection carries the figures so far, the same as the last report's.
    const { stats } = error as PipelineAbortError;
    expect(stats.frames).toBe(server!.frames);
    expect(stats.server).toEqual(server);
    expect(stats.streamSeconds).toBe(streamSeconds);
    expect(stats.fps).toBeGreaterThan(0);
    expect(stats.decodeFps).toBeGreaterThan(0);
  });

  test('bad options, before any thread starts', async () => {
    const good: PipelineOptions = { input, output: rtmp.liveUrl('bad') };
    const cases: [Partial<PipelineOptions> | null, string][] = [
      [null, 'ERR_INVALID_ARGUMENT'],
      [{ input: '' }, 'ERR_INVALID_ARGUMENT'],
      [{ output: 42 as never }, 'ERR_INVALID_ARGUMENT'],
      [{ slots: 1 }, 'ERR_INVALID_ARGUMENT'],
      [{ slots: 4096 }, 'ERR_INVALID_ARGUMENT'],
      [{ realtime: 'yes' as never }, 'ERR_INVALID_ARGUMENT'],
      [{ loop: 1 as never }, 'ERR_INVALID_ARGUMENT'],
      [{ maxFrames: -1 }, 'ERR_INVALID_ARGUMENT'],
      [{ signal: {} as never }, 'ERR_INVALID_ARGUMENT'],
      [{ onProgress: 'x' as never }, 'ERR_INVALID_ARGUMENT'],
      [{ server: { width: 640 } as never }, 'ERR_INVALID_ARGUMENT'],
      [{ decoder: { pixelFormat: 'rgb24' }, server: { pixelFormat: 'bgr24' } }, 'ERR_INVALID_ARGUMENT'],
      [{ decoder: { pixelFormat: 'nv12' as never } }, 'ERR_INVALID_ARGUMENT'],
      [{ signal: AbortSignal.abort() }, 'ERR_ABORTED'],
    ];
    for (const [change, code] of cases) {
      const options = change === null ? null : { ...good, ...change };
      const error = await rejection(pipeline(options as PipelineOptions));
      expect(error.code, JSON.stringify(change)).toBe(code);
    }
    expect(connectionsTo(rtmp.port)).toBe(0);
  });
});
