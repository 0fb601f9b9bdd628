// `streamcoder serve` on several machines (issue 21): real etcd (Debian's etcd-server), real
// nodes as separate process groups, nginx-rtmp counting publishers per stream name (rtmp_stat)
// all along, and independent readers. Exactly one runner per stream, never two: nginx never
// counts two publishers of one name, nor logs "already publishing".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchChromium } from './helpers/browser';
import { killNode, LEASE_TTL, PublisherWatch, startNode, waitUntil } from './helpers/cluster';
import { startEtcd, type EtcdCluster } from './helpers/etcd';
import { fixture } from './helpers/fixtures';
import { childPids, isAlive, isRunning, readLive, type RunningService } from './helpers/serve';
import { startRtmpServer, type RtmpServer } from './helpers/servers';

type Resource = { id: string; state: string; node: string | null; pid: number | null; stale?: boolean };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-cluster-'));
const tokenFile = path.join(dir, 'token');
fs.writeFileSync(tokenFile, `${'c'.repeat(43)}\n`, { mode: 0o600 });

let rtmp: RtmpServer;
let watch: PublisherWatch;
const all: RunningService[] = [];

beforeAll(async () => {
  rtmp = await startRtmpServer(undefined, { stat: true });
  watch = new PublisherWatch(rtmp);
}, 30_000);

afterAll(async () => {
  watch?.stop();
  await Promise.all(all.map(killNode));
  await rtmp?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function spec(id: string) {
  return { id, input: fixture('h264-bframes.mp4'), loop: true, audio: false, outputs: [{ url: rtmp.liveUrl(id) }] };
}

async function list(node: RunningService): Promise<Resource[]> {
  const answer = await node.api<{ streams: Resource[] }>('GET', '/v1/streams');
  expect(answer.status).toBe(200);
  return answer.body.streams;
}

async function liveOn(node: RunningService, id: string): Promise<Resource> {
  return waitUntil(`${id} live`, async () => {
    const s = (await node.api<Resource>('GET', `/v1/streams/${id}`)).body;
    return s.state === 'live' && watch.on(id) ? s : null;
  }, 30_000);
}

/** Exactly one runner, all along: never two publishers of a name, never refused as a duplicate. */
function expectNoDuplicate(): void {
  expect([...watch.most].filter(([, n]) => n > 1)).toEqual([]);
  expect(rtmp.log()).not.toMatch(/already publishing/);
}

describe('one etcd member, four nodes', () => {
  let etcd: EtcdCluster;
  const nodes = new Map<string, RunningService>();
  const node = async (name: string, maxStreams = 2) => {
    const started = await startNode(etcd.endpoints, name, tokenFile, { maxStreams });
    all.push(started);
    nodes.set(name, started);
    return started;
  };
  const runnerOf = async (id: string) => (await nodes.get('a')!.api<Resource>('GET', `/v1/streams/${id}`)).body.node;

  beforeAll(async () => {
    etcd = await startEtcd(1);
    await Promise.all(['a', 'b'].map((name) => node(name)));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([...nodes.values()].map(killNode));
    await etcd?.stop();
  });

  test('streams spread within capacity, every node lists all with its node, a stream with no room is pending and starts when a node joins', async () => {
    const [a, b] = [nodes.get('a')!, nodes.get('b')!];
    for (const [i, id] of ['s1', 's2', 's3', 's4', 's5'].entries()) {
      const created = await (i % 2 ? b : a).api<Resource>('POST', '/v1/streams', spec(id));
      expect(created.status, created.text).toBe(201);
      expect(created.body.id).toBe(id);
    }
    // Two nodes of two: four run, one waits.
    const settled = await waitUntil('four live, one pending', async () => {
      const streams = await list(b);
      return streams.filter((s) => s.state === 'live').length === 4 && streams.filter((s) => s.state === 'pending').length === 1 ? streams : null;
    }, 30_000);
    const byNode = (streams: Resource[], name: string) => streams.filter((s) => s.node === name && s.state === 'live').length;
    expect([byNode(settled, 'a'), byNode(settled, 'b')]).toEqual([2, 2]);
    const pending = settled.find((s) => s.state === 'pending')!;
    expect(pending.node).toBeNull();
    // Every node answers the same list, each stream with the node that runs it.
    const fromA = await list(a);
    expect(fromA.map((s) => [s.id, s.node])).toEqual(settled.map((s) => [s.id, s.node]));
    const nodesView = (await a.api<{ nodes: { name: string; state: string; running: number; maxStreams: number; streams: string[] }[]; leader: string }>('GET', '/v1/nodes')).body;
    expect(nodesView.nodes.map((n) => [n.name, n.state, n.running, n.maxStreams])).toEqual([['a', 'up', 2, 2], ['b', 'up', 2, 2]]);
    expect(['a', 'b']).toContain(nodesView.leader);
    // Each node's metrics: its own streams, its lease, the cluster's placement.
    const metrics = (await a.api('GET', '/metrics')).text;
    expect(metrics).toMatch(/^streamcoder_cluster_lease_up 1$/m);
    expect(metrics).toMatch(/^streamcoder_cluster_nodes 2$/m);
    expect(metrics).toMatch(/^streamcoder_cluster_streams\{placement="wanted"\} 5$/m);
    expect(metrics).toMatch(/^streamcoder_cluster_streams\{placement="pending"\} 1$/m);
    expect(metrics).toMatch(new RegExp(`^streamcoder_cluster_placer ${nodesView.leader === 'a' ? 1 : 0}$`, 'm'));
    expect(metrics).toMatch(/^streamcoder_streams\{state="live"\} 2$/m);
    // A third node: the pending stream starts there.
    await node('c');
    const started = await liveOn(a, pending.id);
    expect(started.node).toBe('c');
    expect(watch.on(pending.id)).toBe(true);
    expectNoDuplicate();
  }, 120_000);

  test('stop, start, restart and delete through a node that does not run the stream', async () => {
    const id = 's1';
    const runner = await runnerOf(id);
    const other = nodes.get(['a', 'b', 'c'].find((n) => n !== runner)!)!;
    const stopped = await other.api<Resource>('POST', `/v1/streams/${id}/stop`);
    expect(stopped.status, stopped.text).toBe(200);
    expect(stopped.body.state).toBe('stopped');
    await waitUntil(`${id} off the air`, async () => !watch.on(id));
    const again = await other.api<Resource>('POST', `/v1/streams/${id}/start`);
    expect(again.status).toBe(200);
    const live = await liveOn(other, id);
    const restarted = await other.api<Resource>('POST', `/v1/streams/${id}/restart`);
    expect(restarted.status).toBe(200);
    const relive = await waitUntil(`${id} live in a new run`, async () => {
      const s = (await other.api<Resource>('GET', `/v1/streams/${id}`)).body;
      return s.state === 'live' && s.pid !== live.pid ? s : null;
    });
    expect(relive.node).not.toBeNull();
    expect(isAlive(live.pid!)).toBe(false);
    const deleted = await other.api('DELETE', `/v1/streams/${id}`);
    expect(deleted.status).toBe(204);
    expect((await nodes.get('a')!.api('GET', `/v1/streams/${id}`)).status).toBe(404);
    await waitUntil(`${id} gone from nginx`, async () => !watch.on(id));
    expect(isAlive(relive.pid!)).toBe(false);
    expectNoDuplicate();
  }, 120_000);

  test('a publish URL signed by one node is admitted by another (one secret for the cluster), and a forged one by none', async () => {
    const [a, b] = [nodes.get('a')!, nodes.get('b')!];
    const signed = await a.api<{ url: string }>('POST', '/v1/publish-urls', { app: 'auth', stream: 'cam9', ttlSeconds: 60 });
    expect(signed.status).toBe(201);
    const token = new URL(signed.body.url).searchParams.get('token')!;
    const ask = (service: RunningService, t: string) => fetch(`${service.url}/v1/rtmp/on-publish`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ call: 'publish', app: 'auth', name: 'cam9', token: t }),
    }).then((r) => r.status);
    expect([await ask(a, token), await ask(b, token)]).toEqual([200, 200]);
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    expect([await ask(a, forged), await ask(b, forged)]).toEqual([403, 403]);
  });

  test(`SIGKILL of a node's process group: its streams are live on other nodes within 10 s (lease ${LEASE_TTL} s)`, async () => {
    await node('d');
    const streams = await list(nodes.get('a')!);
    const victim = streams.find((s) => s.state === 'live' && s.node !== null)!.node!;
    const moved = streams.filter((s) => s.node === victim).map((s) => s.id);
    expect(moved.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    await killNode(nodes.get(victim)!);
    nodes.delete(victim);
    const times: number[] = [];
    for (const id of moved) times.push(await watch.until(id, killedAt + 100, 15_000));
    // An independent reader sees pictures of each again.
    for (const id of moved) expect((await readLive(rtmp.liveUrl(id), 10)).ok).toBe(true);
    console.log(`failover after SIGKILL of node ${victim}: ${times.map((t) => `${(t / 1000).toFixed(1)} s`).join(', ')} until nginx counted the publisher again`);
    for (const t of times) expect(t).toBeLessThan(10_000);
    for (const id of moved) expect(await runnerOf(id)).not.toBe(victim);
    expectNoDuplicate();
    // Restarted at once under its name (as systemd would), it waits for its old lease to go.
    const back = await node(victim);
    expect(back.output()).toContain(`node ${victim} of the cluster`);
  }, 120_000);

  test('a second live node of the same name is refused', async () => {
    const name = [...nodes.keys()][0];
    await expect(startNode(etcd.endpoints, name, tokenFile)).rejects.toThrow(new RegExp(`a node named '${name}' is a member already`));
  }, 60_000);

  test('SIGSTOP of a node for longer than its lease, then SIGCONT: its runs stopped themselves in time, the others took over, no duplicate, it joins again', async () => {
    const streams = await list(nodes.get([...nodes.keys()][0])!);
    const frozen = streams.find((s) => s.state === 'live')!.node!;
    const service = nodes.get(frozen)!;
    const observer = [...nodes.values()].find((n) => n !== service)!;
    const ids = streams.filter((s) => s.node === frozen).map((s) => s.id);
    const runPids = childPids(service.pid);
    expect(runPids.length).toBeGreaterThanOrEqual(ids.length);
    const stoppedAt = Date.now();
    process.kill(service.pid, 'SIGSTOP');
    try {
      // The service cannot act, yet its streams' processes end themselves at its lease's
      // deadline, before the lease can expire at etcd and another node take them.
      for (const id of ids) await watch.until(id, stoppedAt + LEASE_TTL * 1000, 20_000);
      // Exited (a zombie until its stopped parent reaps it).
      for (const pid of runPids) expect(isRunning(pid), `run ${pid} of the frozen node`).toBe(false);
      for (const id of ids) expect((await observer.api<Resource>('GET', `/v1/streams/${id}`)).body.node).not.toBe(frozen);
    } finally {
      process.kill(service.pid, 'SIGCONT');
    }
    const awake = service.output().length;
    // Awake: it finds its lease gone, writes nothing in the others' place, and joins again.
    await waitUntil('the node said its lease expired', async () => /its lease expired/.test(service.output()), 15_000);
    await waitUntil('the node is a member again', async () => {
      const view = (await observer.api<{ nodes: { name: string }[] }>('GET', '/v1/nodes')).body;
      return view.nodes.some((n) => n.name === frozen);
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (const id of ids) {
      const s = (await observer.api<Resource>('GET', `/v1/streams/${id}`)).body;
      expect([s.state, s.node === frozen]).toEqual(['live', false]);
      // Awake with an old view of the keys, it started none of them again.
      expect(service.output().slice(awake)).not.toContain(`stream ${id}: runs on ${frozen}`);
    }
    expectNoDuplicate();
  }, 120_000);

  test('etcd killed for 10 s: the pushes go on, the API answers within 2 s (reads stale, writes 503), and after it comes back nothing restarts', async () => {
    const before = (await list(nodes.get([...nodes.keys()][0])!)).filter((s) => s.state === 'live');
    expect(before.length).toBeGreaterThan(0);
    const downAt = Date.now();
    await etcd.kill(0);
    while (Date.now() - downAt < 10_000) {
      for (const service of nodes.values()) {
        const t0 = Date.now();
        const read = await service.api<{ streams: Resource[]; stale?: boolean }>('GET', '/v1/streams');
        const readMs = Date.now() - t0;
        const t1 = Date.now();
        const write = await service.api('POST', '/v1/streams', spec('never'));
        const writeMs = Date.now() - t1;
        expect([read.status, readMs < 2000, write.status, writeMs < 2000], `read ${readMs} ms, write ${writeMs} ms: ${write.text}`).toEqual([200, true, 503, true]);
        if (Date.now() - downAt > 3000) expect(read.body.stale).toBe(true);
      }
      for (const s of before) expect(watch.on(s.id), `${s.id} on the air`).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await etcd.restart(0);
    const after = await waitUntil('the cluster state current again', async () => {
      const read = await nodes.get([...nodes.keys()][0])!.api<{ streams: Resource[]; stale?: boolean }>('GET', '/v1/streams');
      return read.body.stale ? null : read.body.streams;
    }, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // The same runs, on the same nodes: no restart storm; never off the air.
    for (const s of before) {
      const now = after.find((x) => x.id === s.id)!;
      expect([now.state, now.node, now.pid]).toEqual(['live', s.node, s.pid]);
      expect(watch.gapsAfter(s.id, downAt)).toEqual([]);
    }
    expectNoDuplicate();
  }, 120_000);

  test("a write about a run whose owner key is no longer the run's is refused, and that run stops at once", async () => {
    const client = new Etcd3({ hosts: etcd.endpoints });
    try {
      const streams = await list(nodes.get([...nodes.keys()][0])!);
      const victim = streams.find((s) => s.state === 'live')!;
      const service = nodes.get(victim.node!)!;
      const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec((await service.api('GET', '/metrics')).text)?.[1] ?? NaN);
      const refusedBefore = await metric('streamcoder_cluster_fenced_writes_total');
      // The owner key taken away under the run (as a lease expiry would): its token is stale now.
      await client.delete().key(`streamcoder/owner/${victim.id}`);
      // Its next status write (within a few seconds) is refused; the run is killed, and the node
      // takes the stream again under a new key, in a new run.
      const again = await waitUntil('the stream running again in a new run', async () => {
        const s = (await service.api<Resource>('GET', `/v1/streams/${victim.id}`)).body;
        return s.state === 'live' && s.pid !== victim.pid ? s : null;
      }, 30_000);
      expect(await metric('streamcoder_cluster_fenced_writes_total')).toBeGreaterThan(refusedBefore);
      expect(service.output()).toMatch(new RegExp(`stream ${victim.id}: a write of ${victim.node}'s run was refused`));
      expect(isRunning(victim.pid!)).toBe(false);
      expect(again.node).toBe(victim.node);
      expectNoDuplicate();
    } finally {
      client.close();
    }
  }, 60_000);

  test('the status page of any node shows every stream of the cluster with its node', async () => {
    const observer = [...nodes.values()][0];
    const streams = await list(observer);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${observer.url}/#token=${encodeURIComponent(observer.token)}`);
      await page.waitForFunction((n) => document.querySelectorAll('tbody.stream').length === n, { timeout: 15_000 }, streams.length);
      const shown = await page.$$eval('tbody.stream', (groups) => groups.map((g) => [(g as HTMLElement).dataset.id, g.querySelector('.node')!.textContent]));
      expect(shown.sort()).toEqual(streams.map((s) => [s.id, s.node ? `on ${s.node}` : 'on no node yet']).sort());
      expect(new Set(streams.map((s) => s.node)).size).toBeGreaterThan(1);
    } finally {
      await browser.close();
    }
  }, 60_000);

  test('the load on etcd: writes a second per stream and per node, keys and bytes (printed for the README)', async () => {
    const client = new Etcd3({ hosts: etcd.endpoints });
    try {
      const writes = async () => {
        let total = 0;
        for (const service of nodes.values()) total += Number(/^streamcoder_cluster_etcd_writes_total (\d+)/m.exec((await service.api('GET', '/metrics')).text)![1]);
        return total;
      };
      const running = (await list(nodes.get([...nodes.keys()][0])!)).filter((s) => s.state === 'live').length;
      const w0 = await writes();
      const t0 = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      const rate = (await writes() - w0) / ((Date.now() - t0) / 1000);
      const kvs = (await client.getAll().prefix('streamcoder/').exec()).kvs;
      const bytes = kvs.reduce((n, kv) => n + kv.key.length + kv.value.length, 0);
      const status = kvs.filter((kv) => kv.key.toString().startsWith('streamcoder/status/'));
      const statusBytes = status.reduce((n, kv) => n + kv.value.length, 0) / Math.max(1, status.length);
      console.log(`etcd load, ${nodes.size} nodes and ${running} live streams, steady: ${rate.toFixed(2)} writes/s in all ` +
        `(${(rate / Math.max(1, running)).toFixed(2)} per stream), plus one lease renewal per node every ${LEASE_TTL / 8} s; ` +
        `${kvs.length} keys, ${bytes} bytes (a status ${Math.round(statusBytes)} bytes)`);
      // A live stream writes its status every 3 s; the nodes their record every 15 s.
      expect(rate).toBeLessThan(running * 0.5 + nodes.size * 0.2 + 0.5);
    } finally {
      client.close();
    }
  }, 60_000);

  test('SIGTERM drains a node: its streams move one at a time, each off the air for about one start, then it exits', async () => {
    const streams = await list(nodes.get([...nodes.keys()][0])!);
    const counts = new Map<string, number>();
    for (const s of streams) if (s.node && s.state === 'live') counts.set(s.node, (counts.get(s.node) ?? 0) + 1);
    const [leaving] = [...counts].sort((x, y) => y[1] - x[1])[0];
    const ids = streams.filter((s) => s.node === leaving && s.state === 'live').map((s) => s.id);
    const service = nodes.get(leaving)!;
    nodes.delete(leaving);
    const since = Date.now();
    // SIGTERM ends the CLI as Ctrl-C does (130), once the drain is done.
    const code = await service.stop();
    expect(code).toBe(130);
    const observer = [...nodes.values()][0];
    for (const id of ids) {
      const s = await liveOn(observer, id);
      expect(s.node).not.toBe(leaving);
    }
    const gaps = ids.flatMap((id) => watch.gapsAfter(id, since));
    console.log(`drain of node ${leaving}: ${ids.length} stream(s) moved, off the air ${gaps.map((g) => `${(g / 1000).toFixed(1)} s`).join(', ')}`);
    expect(gaps.length).toBe(ids.length);
    for (const gap of gaps) expect(gap).toBeLessThan(5000);
    // One at a time: no two streams were off the air at once.
    const spells = ids.flatMap((id) => watch.spellsAfter(id, since));
    spells.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spells.length; i++) expect(spells[i][0]).toBeGreaterThanOrEqual(spells[i - 1][1] - 250);
    expect(service.output()).toMatch(/draining/);
    expectNoDuplicate();
  }, 120_000);
});

describe('three etcd members', () => {
  let etcd: EtcdCluster;
  const nodes: RunningService[] = [];

  beforeAll(async () => {
    etcd = await startEtcd(3);
    for (const name of ['x', 'y', 'z']) {
      const started = await startNode(etcd.endpoints, name, tokenFile, { maxStreams: 2 });
      all.push(started);
      nodes.push(started);
    }
  }, 90_000);
  afterAll(async () => {
    await Promise.all(nodes.map(killNode));
    await etcd?.stop();
  });

  test('the etcd leader killed together with a node: its streams are live elsewhere within 10 s', async () => {
    for (const id of ['t1', 't2', 't3']) expect((await nodes[0].api('POST', '/v1/streams', spec(id))).status).toBe(201);
    const streams = await waitUntil('three live', async () => {
      const list = (await nodes[1].api<{ streams: Resource[] }>('GET', '/v1/streams')).body.streams;
      return list.every((s) => s.state === 'live' && watch.on(s.id)) && list.length === 3 ? list : null;
    }, 30_000);
    const victim = streams[0].node!;
    const moved = streams.filter((s) => s.node === victim).map((s) => s.id);
    const leader = await etcd.leader();
    const outputAt = new Map(nodes.map((n) => [n, n.output().length]));
    const killedAt = Date.now();
    await Promise.all([etcd.kill(leader), killNode(nodes.find((n) => n.output().includes(`node ${victim} of the cluster`))!)]);
    const times: number[] = [];
    for (const id of moved) times.push(await watch.until(id, killedAt + 100, 20_000));
    console.log(`failover after SIGKILL of node ${victim} and of etcd's leader (member ${leader}): ${times.map((t) => `${(t / 1000).toFixed(1)} s`).join(', ')}`);
    for (const t of times) expect(t).toBeLessThan(10_000);
    // Not asserted: a survivor stops its own streams if etcd's election outlasts its deadline
    // (its lease's TTL less 1.5 s since its last renewal), as it must; a quick election does not.
    const stops = nodes.filter((n) => n.output().slice(outputAt.get(n) ?? 0).includes('could not renew its lease in time'));
    console.log(`survivors that stopped their streams during etcd's election: ${stops.length}`);
    const survivor = nodes.find((n) => !n.output().includes(`node ${victim} of the cluster`))!;
    for (const id of moved) {
      const s = (await survivor.api<Resource>('GET', `/v1/streams/${id}`)).body;
      expect(s.node).not.toBe(victim);
    }
    expectNoDuplicate();
  }, 120_000);
});
