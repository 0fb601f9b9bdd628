// Decoder on real network sources: an MPEG-TS stream served over TCP by the ffmpeg CLI. Then the
// sender is frozen (SIGSTOP) mid-stream: a read must end with ERR_TIMEOUT within timeoutMs, and
// close() must interrupt a read that is blocked waiting for data.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, expect, test } from 'vitest';
import { Decoder, StreamcoderError } from '../lib';
import { freePort } from './helpers/servers';
import { fixture } from './helpers/fixtures';
import { probeFrameCount } from './helpers/ffmpeg-cli';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
});

/** ffmpeg listening on a loopback TCP port, to send `file` as MPEG-TS to its one client. */
async function serveOverTcp(file: string, realtime: boolean): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('ffmpeg', ['-v', 'error', ...(realtime ? ['-re'] : []), '-i', file, '-c', 'copy', '-f', 'mpegts', `tcp://127.0.0.1:${port}?listen=1`], { stdio: 'ignore' });
  children.push(child);
  return { url: `tcp://127.0.0.1:${port}`, child };
}

/** Opens `url` as soon as ffmpeg listens there (it refuses until then), within 10 s. */
async function openWhenListening(url: string, timeoutMs: number): Promise<Decoder> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await Decoder.open(url, { timeoutMs });
    } catch (error) {
      if ((error as StreamcoderError).code !== 'ERR_CONNECTION_REFUSED' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

test('reads every frame of a stream served over TCP', async () => {
  const file = fixture('h264-bframes.mp4');
  const { url } = await serveOverTcp(file, false);
  await using dec = await openWhenListening(url, 5000);
  expect(dec.info).toMatchObject({ codec: 'h264', width: 320, height: 240, format: 'mpegts' });
  const indices: number[] = [];
  for await (const frame of dec) indices.push(frame.index);
  expect(indices).toEqual([...Array(probeFrameCount(file)).keys()]);
});

test('a source that stalls mid-stream: ERR_TIMEOUT within timeoutMs; close() interrupts a blocked read', async () => {
  const { url, child } = await serveOverTcp(fixture('h264-bframes.mp4'), true);
  const dec = await openWhenListening(url, 700);
  expect(await dec.read()).not.toBeNull();
  child.kill('SIGSTOP');
  // Drain what is buffered, then the read that waits for the frozen sender times out.
  const started = Date.now();
  let error: unknown = null;
  while (Date.now() - started < 10_000) {
    try {
      if ((await dec.read()) === null) break;
    } catch (e) {
      error = e;
      break;
    }
  }
  expect(error).toBeInstanceOf(StreamcoderError);
  expect((error as StreamcoderError).code).toBe('ERR_TIMEOUT');
  expect(Date.now() - started).toBeLessThan(8000);
  dec.close();

  // A longer timeout, and close() called while the read is blocked: it settles at once.
  const again = await serveOverTcp(fixture('h264-bframes.mp4'), true);
  const blocked = await openWhenListening(again.url, 60_000);
  await blocked.read();
  again.child.kill('SIGSTOP');
  await new Promise((resolve) => setTimeout(resolve, 200));
  const pending = (async () => {
    for (;;) if ((await blocked.read()) === null) return null;
  })().catch((e: unknown) => e);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const closeStarted = Date.now();
  blocked.close();
  const outcome = await pending;
  expect(Date.now() - closeStarted).toBeLessThan(3000);
  expect(outcome).toBeInstanceOf(StreamcoderError);
  expect((outcome as StreamcoderError).code).toBe('ERR_CLOSED');
});
