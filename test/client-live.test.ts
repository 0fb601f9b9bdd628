// The Client on live sources with its default options: it opens fast, starts near the live edge
// (no backlog of what probing read), keeps pace, tells a publisher's end from a failure where
// nginx-rtmp says so, and its stats mean what their names say.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Client, Server, StreamcoderError, pipeline } from '../lib';
import { startRtmpServer, startRtspEndingServer, type RtmpServer } from './helpers/servers';
import { readStamp, stampedFrame } from './helpers/stamp';

let rtmp: RtmpServer;
beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(() => rtmp?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** A publisher in this process: each picture's number stamped in it, and when it was sent kept. */
function stampedPublisher(url: string): { sentAt: number[]; stop(): Promise<void> } {
  const sentAt: number[] = [];
  let publishing = true;
  const running = (async () => {
    const srv = await Server.open(url, { width: 320, height: 240, pixelFormat: 'gray', frameRate: 30, preset: 'ultrafast', gopSize: 30 });
    for (let n = 0; publishing; n++) {
      await srv.serveBlock(stampedFrame(n, 320, 240));
      sentAt[n] = performance.now();
    }
    await srv.close();
  })();
  return {
    sentAt,
    stop: async () => {
      publishing = false;
      await running;
    },
  };
}

/** The ffmpeg CLI publishes `seconds` of a test picture to `url` and stops; a Client reads it to the end. What ended the reading. */
async function readUntilThePublisherStops(url: string, timeoutMs: number): Promise<unknown> {
  const publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-t', '3', '-c:v', 'libx264',
    '-preset', 'ultrafast', '-g', '25', '-f', 'flv', url], { stdio: 'ignore' });
  try {
    await sleep(1000);
    const cli = await Client.open(url, { timeoutMs });
    cli.start();
    try {
      for await (const frame of cli) void frame;
      return null;
    } catch (error) {
      return error;
    } finally {
      cli.close();
    }
  } finally {
    publisher.kill();
  }
}

describe('default options on a live RTMP stream (30 fps, a keyframe a second)', () => {
  test('opens within 1.5 s, the first frame is at most 1 s old, 24-36 frames a second over the first 4 s', async () => {
    const { sentAt, stop } = stampedPublisher(rtmp.liveUrl('edge'));
    try {
      await sleep(3000);  // live for a while: probing would read a backlog
      const opening = performance.now();
      const cli = await Client.open(rtmp.liveUrl('edge'), { pixelFormat: 'gray' });
      const openMs = performance.now() - opening;
      cli.start();
      const started = performance.now();
      let firstAgeMs = NaN;
      let frames = 0;
      for await (const frame of cli) {
        if (frames === 0) firstAgeMs = performance.now() - sentAt[readStamp(frame.data, 320)];
        frames++;
        if (performance.now() - started >= 4000) break;
      }
      const stats = cli.stats;
      cli.close();
      console.log(`live RTMP, default options: opened in ${Math.round(openMs)} ms, first frame ${Math.round(firstAgeMs)} ms old, ` +
        `${frames} frames in the first 4 s, latencyMs ${stats.latencyMs.toFixed(1)}`);
      expect(openMs).toBeLessThan(1500);
      expect(firstAgeMs).toBeLessThanOrEqual(1000);
      expect(frames).toBeGreaterThanOrEqual(24 * 4);
      expect(frames).toBeLessThanOrEqual(36 * 4);
      // Read at the live edge by the end: what latencyMs says.
      expect(stats.latencyMs).toBeLessThan(200);
      expect(stats.dropped).toBe(0);
    } finally {
      await stop();
    }
  });
});

describe('the end of a live stream', () => {
  test('RTSP says when a stream ends (RTCP BYE): the Client reports the end, null and an end event, not an error', async () => {
    const server = await startRtspEndingServer(75);
    try {
      const cli = await Client.open(server.url, { transport: 'tcp', timeoutMs: 5000 });
      let ended = false;
      cli.on('end', () => (ended = true));
      cli.start();
      let frames = 0;
      for await (const frame of cli) frames += frame ? 1 : 0;
      expect(frames).toBeGreaterThan(50);
      await sleep(100);
      expect(ended).toBe(true);
      cli.close();
    } finally {
      await server.stop();
    }
  });

  test('RTMP cannot say: nginx-rtmp closing the connection when its publisher stops (idle_streams off) reaches FFmpeg as an I/O error, as a crash would', async () => {
    const error = await readUntilThePublisherStops(rtmp.endsUrl('stops'), 5000);
    expect(error).toBeInstanceOf(StreamcoderError);
    expect((error as StreamcoderError).code).toBe('ERR_IO');
  });

  test('with nginx-rtmp\'s default (idle_streams on) the server says nothing: the stall is ERR_TIMEOUT after timeoutMs', async () => {
    const error = await readUntilThePublisherStops(rtmp.liveUrl('idles'), 1500);
    expect(error).toBeInstanceOf(StreamcoderError);
    expect((error as StreamcoderError).code).toBe('ERR_TIMEOUT');
  });
});

test('relaying a live input with pipeline(): it is not paced a second time, so the relay adds well under a second', async () => {
  const { sentAt, stop } = stampedPublisher(rtmp.liveUrl('relay-src'));
  const controller = new AbortController();
  try {
    await sleep(1500);
    const relay = pipeline({ input: rtmp.liveUrl('relay-src'), output: rtmp.liveUrl('relay-dst'), decoder: { pixelFormat: 'gray' }, server: { preset: 'ultrafast' }, signal: controller.signal });
    relay.catch(() => undefined);
    await sleep(2500);
    const cli = await Client.open(rtmp.liveUrl('relay-dst'), { pixelFormat: 'gray' });
    cli.start();
    const delays: number[] = [];
    const started = performance.now();
    for await (const frame of cli) {
      delays.push(performance.now() - sentAt[readStamp(frame.data, 320)]);
      if (performance.now() - started > 3000) break;
    }
    cli.close();
    // After the reader's own start (its first frames come out of probing in a burst).
    const steady = delays.slice(Math.floor(delays.length / 2)).sort((a, b) => a - b);
    const median = steady[Math.floor(steady.length / 2)];
    console.log(`relay of a live input: publisher to reader ${Math.round(median)} ms (median of the last ${steady.length} frames)`);
    expect(median).toBeLessThan(1000);
  } finally {
    controller.abort();
    await stop();
  }
});
