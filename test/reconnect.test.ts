// A Server with `reconnect` against a real nginx-rtmp that the test kills (SIGKILL) and restarts
// on the same port, or freezes (SIGSTOP) and thaws: the push goes on, every frame served either
// reaches the server (its number, stamped in the picture, is read back from what nginx recorded)
// or is counted as dropped, and the two add up exactly. Refusals end the push at once.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Client, Decoder, Server, StreamcoderError, type WriterStats } from '../lib';
import { runChild } from './helpers/child';
import { firstPictureMs } from './helpers/ffmpeg-cli';
import { probePackets } from './helpers/media';
import { freePort, startRtmpServer, startRtspListener, type RtmpServer, type RtspListener } from './helpers/servers';
import { readStamp, stampedFrame } from './helpers/stamp';

const WIDTH = 320;
const HEIGHT = 240;
const FPS = 25;

const servers: RtmpServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

/** Every stamped number in the FLV files nginx recorded (a reconnect's publish appends). */
async function stampsIn(files: string[], width = WIDTH): Promise<Set<number>> {
  const seen = new Set<number>();
  for (const file of files) {
    if (!fs.existsSync(file) || fs.statSync(file).size === 0) continue;
    await using dec = await Decoder.open(file, { pixelFormat: 'gray' });
    for (;;) {
      let frame;
      try {
        frame = await dec.read();
      } catch (error) {
        // The last tag of a killed server's recording may be cut short.
        if (error instanceof StreamcoderError && error.code === 'ERR_INVALID_DATA') break;
        throw error;
      }
      if (!frame) break;
      seen.add(readStamp(frame.data, width));
    }
  }
  return seen;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Outages of 0.2 to 3 s, spread over the range (the same every run). */
function outageMs(i: number, count: number): number {
  return Math.round(200 + (2800 * ((i * 7) % count)) / (count - 1));
}

interface PushResult {
  served: number;
  stats: WriterStats;
  events: string[];
  threw: unknown[];
}

/** Serves stamped frames, paced, until `stop()` resolves; never lets an exception go unseen. */
async function push(srv: Server, until: Promise<void>, picture: (n: number) => Uint8Array): Promise<PushResult> {
  const events: string[] = [];
  srv.on('disconnect', (e) => events.push(`disconnect ${e.code}`));
  srv.on('reconnect', (r) => events.push(`reconnect ${r.attempt} ${Math.round(r.downtimeMs)}`));
  srv.on('error', (e) => events.push(`error ${e.code}`));
  const threw: unknown[] = [];
  let done = false;
  // A scenario that fails (a server that would not start again) ends the push and fails the test
  // with its own message, not as an unhandled rejection beside a misleading assertion.
  let scenarioFailed: unknown;
  until.then(() => (done = true), (error) => ((scenarioFailed = error), (done = true)));
  let n = 0;
  while (!done) {
    try {
      await srv.serveBlock(picture(n));
    } catch (error) {
      threw.push(error);
      break;
    }
    n++;
  }
  await srv.close();
  if (scenarioFailed) throw scenarioFailed;
  return { served: n, stats: srv.stats, events, threw };
}

describe('reconnect to nginx-rtmp', () => {
  test('killed 10 times over 60 s and restarted on its port after 0.2-3 s: nothing reaches the caller, 10 reconnects, every frame arrived or counted; a Client reading it reconnects as often', async () => {
    const port = await freePort();
    let server = await startRtmpServer(port);
    servers.push(server);
    const name = 'kills';
    const recordings = [server.recordingOf(name)];
    const srv = await Server.open(server.recordUrl(name), {
      width: WIDTH, height: HEIGHT, pixelFormat: 'gray', frameRate: FPS, preset: 'ultrafast', tune: 'zerolatency', gopSize: FPS,
      timeoutMs: 2000, reconnect: { backoffMs: 100, maxBackoffMs: 400, outageBufferSeconds: 1.5 },
    });
    // A reader of the same stream through every kill (opened once the push is on): its iteration
    // waits across its reconnects.
    let reader: Client | null = null;
    const readStamps = new Set<number>();
    let reading: Promise<unknown> = Promise.resolve(null);
    const seenAgainMs: number[] = [];
    const outages = async () => {
      const begin = performance.now();
      await sleep(1000);
      const client = await Client.open(server.recordUrl(name), { pixelFormat: 'gray', timeoutMs: 2000, reconnect: { retries: 100, backoffMs: 100 } });
      reader = client.start();
      reading = (async () => {
        for await (const frame of client) readStamps.add(readStamp(frame.data, WIDTH));
      })().then(() => null, (error: unknown) => error);
      for (let i = 0; i < 10; i++) {
        // A kill every 5.7 s from 3 s on: the push runs over 60 s.
        await sleep(begin + 3000 + 5700 * i - performance.now());
        server.kill();
        await sleep(outageMs(i, 10));
        server = await startRtmpServer(port);
        servers.push(server);
        recordings.push(server.recordingOf(name));
        seenAgainMs.push(await firstPictureMs(server.recordUrl(name), 5000));
      }
      await sleep(begin + 62_000 - performance.now());
    };
    const started = performance.now();
    const result = await push(srv, outages(), (n) => stampedFrame(n, WIDTH, HEIGHT));
    const seconds = (performance.now() - started) / 1000;
    await sleep(500);
    const readerStats = reader!.stats;
    reader!.close();
    const readerOutcome = await reading;
    const arrived = await stampsIn(recordings);
    console.log(`killed 10x in ${seconds.toFixed(1)} s: served ${result.served}, arrived ${arrived.size}, dropped ${result.stats.droppedFrames}, ` +
      `reconnects ${result.stats.reconnects}, down ${Math.round(result.stats.downtimeMs)} ms, seen again after ${seenAgainMs.map((ms) => Math.round(ms)).join(' ')} ms\n  ${result.events.join(', ')}\n` +
      `  the Client: ${readStamps.size} frames read, ${readerStats.reconnects} reconnects`);
    expect(result.threw).toEqual([]);
    expect(seconds).toBeGreaterThanOrEqual(60);
    expect(result.stats.reconnects).toBe(10);
    expect(result.stats.disconnects).toBe(10);
    expect(result.events.filter((e) => e.startsWith('reconnect'))).toHaveLength(10);
    expect(result.stats.state).toBe('closed');
    for (const ms of seenAgainMs) expect(ms).toBeLessThan(2000);
    expect([...arrived].every((n) => n < result.served)).toBe(true);
    expect(arrived.size + result.stats.droppedFrames).toBe(result.served);
    // The reader went on through every kill (closing it ends its iteration with ERR_CLOSED, not before).
    expect(readerStats.reconnects).toBeGreaterThanOrEqual(10);
    expect((readerOutcome as StreamcoderError | null)?.code ?? 'ended').toBe('ERR_CLOSED');
    // It read frames again after every kill: between each restart and the next kill (kill i at
    // 3 + 5.7 i s, paced at 25 fps; from 4 s after a kill, when the longest outage is over).
    const killFrame = (i: number) => Math.round(FPS * (3 + 5.7 * i));
    for (let i = 1; i <= 10; i++) {
      const [from, to] = [killFrame(i - 1) + 4 * FPS, i < 10 ? killFrame(i) : result.served];
      expect([...readStamps].some((n) => n >= from && n < to), `frames ${from}-${to}`).toBe(true);
    }
  }, 150_000);
});

describe('a frozen server (SIGSTOP) is a drop once timeoutMs passes', () => {
  test('frozen 10 times, thawed 0.2-1.5 s after the push gave up on it: the push goes on, reconnects each time, every frame arrived or counted', async () => {
    const server = await startRtmpServer();
    servers.push(server);
    const name = 'frozen';
    // Noise below the stamp, losslessly: ~200 kB a picture, 5 MB/s, so that the socket buffers on
    // both sides (which the kernel grows to megabytes) fill soon after the freeze and the blocked
    // write times out. Each freeze lasts until the push has given up on the server.
    const [width, height] = [640, 360];
    const noise = new Uint8Array(width * (height - 170));
    const picture = (n: number) => {
      const frame = stampedFrame(n, width, height);
      for (let i = 0; i < noise.length; i += 65536) crypto.getRandomValues(noise.subarray(i, i + 65536));
      frame.set(noise, width * 170);
      return frame;
    };
    const srv = await Server.open(server.recordUrl(name), {
      width, height, pixelFormat: 'gray', frameRate: FPS, preset: 'ultrafast', tune: 'zerolatency', gopSize: FPS, crf: 0,
      timeoutMs: 1000, formatOptions: { send_buffer_size: 16384 },
      reconnect: { backoffMs: 100, maxBackoffMs: 400, outageBufferSeconds: 2 },
    });
    const gaveUpAfterMs: number[] = [];
    const freezes = async () => {
      for (let i = 0; i < 10; i++) {
        await sleep(2500);
        server.pause();
        const frozen = performance.now();
        while (srv.stats.disconnects <= i && performance.now() - frozen < 20_000) await sleep(50);
        gaveUpAfterMs.push(performance.now() - frozen);
        await sleep(200 + 145 * i);
        server.resume();
      }
      await sleep(3000);
    };
    const result = await push(srv, freezes(), picture);
    await sleep(500);
    const arrived = await stampsIn([server.recordingOf(name)], width);
    console.log(`frozen 10x: served ${result.served}, arrived ${arrived.size}, dropped ${result.stats.droppedFrames}, reconnects ${result.stats.reconnects}, ` +
      `down ${Math.round(result.stats.downtimeMs)} ms, gave up ${gaveUpAfterMs.map((ms) => Math.round(ms)).join(' ')} ms into each freeze\n  ${result.events.join(', ')}`);
    expect(result.threw).toEqual([]);
    expect(result.stats.disconnects).toBe(10);
    expect(result.stats.reconnects).toBe(10);
    expect(result.events.filter((e) => e.startsWith('disconnect'))).toEqual(Array(10).fill('disconnect ERR_TIMEOUT'));
    expect([...arrived].every((n) => n < result.served)).toBe(true);
    expect(arrived.size + result.stats.droppedFrames).toBe(result.served);
  }, 180_000);
});

describe('a refusal is not a drop', () => {
  const options = { width: WIDTH, height: HEIGHT, pixelFormat: 'gray', frameRate: FPS, preset: 'ultrafast', tune: 'zerolatency', reconnect: true } as const;

  test('an application the server does not serve, and a stream name taken: ERR_PUBLISH_REFUSED at open, at once', async () => {
    const server = await startRtmpServer();
    servers.push(server);
    const started = performance.now();
    const badApp = await Server.open(`rtmp://127.0.0.1:${server.port}/nope/x`, options).then(() => null, (e) => e);
    expect(badApp).toBeInstanceOf(StreamcoderError);
    expect(badApp.code).toBe('ERR_PUBLISH_REFUSED');
    await using first = await Server.open(server.liveUrl('taken'), options);
    first.serveFrame(stampedFrame(0, WIDTH, HEIGHT));
    const taken = await Server.open(server.liveUrl('taken'), options).then(() => null, (e) => e);
    expect(taken).toBeInstanceOf(StreamcoderError);
    expect(taken.code).toBe('ERR_PUBLISH_REFUSED');
    expect(taken.message).toContain('Already publishing');
    expect(performance.now() - started).toBeLessThan(3000);
  });

  test('the name taken by another publisher during an outage: the push ends with ERR_PUBLISH_REFUSED (an error event, state failed)', async () => {
    const port = await freePort();
    let server = await startRtmpServer(port);
    servers.push(server);
    const srv = await Server.open(server.liveUrl('grabbed'), { ...options, reconnect: { backoffMs: 300, maxBackoffMs: 300 } });
    const errors: StreamcoderError[] = [];
    srv.on('error', (e) => errors.push(e));
    for (let n = 0; n < 10; n++) srv.serveFrame(stampedFrame(n, WIDTH, HEIGHT));
    server.kill();
    server = await startRtmpServer(port);
    servers.push(server);
    await using other = await Server.open(server.liveUrl('grabbed'), options);
    let thrown: unknown = null;
    const deadline = performance.now() + 10_000;
    for (let n = 10; thrown === null && performance.now() < deadline; n++) {
      other.serveFrame(stampedFrame(n, WIDTH, HEIGHT));
      try {
        await srv.serveBlock(stampedFrame(n, WIDTH, HEIGHT));
      } catch (error) {
        thrown = error;
      }
    }
    expect(thrown).toBeInstanceOf(StreamcoderError);
    expect((thrown as StreamcoderError).code).toBe('ERR_PUBLISH_REFUSED');
    expect(errors.map((e) => e.code)).toEqual(['ERR_PUBLISH_REFUSED']);
    expect(srv.stats.state).toBe('failed');
    expect(srv.stats.droppedFrames).toBeGreaterThan(0);
    await srv.close();
  });

  test('a server that stays away: ERR_RECONNECT_FAILED after `retries` attempts, every frame made meanwhile counted', async () => {
    const server = await startRtmpServer();
    servers.push(server);
    const srv = await Server.open(server.liveUrl('gone'), { ...options, reconnect: { retries: 3, backoffMs: 50, maxBackoffMs: 100 } });
    for (let n = 0; n < 10; n++) srv.serveFrame(stampedFrame(n, WIDTH, HEIGHT));
    server.kill();
    let thrown: unknown = null;
    let served = 10;
    const deadline = performance.now() + 10_000;
    while (thrown === null && performance.now() < deadline) {
      try {
        await srv.serveBlock(stampedFrame(served, WIDTH, HEIGHT));
        served++;
      } catch (error) {
        thrown = error;
      }
    }
    expect(thrown).toBeInstanceOf(StreamcoderError);
    expect((thrown as StreamcoderError).code).toBe('ERR_RECONNECT_FAILED');
    expect((thrown as StreamcoderError).message).toMatch(/after 3 attempts: .*refused/i);
    const stats = srv.stats;
    expect(stats).toMatchObject({ state: 'failed', disconnects: 1, reconnects: 0 });
    // Nothing after the drop went out: every picture served from the last GOP written on is counted.
    expect(stats.droppedFrames).toBeGreaterThanOrEqual(served - 10);
    expect(stats.downtimeMs).toBeGreaterThan(0);
    await srv.close();
  });

  test('options: reconnect on a file is refused, and out-of-range values name the option', async () => {
    await expect(Server.open('/tmp/x.mp4', { ...options })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('reconnect') });
    for (const reconnect of [{ retries: 0 }, { backoffMs: 0 }, { backoffMs: 500, maxBackoffMs: 100 }, { outageBufferSeconds: -1 }, { outageBufferSeconds: 1e9 }, { retry: 3 }]) {
      await expect(Server.open('rtmp://127.0.0.1:1/live/x', { ...options, reconnect: reconnect as object })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
  });
});

describe('reconnect over RTSP', () => {
  // FFmpeg's own RTSP server (-rtsp_flags listen, copying into a file), stopped with SIGTERM and
  // started again on its port. (GStreamer's record server holds 2 s in its jitter buffer and its
  // file sink, which a killed server loses: no sender can account for those.)
  test('the RTSP server stopped and started again on its port: a new ANNOUNCE/RECORD session, every frame arrived or counted', async () => {
    const port = await freePort();
    let server = await startRtspListener(port);
    const recordings = [server.recording];
    const started: RtspListener[] = [server];
    try {
      const srv = await Server.open(server.url, {
        width: WIDTH, height: HEIGHT, pixelFormat: 'gray', frameRate: FPS, preset: 'ultrafast', tune: 'zerolatency', gopSize: FPS,
        transport: 'tcp', timeoutMs: 2000, reconnect: { backoffMs: 100, maxBackoffMs: 400 },
      });
      const outage = async () => {
        await sleep(3000);
        server.terminate();
        await server.finished();
        await sleep(1000);
        server = await startRtspListener(port);
        started.push(server);
        recordings.push(server.recording);
        await sleep(4000);
      };
      const result = await push(srv, outage(), (n) => stampedFrame(n, WIDTH, HEIGHT));
      await server.finished();
      const arrived = await stampsIn(recordings);
      console.log(`RTSP: served ${result.served}, arrived ${arrived.size}, dropped ${result.stats.droppedFrames}, reconnects ${result.stats.reconnects}\n  ${result.events.join(', ')}`);
      expect(result.threw).toEqual([]);
      expect(result.stats).toMatchObject({ disconnects: 1, reconnects: 1, state: 'closed' });
      expect([...arrived].every((n) => n < result.served)).toBe(true);
      expect(arrived.size + result.stats.droppedFrames).toBe(result.served);
    } finally {
      for (const s of started) await s.stop();
    }
  }, 60_000);
});

test('a listener that throws is an uncaught exception of the process, as from any emitter, never an abort', async () => {
  const server = await startRtmpServer();
  servers.push(server);
  const script = `
    const { Server } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
    process.on('uncaughtException', (e) => { console.log('uncaught: ' + e.message); process.exit(0); });
    (async () => {
      const srv = await Server.open(${JSON.stringify(server.liveUrl('throws'))}, { width: 64, height: 64, pixelFormat: 'gray', tune: 'zerolatency', reconnect: { retries: 100, backoffMs: 50 } });
      srv.on('disconnect', () => { throw new Error('from the listener'); });
      const frame = new Uint8Array(64 * 64);
      for (let i = 0; i < 10; i++) srv.serveFrame(frame);
      console.log('serving');
      for (;;) await srv.serveBlock(frame);
    })();`;
  const child = runChild(process.execPath, ['-e', script], { timeout: 30_000 });
  await sleep(1500);
  server.kill();
  const run = await child;
  expect(run.signal, run.stderr).toBeNull();
  expect(run.stdout).toContain('uncaught: from the listener');
});

test('after a reconnect the stream is one a player accepts: a new header, a key frame first, timestamps going on forward, the sound beside the pictures', async () => {
  // A plain TCP server taking MPEG-TS (tcp://), each connection into a file of its own, that
  // hangs up on the first one after 2 s: what the Server sends in each session, byte for byte.
  const sessions: Buffer[][] = [];
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    const chunks: Buffer[] = [];
    sessions.push(chunks);
    sockets.add(socket);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => sockets.delete(socket));
    if (sessions.length === 1) setTimeout(() => socket.destroy(), 3000);
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const url = `tcp://127.0.0.1:${(listener.address() as net.AddressInfo).port}`;
  const srv = await Server.open(url, {
    format: 'mpegts', width: WIDTH, height: HEIGHT, pixelFormat: 'gray', frameRate: FPS, preset: 'ultrafast', gopSize: FPS,
    audio: { codec: 'aac' }, reconnect: { backoffMs: 50, maxBackoffMs: 100 },
  });
  const samples = 48000 / FPS;
  for (let n = 0; n < 5 * FPS; n++) {
    await srv.serveBlock({ data: stampedFrame(n, WIDTH, HEIGHT), width: WIDTH, height: HEIGHT, pixelFormat: 'gray', pts: n, time: n / FPS, index: n, keyFrame: false, pictType: '?' });
    const tone = new Float32Array(samples * 2).map((_, i) => Math.sin(i / 20) / 4);
    await srv.serveBlock({ kind: 'audio', data: tone, sampleFormat: 'f32', sampleRate: 48000, channels: 2, samples, pts: n * samples, time: n / FPS });
  }
  await srv.close();
  for (const socket of sockets) socket.destroy();
  listener.close();
  expect(srv.stats).toMatchObject({ disconnects: 1, reconnects: 1 });
  expect(sessions.length).toBe(2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-sessions-'));
  try {
    const [first, second] = sessions.map((chunks, i) => {
      const file = path.join(dir, `session-${i}.ts`);
      fs.writeFileSync(file, Buffer.concat(chunks));
      return { video: probePackets(file, 'video'), audio: probePackets(file, 'audio') };
    });
    const video = (session: typeof first) => session.video.map((p) => ({ pts: p.time!, key: p.keyFrame }));
    const audio = (session: typeof first) => session.audio.map((p) => ({ pts: p.time! }));
    // The second session is a stream of its own: it opens (PAT/PMT, which ffprobe needs to find
    // the streams at all), its first picture is a key frame, and its times go on from the first's:
    // it starts with the last GOP sent before the drop (at most a GOP and 0.5 s back), never at 0.
    expect(video(second).length).toBeGreaterThan(0);
    expect(video(second)[0].key).toBe(true);
    expect(video(second)[0].pts).toBeGreaterThan(video(first)[0].pts + 1);
    expect(video(second)[0].pts).toBeGreaterThanOrEqual(video(first).at(-1)!.pts - 1.5);
    expect(video(second).at(-1)!.pts).toBeGreaterThan(video(first).at(-1)!.pts);
    // The sound starts with the pictures (within a frame), not before them or seconds after.
    expect(Math.abs(audio(second)[0].pts - video(second)[0].pts)).toBeLessThan(1.5 / FPS);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

