// A Server with `reconnect` against a real nginx-rtmp that the test kills (SIGKILL) and restarts
// on the same port, or freezes (SIGSTOP) and thaws: the push goes on, every frame served either
// reaches the server (its number, stamped in the picture, is read back from what nginx recorded)
// or is counted as dropped, and the two add up exactly. Refusals end the push at once.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import { Decoder, Server, StreamcoderError, type WriterStats } from '../lib';
import { freePort, startRtmpServer, type RtmpServer } from './helpers/servers';
import { readStamp, stampedFrame } from './helpers/stamp';

const WIDTH = 320;
const HEIGHT = 240;
const FPS = 25;

const servers: RtmpServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

/** Every stamped number in the FLV files nginx recorded (a reconnect's publish appends). */
async function stampsIn(files: string[]): Promise<Set<number>> {
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
      seen.add(readStamp(frame.data, WIDTH));
    }
  }
  return seen;
}

/**
 * How long an independent reader (the ffmpeg CLI) takes to decode a picture of `url`, from now;
 * Infinity when it has none within `limitMs`.
 */
function firstPicture(url: string, limitMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    // No probing beyond the stream's own description: the time is the server's, not ffmpeg's.
    const reader = spawn('ffmpeg', ['-v', 'error', '-analyzeduration', '0', '-probesize', '32', '-i', url, '-frames:v', '1', '-f', 'null', '-'], { stdio: 'ignore' });
    const timer = setTimeout(() => reader.kill('SIGKILL'), limitMs);
    reader.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? performance.now() - started : Infinity);
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
  until.then(() => (done = true));
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
  return { served: n, stats: srv.stats, events, threw };
}

describe('reconnect to nginx-rtmp', () => {
  test('killed 10 times over 60 s and restarted on its port after 0.2-3 s: nothing reaches the caller, 10 reconnects, every frame arrived or counted', async () => {
    const port = await freePort();
    let server = await startRtmpServer(port);
    servers.push(server);
    const name = 'kills';
    const recordings = [server.recordingOf(name)];
    const srv = await Server.open(server.recordUrl(name), {
      width: WIDTH, height: HEIGHT, pixelFormat: 'gray', frameRate: FPS, preset: 'ultrafast', tune: 'zerolatency', gopSize: FPS,
      timeoutMs: 2000, reconnect: { backoffMs: 100, maxBackoffMs: 400, outageBufferSeconds: 1.5 },
    });
    const seenAgainMs: number[] = [];
    const outages = async () => {
      await sleep(3000);
      for (let i = 0; i < 10; i++) {
        server.kill();
        await sleep(outageMs(i, 10));
        server = await startRtmpServer(port);
        servers.push(server);
        recordings.push(server.recordingOf(name));
        seenAgainMs.push(await firstPicture(server.recordUrl(name), 5000));
        await sleep(Math.max(0, 2500 - seenAgainMs.at(-1)!));
      }
      await sleep(3000);
    };
    const started = performance.now();
    const result = await push(srv, outages(), (n) => stampedFrame(n, WIDTH, HEIGHT));
    const seconds = (performance.now() - started) / 1000;
    await sleep(500);
    const arrived = await stampsIn(recordings);
    console.log(`killed 10x in ${seconds.toFixed(1)} s: served ${result.served}, arrived ${arrived.size}, dropped ${result.stats.droppedFrames}, ` +
      `reconnects ${result.stats.reconnects}, down ${Math.round(result.stats.downtimeMs)} ms, seen again after ${seenAgainMs.map((ms) => Math.round(ms)).join(' ')} ms\n  ${result.events.join(', ')}`);
    expect(result.threw).toEqual([]);
    expect(seconds).toBeGreaterThanOrEqual(60);
    expect(result.stats.reconnects).toBe(10);
    expect(result.stats.disconnects).toBe(10);
    expect(result.events.filter((e) => e.startsWith('reconnect'))).toHaveLength(10);
    expect(result.stats.state).toBe('closed');
    for (const ms of seenAgainMs) expect(ms).toBeLessThan(2000);
    expect([...arrived].every((n) => n < result.served)).toBe(true);
    expect(arrived.size + result.stats.droppedFrames).toBe(result.served);
  }, 150_000);
});
