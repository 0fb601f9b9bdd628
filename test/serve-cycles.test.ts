// 50 create/delete cycles against the running service leave nothing behind: no stream process
// (zombies included), no thread, no file descriptor (socket, pipe, file) of the service, no
// connection to nginx-rtmp, no stream in the streams file.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './helpers/fixtures';
import { startRtmpServer, type RtmpServer } from './helpers/servers';
import { childPids, startService, type RunningService } from './helpers/serve';

let nginx: RtmpServer;
let service: RunningService;

beforeAll(async () => {
  nginx = await startRtmpServer();
  service = await startService();
});

afterAll(async () => {
  await service?.stop();
  await nginx?.stop();
});

/** TCP connections in ESTABLISHED state with `port` at one end (from /proc/net/tcp and tcp6). */
function establishedWith(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4 || fields[3] !== '01') continue;
      if (fields[1].endsWith(`:${hex}`) || fields[2].endsWith(`:${hex}`)) count++;
    }
  }
  return count;
}

function footprint(pid: number) {
  return {
    children: childPids(pid).length,
    threads: fs.readdirSync(`/proc/${pid}/task`).length,
    fds: fs.readdirSync(`/proc/${pid}/fd`).length,
    nginxConnections: establishedWith(nginx.port),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('50 create/delete cycles', () => {
  it('leave no process, thread, descriptor or connection behind', async () => {
    const cycle = async (i: number, waitLive: boolean) => {
      const id = `cycle-${i}`;
      const created = await service.api('POST', '/v1/streams', {
        id, input: fixture('av.mp4'), outputs: [{ url: nginx.liveUrl(id), size: '160x120', bitrate: 200000, preset: 'ultrafast' }], loop: true,
      });
      expect(created.status, created.text).toBe(201);
      if (waitLive) await service.waitFor(id, (s) => s.state === 'live' && s.outputs[0].frames > 0);
      const deleted = await service.api('DELETE', `/v1/streams/${id}`);
      expect(deleted.status).toBe(204);
    };
    // Warm-up: the first calls grow the service's pools (libuv's threads, fastify's caches).
    await cycle(-2, true);
    await cycle(-1, false);
    await sleep(500);
    const before = footprint(service.pid);
    expect(before.children).toBe(0);
    expect(before.nginxConnections).toBe(0);
    for (let i = 0; i < 50; i++) await cycle(i, i % 5 === 0);
    let after = footprint(service.pid);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (after.children > 0 || after.nginxConnections > 0 || after.fds > before.fds || after.threads > before.threads)) {
      await sleep(200);
      after = footprint(service.pid);
    }
    expect(after).toEqual(before);
    expect((await service.api<{ streams: unknown[] }>('GET', '/v1/streams')).body.streams).toEqual([]);
    const stored = JSON.parse(fs.readFileSync(path.join(service.dataDir, 'streams.json'), 'utf8'));
    expect(stored.streams).toEqual([]);
  });
});
