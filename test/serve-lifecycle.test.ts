// A stream's life at its edges, against the running service: a push no server takes fails, is
// retried with the backoff doubling (counted: attempt n of m) and ends `failed`; an operator's
// start gives it a fresh count. A stream whose input ends is `finished`, and stays so across a
// restart of the service (it is not pushed again). A server that accepts and never answers ends
// the run, which is retried.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './helpers/fixtures';
import { freePort, startRtmpServer, type RtmpServer } from './helpers/servers';
import { startService, type RunningService, type StreamResource } from './helpers/serve';

let service: RunningService;
let nginx: RtmpServer;

beforeAll(async () => {
  nginx = await startRtmpServer();
  service = await startService({ args: ['--max-attempts', '3'] });
});

afterAll(async () => {
  await service?.stop();
  await nginx?.stop();
});

describe('a stream that keeps failing', () => {
  it('is retried with a doubling backoff, then failed after max-attempts, and restarted fresh by start', async () => {
    const nowhere = `rtmp://127.0.0.1:${await freePort()}/live/secret-key`;
    const created = await service.api('POST', '/v1/streams', { id: 'doomed', input: fixture('av.mp4'), outputs: [{ url: nowhere, size: '160x120', preset: 'ultrafast' }], loop: true });
    expect(created.status).toBe(201);
    const waits: number[] = [];
    const attempts: number[] = [];
    let last: StreamResource | null = null;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      last = (await service.api<StreamResource>('GET', '/v1/streams/doomed')).body;
      if (last.state === 'failed') break;
      if (last.state === 'retrying' && last.nextRetryAt && last.lastError) {
        const wait = Date.parse(last.nextRetryAt) - Date.parse(last.lastError.at);
        if (!waits.includes(wait)) {
          waits.push(wait);
          attempts.push(last.attempt.n);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(last!.state).toBe('failed');
    // --backoff 0.5: 500 ms after the first failure, 1000 after the second; the third is the last.
    expect(waits).toEqual([500, 1000]);
    expect(attempts).toEqual([2, 3]);
    expect(last!.attempt).toEqual({ n: 3, of: 3 });
    expect(last!.restarts).toBe(2);
    expect(last!.nextRetryAt).toBeNull();
    expect(last!.pid).toBeNull();
    expect(last!.lastError!.message).not.toContain('secret-key');
    expect(last!.lastError!.message.length).toBeGreaterThan(10);
    const metrics = await service.api<string>('GET', '/metrics');
    expect(metrics.text).toContain('streamcoder_stream_state{stream="doomed",state="failed"} 1');
    expect(metrics.text).toContain('streamcoder_stream_restarts_total{stream="doomed"} 2');
    const started = await service.api<StreamResource>('POST', '/v1/streams/doomed/start');
    expect(started.body.state).toBe('starting');
    expect(started.body.attempt).toEqual({ n: 1, of: 3 });
    expect((await service.api('DELETE', '/v1/streams/doomed')).status).toBe(204);
  });
});

describe('a stream whose input ends', () => {
  it('is finished, and stays finished across a restart of the service', async () => {
    const created = await service.api('POST', '/v1/streams', { id: 'once', input: fixture('av.mp4'), outputs: [{ url: nginx.liveUrl('once'), preset: 'ultrafast' }] });
    expect(created.status).toBe(201);
    const finished = await service.waitFor('once', (s) => s.state === 'finished', 20_000);
    expect(finished.lastError).toBeNull();
    expect(finished.restarts).toBe(0);
    expect(await service.stop()).toBe(130);
    service = await startService({ dataDir: service.dataDir, args: ['--max-attempts', '3'] });
    const after = await service.api<StreamResource>('GET', '/v1/streams/once');
    expect(after.body.state).toBe('finished');
    expect(after.body.pid).toBeNull();
  });
});

describe('a server that accepts and never answers', () => {
  // The library's own open timeout (10 s) ends the run before the stall watchdog (6 + 10 s for a
  // first frame) would; either way the run ends and is retried.
  it('ends the run at the open timeout and retries it', async () => {
    const sockets: net.Socket[] = [];
    const mute = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const { port } = mute.address() as net.AddressInfo;
    try {
      const created = await service.api('POST', '/v1/streams', { id: 'mute', input: fixture('av.mp4'), outputs: [{ url: `rtmp://127.0.0.1:${port}/live/mute`, size: '160x120', preset: 'ultrafast' }], loop: true });
      expect(created.status).toBe(201);
      const ended = await service.waitFor('mute', (s) => s.lastError !== null, 30_000);
      expect(ended.outputs[0].frames).toBe(0);
      expect(ended.state).toBe('retrying');
      expect(ended.lastError!.message).toBe(`Cannot open 'rtmp://127.0.0.1:${port}/live/***': no answer within 10000 ms`);
      expect(sockets.length).toBeGreaterThan(0);
    } finally {
      expect((await service.api('DELETE', '/v1/streams/mute')).status).toBe(204);
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => mute.close(resolve));
    }
  });
});
