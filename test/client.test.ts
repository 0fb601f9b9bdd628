// Client against real live streams: nginx-rtmp fed by the project's Server and by the ffmpeg CLI,
// GStreamer's RTSP server in play mode over TCP and UDP; sources that die and come back; misuse.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Client, Server, StreamcoderError } from '../lib';
import { fixture } from './helpers/fixtures';
import { readStamp, stampedFrame } from './helpers/stamp';
import { freePort, startRtmpServer, startRtspPlayServer, type RtmpServer } from './helpers/servers';

let rtmp: RtmpServer;
beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(() => rtmp?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishes stamped 320x240 frames 0..count-1 at 25 fps (a keyframe every 25) with Server, in the background. */
async function publishStamped(url: string, count: number): Promise<{ done: Promise<void>; served: () => number }> {
  const srv = await Server.open(url, { width: 320, height: 240, frameRate: 25, pixelFormat: 'gray', preset: 'ultrafast', tune: 'zerolatency', gopSize: 25 });
  let served = 0;
  const done = (async () => {
    for (; served < count; served++) await srv.serveBlock(stampedFrame(served, 320, 240));
    await srv.close();
  })();
  return { done, served: () => served };
}

describe('RTMP through nginx', () => {
  test('frames published by Server arrive in order (numbers read back from the pictures), the right size, at the live rate', async () => {
    // The reader joins at the next keyframe (up to 1 s) and probes 0.2 s; 10 s of frames leave
    // plenty to read.
    const publisher = await publishStamped(rtmp.liveUrl('stamped'), 250);
    await sleep(300);
    const cli = await Client.open(rtmp.liveUrl('stamped'), { pixelFormat: 'gray', cacheSize: 64, timeoutMs: 3000, lowLatency: true });
    expect(cli.info).toMatchObject({ codec: 'h264', width: 320, height: 240, pixelFormat: 'gray' });
    cli.start();
    const numbers: number[] = [];
    const arrivals: number[] = [];
    for (let frame = await cli.read(); frame && numbers.length < 60; frame = await cli.read()) {
      expect(frame.data.length).toBe(320 * 240);
      numbers.push(readStamp(frame.data, 320));
      arrivals.push(performance.now());
    }
    const stats = cli.stats;
    cli.close();
    await publisher.done;
    expect(numbers.length).toBe(60);
    // Consecutive: none lost, duplicated or reordered (the reader may join after the first).
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0] + i));
    expect(stats.dropped).toBe(0);
    // Live rate: once the backlog of the join is read, 40 frames take about 40 / 25 s to come
    // (loose bounds for a busy machine).
    const span = (arrivals[59] - arrivals[19]) / 1000;
    expect(span).toBeGreaterThan(1.6 * 0.6);
    expect(span).toBeLessThan(1.6 * 1.6);
  });

  test('lowLatency keeps what probing read: the first picture is the first keyframe after joining, not the one after', async () => {
    const publisher = await publishStamped(rtmp.liveUrl('join'), 150);
    // Join just after keyframe 25 went out: the next one, 50, is 0.9 s away.
    while (publisher.served() < 27) await sleep(5);
    const cli = await Client.open(rtmp.liveUrl('join'), { pixelFormat: 'gray', timeoutMs: 5000, lowLatency: true });
    cli.start();
    const first = await cli.read();
    cli.close();
    await publisher.done;
    // With `fflags nobuffer` (no longer set), probing threw frame 50 away and the first was 75.
    expect(first && readStamp(first.data, 320)).toBe(50);
  });

  test('a stream published by the ffmpeg CLI; extractFrame(n) gives the newest, oldest first', async () => {
    const publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-i', fixture('h264-bframes.mp4'), '-c', 'copy', '-f', 'flv', rtmp.liveUrl('cli')]);
    try {
      await sleep(300);
      await using cli = await Client.open(rtmp.liveUrl('cli'), { cacheSize: 5, timeoutMs: 3000 });
      cli.start();
      await sleep(1500);
      const newest = cli.extractFrame(3);
      expect(newest.length).toBe(3);
      expect(newest[1].index).toBe(newest[0].index + 1);
      expect(newest[2].index).toBe(newest[1].index + 1);
      // More than exist: what exists, never uninitialised memory.
      const all = cli.extractFrame(1000);
      expect(all.length).toBeLessThanOrEqual(5);
      expect(all.at(-1)!.index).toBeGreaterThanOrEqual(newest[2].index);
      expect(all.every((f) => f.data.length === 320 * 240 * 3)).toBe(true);
      // Nobody read them in order: the oldest turned over (evicted), which is no loss (dropped 0).
      expect(cli.stats.evicted).toBeGreaterThan(0);
      expect(cli.stats.dropped).toBe(0);
      expect(cli.stats.received).toBe(cli.stats.evicted + cli.stats.cached);
    } finally {
      publisher.kill('SIGKILL');
    }
  });

  test('the source dies: error (or end) arrives within timeoutMs; next() then reports it', async () => {
    const victim = await startRtmpServer();
    const publisher = await publishStamped(victim.liveUrl('x'), 250);
    publisher.done.catch(() => undefined);
    await sleep(300);
    const cli = await Client.open(victim.liveUrl('x'), { pixelFormat: 'gray', timeoutMs: 1500 });
    const events: string[] = [];
    const ended = new Promise<number>((resolve) => {
      cli.on('error', () => (events.push('error'), resolve(performance.now())));
      cli.on('end', () => (events.push('end'), resolve(performance.now())));
    });
    cli.start();
    await cli.read();
    const killed = performance.now();
    victim.kill();
    const at = await ended;
    expect(at - killed).toBeLessThan(1500 + 2000);
    expect(events.length).toBe(1);
    // What was cached can still be read, then the failure (or the end) is reported.
    let outcome: unknown = null;
    try {
      while ((await cli.read(500)) !== null);
    } catch (error) {
      outcome = error;
    }
    if (events[0] === 'error') expect(outcome).toBeInstanceOf(StreamcoderError);
    cli.close();
    await victim.stop();
  });
});

describe('MPEG-TS over UDP', () => {
  test('a udp:// source sent by the ffmpeg CLI: frames in order at the right size; when the sender stops, ERR_TIMEOUT within timeoutMs', async () => {
    const port = await freePort();
    // A live sender that neither knows nor cares whether anyone listens, as cameras and encoders
    // on a LAN do: 8 s of frames numbered by the test pattern's own counter.
    const sender = spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=8', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-f', 'mpegts', `udp://127.0.0.1:${port}?pkt_size=1316`]);
    const exited = new Promise((resolve) => sender.once('exit', resolve));
    try {
      const cli = await Client.open(`udp://127.0.0.1:${port}`, { lowLatency: true, timeoutMs: 2000, cacheSize: 64 });
      expect(cli.info).toMatchObject({ codec: 'h264', width: 320, height: 240 });
      const events: string[] = [];
      const reported = new Promise<void>((resolve) => {
        cli.on('error', (e) => (events.push(e.code), resolve())).on('end', () => (events.push('end'), resolve()));
      });
      cli.start();
      const indices: number[] = [];
      for (let i = 0; i < 50; i++) {
        const frame = await cli.read(3000);
        expect(frame?.data.length).toBe(320 * 240 * 3);
        indices.push(frame!.index);
      }
      // In order; not necessarily gap-free: UDP may drop a datagram on a loaded machine.
      for (let i = 1; i < indices.length; i++) expect(indices[i]).toBeGreaterThan(indices[i - 1]);
      await exited;
      const stopped = performance.now();
      let failure: unknown = null;
      try {
        while ((await cli.read(6000)) !== null);
      } catch (error) {
        failure = error;
      }
      // Nothing says "end" on UDP: silence for timeoutMs is the end, reported as ERR_TIMEOUT.
      expect(failure).toBeInstanceOf(StreamcoderError);
      expect((failure as StreamcoderError).code).toBe('ERR_TIMEOUT');
      expect(performance.now() - stopped).toBeLessThan(2000 + 3000);
      // The event comes through the event loop on its own path: it may follow the rejection.
      await reported;
      expect(events).toEqual(['ERR_TIMEOUT']);
      cli.close();
    } finally {
      sender.kill('SIGKILL');
    }
  });
});

describe('RTSP from GStreamer (play mode)', () => {
  test.each(['tcp', 'udp'] as const)('over %s: frames in order, right size', async (transport) => {
    const play = await startRtspPlayServer();
    try {
      await using cli = await Client.open(play.url, { transport, cacheSize: 32, lowLatency: true });
      expect(cli.info).toMatchObject({ codec: 'h264', width: 320, height: 240 });
      cli.start();
      const indices: number[] = [];
      for (let frame = await cli.read(); frame && indices.length < 20; frame = await cli.read()) {
        expect(frame.width).toBe(320);
        indices.push(frame.index);
      }
      expect(indices.length).toBe(20);
      for (let i = 1; i < indices.length; i++) expect(indices[i]).toBeGreaterThan(indices[i - 1]);
    } finally {
      await play.stop();
    }
  });

  test('reconnect: the server goes away and comes back on the same port; the stream resumes and is counted', async () => {
    const port = await freePort();
    let play = await startRtspPlayServer({ port });
    const cli = await Client.open(play.url, { transport: 'tcp', timeoutMs: 1500, reconnect: { retries: 20, backoffMs: 200 } });
    try {
      const reconnects: number[] = [];
      cli.on('reconnect', (attempt) => reconnects.push(attempt));
      cli.start();
      expect(await cli.read()).not.toBeNull();
      play.kill();
      await play.stop();
      await sleep(1000);
      play = await startRtspPlayServer({ port });
      // Frames flow again.
      const deadline = Date.now() + 15_000;
      while (cli.stats.reconnects === 0 && Date.now() < deadline) await sleep(100);
      expect(cli.stats.reconnects).toBeGreaterThanOrEqual(1);
      expect(reconnects.length).toBeGreaterThanOrEqual(1);
      const before = cli.stats.received;
      await sleep(1000);
      expect(cli.stats.received).toBeGreaterThan(before);
    } finally {
      cli.close();
      await play.stop();
    }
  }, 40_000);
});

describe('misuse and bad input', () => {
  test('a URL nothing listens on: ERR_CONNECTION_REFUSED; a refused path: a clear error', async () => {
    const port = await freePort();
    await expect(Client.open(`rtsp://127.0.0.1:${port}/live`, { timeoutMs: 3000 })).rejects.toMatchObject({ code: 'ERR_CONNECTION_REFUSED' });
    const play = await startRtspPlayServer();
    try {
      const error = await Client.open(`rtsp://127.0.0.1:${play.port}/nosuchpath`, { timeoutMs: 3000 }).catch((e) => e);
      expect(error).toBeInstanceOf(StreamcoderError);
      expect(error.message).toContain('nosuchpath');
    } finally {
      await play.stop();
    }
  });

  test('extractFrame(0), negative or fractional n: ERR_INVALID_ARGUMENT; calls after close: ERR_CLOSED; start twice: safe', async () => {
    const play = await startRtspPlayServer();
    try {
      const cli = await Client.open(play.url, { transport: 'tcp' });
      cli.start();
      cli.start();
      cli.stop();
      cli.stop();
      cli.start();
      expect(cli.running).toBe(true);
      for (const n of [0, -1, 1.5, Number.NaN]) expect(() => cli.extractFrame(n)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => Client.openSync('rtsp://x', { cacheSize: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      const pending = cli.read();
      await expect(cli.read()).rejects.toMatchObject({ code: 'ERR_BUSY' });
      await pending;
      cli.close();
      cli.close();
      expect(() => cli.extractFrame(1)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
      expect(() => cli.start()).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
      expect(() => cli.next(10)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
      await expect(cli.read()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      expect(() => cli.info).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    } finally {
      await play.stop();
    }
  });

  test('close() while the thread is blocked on a stalled source and a read waits: both return promptly', async () => {
    // ffmpeg sends MPEG-TS over TCP in real time; freezing it (SIGSTOP) stalls the connection.
    const port = await freePort();
    const sender = spawn('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '-1', '-i', fixture('h264-bframes.mp4'), '-c', 'copy', '-f', 'mpegts', `tcp://127.0.0.1:${port}?listen=1`]);
    try {
      let cli: Client | null = null;
      for (const deadline = Date.now() + 10_000; !cli; ) {
        cli = await Client.open(`tcp://127.0.0.1:${port}`, { timeoutMs: 60_000 }).catch((e) => {
          if (e.code !== 'ERR_CONNECTION_REFUSED' || Date.now() > deadline) throw e;
          return sleep(50).then(() => null);
        });
      }
      cli.start();
      expect(await cli.read()).not.toBeNull();
      sender.kill('SIGSTOP');
      await sleep(300);
      while ((await cli.read(1000).catch(() => null)) !== null);  // drain what arrived
      const waiting = cli.read(60_000).catch((e) => e);
      await sleep(200);
      const started = performance.now();
      cli.close();
      expect(performance.now() - started).toBeLessThan(2000);
      expect(await waiting).toMatchObject({ code: 'ERR_CLOSED' });
    } finally {
      sender.kill('SIGCONT');
      sender.kill('SIGKILL');
    }
  });
});
