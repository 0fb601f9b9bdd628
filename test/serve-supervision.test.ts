// Supervision, crash isolation and persistence of streamcoder serve, against the running service
// (the real CLI), a real nginx-rtmp and the ffmpeg CLI as the independent reader: three streams
// live; nginx killed and restarted (retrying, then live again); one stream's process SIGKILLed
// and another's crashed with SIGSEGV (the service and the third go on, the two restart); the
// service restarted (the streams resume); a frozen input (restarted by the stall watchdog).
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './helpers/fixtures';
import { startRtmpServer, type RtmpServer } from './helpers/servers';
import { childPids, isAlive, readLive, startService, type RunningService, type StreamResource } from './helpers/serve';

let nginx: RtmpServer;
let service: RunningService;
const IDS = ['one', 'two', 'three'];

beforeAll(async () => {
  nginx = await startRtmpServer();
  service = await startService();
});

afterAll(async () => {
  await service?.stop();
  await nginx?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function all(): Promise<StreamResource[]> {
  const answer = await service.api<{ streams: StreamResource[] }>('GET', '/v1/streams');
  expect(answer.status).toBe(200);
  return answer.body.streams;
}

/** Polls until every stream in `ids` is live; returns them. */
async function allLive(ids: string[], timeoutMs = 30_000): Promise<StreamResource[]> {
  return Promise.all(ids.map((id) => service.waitFor(id, (s) => s.state === 'live' && s.outputs[0].frames > 0, timeoutMs)));
}

describe('streamcoder serve under faults', () => {
  it('runs three streams an independent reader can play', async () => {
    for (const id of IDS) {
      const answer = await service.api('POST', '/v1/streams', {
        id, input: fixture('av.mp4'), outputs: [{ url: nginx.liveUrl(id), size: '160x120', bitrate: 200000, preset: 'ultrafast' }], loop: true,
      });
      expect(answer.status, answer.text).toBe(201);
    }
    const streams = await allLive(IDS);
    expect(new Set(streams.map((s) => s.pid)).size).toBe(3);
    expect((await all()).map((s) => s.id).sort()).toEqual([...IDS].sort());
    for (const id of IDS) {
      const read = await readLive(nginx.liveUrl(id), 10);
      expect(read.ok, read.stderr.slice(-500)).toBe(true);
    }
  });

  it('goes retrying when nginx dies and live again when it is back', async () => {
    const seen = new Map<string, Set<string>>(IDS.map((id) => [id, new Set()]));
    const unexplained: string[] = [];
    nginx.kill();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && IDS.some((id) => !seen.get(id)!.has('retrying'))) {
      for (const s of await all()) {
        seen.get(s.id)!.add(s.state);
        // Retrying always says why.
        if (s.state === 'retrying' && (s.lastError === null || s.lastError.resolvedAt !== null)) unexplained.push(`${s.id}: ${JSON.stringify(s.lastError)}`);
      }
      await sleep(150);
    }
    for (const id of IDS) expect([...seen.get(id)!], id).toContain('retrying');
    expect(unexplained).toEqual([]);
    await sleep(1000);
    nginx = await startRtmpServer(nginx.port);
    const back = await allLive(IDS, 45_000);
    for (const s of back) expect(s.outputs[0].state).toBe('live');
    const read = await readLive(nginx.liveUrl('two'), 10);
    expect(read.ok, read.stderr.slice(-500)).toBe(true);
  });

  it('survives a stream process killed (SIGKILL) or crashing in native code (SIGSEGV): the others go on, those restart', async () => {
    const before = Object.fromEntries((await allLive(IDS)).map((s) => [s.id, s]));
    expect(childPids(service.pid).sort()).toEqual(IDS.map((id) => before[id].pid!).sort());
    process.kill(before.one.pid!, 'SIGKILL');
    process.kill(before.two.pid!, 'SIGSEGV');
    const one = await service.waitFor('one', (s) => /killed/.test(s.lastError?.message ?? ''));
    expect(one.lastError!.message).toMatch(/killed by SIGKILL/);
    const two = await service.waitFor('two', (s) => /killed/.test(s.lastError?.message ?? ''));
    expect(two.lastError!.message).toMatch(/killed by SIGSEGV/);
    const health = await service.api('GET', '/healthz', undefined, null);
    expect(health.body).toEqual({ ok: true, streams: 3 });
    const after = Object.fromEntries((await allLive(IDS)).map((s) => [s.id, s]));
    expect(after.one.pid).not.toBe(before.one.pid);
    expect(after.two.pid).not.toBe(before.two.pid);
    expect(after.one.restarts).toBe(1);
    expect(after.two.restarts).toBe(1);
    // The third never noticed: same process, same run, frames still counting up.
    const three = await service.waitFor('three', (s) => s.outputs[0].frames > before.three.outputs[0].frames + 25, 5000);
    expect(three.pid).toBe(before.three.pid);
    expect(three.restarts).toBe(0);
    // Its last error is still the one from nginx's outage before, marked resolved.
    expect(three.lastError).toEqual(before.three.lastError);
    expect(three.lastError?.resolvedAt ?? 'none').not.toBeNull();
  });

  it('resumes the streams after a restart of the service; a stopped one stays stopped', async () => {
    expect((await service.api<StreamResource>('POST', '/v1/streams/three/stop')).body.state).toBe('stopped');
    const pids = (await all()).map((s) => s.pid).filter((pid): pid is number => pid !== null);
    expect(pids).toHaveLength(2);
    expect(await service.stop()).toBe(130);
    for (const pid of pids) expect(isAlive(pid), `stream process ${pid} after the service stopped`).toBe(false);
    service = await startService({ dataDir: service.dataDir });
    const resumed = await allLive(['one', 'two']);
    expect(resumed.every((s) => s.restarts === 0)).toBe(true);
    expect((await service.api<StreamResource>('GET', '/v1/streams/three')).body.state).toBe('stopped');
    expect((await service.api<StreamResource>('POST', '/v1/streams/three/start')).status).toBe(200);
    await allLive(IDS);
  });

  it('leaves no stream process behind when the service itself is SIGKILLed', async () => {
    const pids = childPids(service.pid);
    expect(pids).toHaveLength(3);
    service.child.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && pids.some(isAlive)) await sleep(100);
    expect(pids.filter(isAlive)).toEqual([]);
    // And the next start resumes them all.
    service = await startService({ dataDir: service.dataDir });
    await allLive(IDS);
    for (const id of IDS) expect((await service.api('DELETE', `/v1/streams/${id}`)).status).toBe(204);
    expect(childPids(service.pid)).toEqual([]);
  });

  it('restarts a stream whose input stalls (the stall watchdog)', async () => {
    // A live input from nginx, fed by the ffmpeg CLI; freezing the feeder (SIGSTOP) leaves the
    // connection open with nothing coming.
    const feeder: ChildProcess = spawn('ffmpeg', ['-hide_banner', '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-f', 'flv', nginx.liveUrl('feed')], { stdio: 'ignore' });
    try {
      await sleep(1500);
      const created = await service.api('POST', '/v1/streams', { id: 'relay', input: nginx.liveUrl('feed'), outputs: [{ url: nginx.liveUrl('relayed'), preset: 'ultrafast', bitrate: 200000 }] });
      expect(created.status, created.text).toBe(201);
      await service.waitFor('relay', (s) => s.state === 'live' && s.outputs[0].frames > 10);
      feeder.kill('SIGSTOP');
      const stalled = await service.waitFor('relay', (s) => s.lastError !== null, 25_000);
      expect(stalled.lastError!.message).toMatch(/^stalled: no frame for \d+ s/);
      feeder.kill('SIGCONT');
      const back = await service.waitFor('relay', (s) => s.state === 'live' && s.restarts >= 1 && s.outputs[0].frames > 10, 40_000);
      expect(back.attempt.of).toBe(10);
    } finally {
      feeder.kill('SIGKILL');
    }
    expect((await service.api('DELETE', '/v1/streams/relay')).status).toBe(204);
  });
});
