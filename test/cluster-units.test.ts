// The cluster's parts one at a time: the placement (a pure function of the state), the key
// layout, `serve --etcd`'s arguments and its refusal to start without a cluster to join, a run's
// deadline, and a node's lease renewals against real etcd members.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectEtcd } from '../lib/service/cluster/etcd';
import { Membership } from '../lib/service/cluster/membership';
import { keys, parseKey, type Assignment, type DesiredStream, type NodeRecord } from '../lib/service/cluster/keys';
import { place, type ClusterState } from '../lib/service/cluster/placement';
import { StreamSupervisor, SUPERVISION_DEFAULTS } from '../lib/service/supervisor';
import { runCli } from './helpers/cli';
import { waitUntil } from './helpers/cluster';
import { startEtcd } from './helpers/etcd';
import { fixture } from './helpers/fixtures';
import { freePort, startRtmpServer } from './helpers/servers';

function node(name: string, maxStreams = 2, state: NodeRecord['state'] = 'up'): [string, NodeRecord] {
  return [name, { name, state, advertise: null, maxStreams, startedAt: 0, load: 0, cpus: 2 }];
}

function stream(id: string, createdAt: number, desired: DesiredStream['desired'] = 'running'): [string, DesiredStream] {
  return [id, { spec: { id, input: '/x.mp4', outputs: [{ url: 'rtmp://127.0.0.1/live/x' }] }, desired, createdAt, restarts: 0 }];
}

/** A state where each placed stream runs where it is placed and is live, unless told otherwise. */
function state(o: { nodes: [string, NodeRecord][]; streams: [string, DesiredStream][]; assign?: Record<string, string>; owner?: Record<string, string>; runState?: Record<string, string> }): ClusterState {
  const assign = new Map<string, Assignment>(Object.entries(o.assign ?? {}).map(([id, n]) => [id, { node: n, at: 0 }]));
  return {
    nodes: new Map(o.nodes),
    streams: new Map(o.streams),
    assign,
    owner: new Map(Object.entries(o.owner ?? Object.fromEntries([...assign].map(([id, a]) => [id, a.node])))),
    runState: new Map(Object.entries(o.runState ?? Object.fromEntries([...assign.keys()].map((id) => [id, 'live'])))),
  };
}

describe('placement', () => {
  it('spreads new streams by each node\'s share of its capacity, oldest first, and leaves those with no room unplaced (pending)', () => {
    const moves = place(state({ nodes: [node('a', 2), node('b', 4)], streams: [stream('s3', 3), stream('s1', 1), stream('s2', 2), stream('s4', 4), stream('s5', 5), stream('s6', 6), stream('s7', 7)] }));
    expect(moves.map((m) => [m.id, m.node, m.why])).toEqual([
      ['s1', 'a', 'new'], ['s2', 'b', 'new'], ['s3', 'b', 'new'], ['s4', 'a', 'new'], ['s5', 'b', 'new'], ['s6', 'b', 'new'],
    ]);
  });

  it('keeps what runs where it is; re-places the streams of a node that is gone where there is most room (a tie: by name); takes away what is not to run', () => {
    const moves = place(state({
      nodes: [node('a'), node('c')],
      streams: [stream('s1', 1), stream('s2', 2), stream('s3', 3), stream('s4', 4, 'stopped')],
      assign: { s1: 'a', s2: 'b', s3: 'b', s4: 'a' },
    }));
    expect(moves.map((m) => [m.id, m.node, m.why])).toEqual([['s4', null, 'not running'], ['s2', 'c', 'node gone'], ['s3', 'a', 'node gone']]);
  });

  it('a stream whose node is gone and that finds no room loses its placement (pending), and a deleted one too', () => {
    const moves = place(state({ nodes: [node('a', 1)], streams: [stream('s1', 1), stream('s2', 2)], assign: { s1: 'a', s2: 'gone', s9: 'a' } }));
    expect(moves.map((m) => [m.id, m.node, m.why])).toEqual([['s9', null, 'not running'], ['s2', null, 'no capacity']]);
  });

  it('a draining node gets nothing new and hands its streams over one at a time, each once the last one runs on its new node', () => {
    const base = { nodes: [node('a', 2, 'draining'), node('b', 4)], streams: [stream('s1', 1), stream('s2', 2), stream('s3', 3)] };
    // Nothing in transit: one stream moves.
    expect(place(state({ ...base, assign: { s1: 'a', s2: 'a' } })).map((m) => [m.id, m.node, m.why])).toEqual([['s3', 'b', 'new'], ['s1', 'b', 'drain']]);
    // s1 placed on b but still owned by a (its run not stopped yet): nothing else moves.
    expect(place(state({ ...base, assign: { s1: 'b', s2: 'a', s3: 'b' }, owner: { s1: 'a', s2: 'a', s3: 'b' } }))).toEqual([]);
    // Owned by b, but b has said nothing of it yet, or says it is starting: still in transit.
    expect(place(state({ ...base, assign: { s1: 'b', s2: 'a', s3: 'b' }, runState: { s2: 'live', s3: 'live' } }))).toEqual([]);
    expect(place(state({ ...base, assign: { s1: 'b', s2: 'a', s3: 'b' }, runState: { s1: 'starting', s2: 'live', s3: 'live' } }))).toEqual([]);
    // Live on b: the next one goes.
    expect(place(state({ ...base, assign: { s1: 'b', s2: 'a', s3: 'b' } })).map((m) => [m.id, m.node, m.why])).toEqual([['s2', 'b', 'drain']]);
    // Nowhere to go: it stays.
    expect(place(state({ nodes: [node('a', 2, 'draining')], streams: [stream('s1', 1)], assign: { s1: 'a' } }))).toEqual([]);
  });
});

describe('keys', () => {
  it('are read back into their kind and name, and nothing else is taken for one', () => {
    expect(parseKey(keys.stream('s-1'))).toEqual(['streams', 's-1']);
    expect(parseKey(keys.owner('a.b'))).toEqual(['owner', 'a.b']);
    expect(parseKey(keys.leader)).toEqual(['leader', '']);
    for (const key of ['streamcoder/other/x', 'other/streams/x', 'streamcoder/streams', 'streamcoder/']) expect(parseKey(key), key).toBeNull();
  });
});

describe('serve --etcd', () => {
  const data = () => fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-cluster-units-'));

  it('refuses endpoints that are not URLs, node names it cannot use, and the cluster options without --etcd (exit 2)', async () => {
    const cases: [string[], string][] = [
      [['--etcd', '127.0.0.1:2379'], "--etcd expects http://host:port endpoints separated by commas, got '127.0.0.1:2379'"],
      [['--etcd', 'http://127.0.0.1:2379', '--node-name', 'a b'], "--node-name must be 1 to 64 letters, digits, '_', '.' or '-', got 'a b'"],
      [['--node-name', 'a'], '--node-name applies to a node of a cluster: give --etcd too'],
      [['--advertise', 'http://127.0.0.1:1'], '--advertise applies to a node of a cluster: give --etcd too'],
      [['--etcd', 'http://127.0.0.1:2379', '--listen', '0.0.0.0:0'], '--advertise is needed with --listen 0.0.0.0: the other nodes must know an address of this one they can reach'],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', data(), ...args]);
      expect([run.code, run.stderr], args.join(' ')).toEqual([2, expect.stringContaining(message)]);
    }
  });

  it('with no etcd to reach, fails within seconds, saying so (exit 1)', async () => {
    const port = await freePort();
    const started = Date.now();
    const run = await runCli(['serve', '--listen', '127.0.0.1:0', '--data', data(), '--etcd', `http://127.0.0.1:${port}`, '--node-name', 'a'], 30_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot join the cluster at http://127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("a run's deadline", () => {
  it('ends the run\'s process by itself at the deadline, and the supervisor leaves it stopped (no retry)', async () => {
    const rtmp = await startRtmpServer();
    const supervisor = new StreamSupervisor(
      { id: 'd1', input: fixture('h264-bframes.mp4'), loop: true, audio: false, outputs: [{ url: rtmp.liveUrl('d1') }] },
      { ...SUPERVISION_DEFAULTS, backoffMs: 100, maxBackoffMs: 100 },
    );
    try {
      const states: string[] = [];
      supervisor.on('change', () => states.push(supervisor.state));
      const deadline = Date.now() + 2500;
      supervisor.setDeadline(deadline);
      supervisor.start();
      const pid = supervisor.pid!;
      while (supervisor.state !== 'live' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(supervisor.state).toBe('live');
      // Later deadlines keep it going; the last one given counts.
      supervisor.setDeadline(deadline + 1000);
      await new Promise((resolve) => setTimeout(resolve, deadline + 1000 - Date.now() + 1500));
      expect([supervisor.state, supervisor.running, supervisor.restarts]).toEqual(['stopped', false, 0]);
      expect(Date.now()).toBeGreaterThan(deadline + 1000);
      expect(states).not.toContain('retrying');
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      expect(alive).toBe(false);
    } finally {
      await supervisor.stop();
      await rtmp.stop();
    }
  }, 30_000);
});

describe('the lease, with one of three etcd members dead', () => {
  it('is renewed every time (a keep-alive that fails on the dead member is sent again to another), and a node out of reach says so to the peers that ask', async () => {
    const etcd = await startEtcd(3);
    const client = connectEtcd(etcd.endpoints.split(','));
    const membership = new Membership({
      client, name: 'u', ttlSeconds: 4, token: 't', peers: () => [],
      record: () => ({ name: 'u', state: 'up', advertise: null, maxStreams: 1, startedAt: 0, load: 0, cpus: 2 }),
    });
    const states: string[] = [];
    membership.on('state', (s) => states.push(s));
    try {
      await membership.join();
      await etcd.kill((await etcd.leader() + 1) % 3);
      // 6 s: about twelve renewals, each of which picks one of the three endpoints at random.
      let renewed = 0;
      membership.on('renewed', () => renewed++);
      const until = Date.now() + 6000;
      let closest = Infinity;
      while (Date.now() < until) {
        closest = Math.min(closest, membership.deadline - Date.now());
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Renewed every 0.5 s, the deadline (TTL - 1.5 s after the last renewal) stays about 2 s
      // ahead; a renewal lost to the dead member would bring it to 1.5 s, two to 1 s.
      expect(closest).toBeGreaterThan(1600);
      expect(states).toEqual(['up']);
      expect(renewed).toBeGreaterThanOrEqual(8);
      // All of etcd gone: the node says at once that it cannot reach it.
      await Promise.all([0, 1, 2].map((i) => etcd.kill(i)));
      await waitUntil('unreachable', async () => (membership.state === 'unreachable' ? true : null), 3000);
      expect(membership.reachable).toBe(false);
    } finally {
      await membership.leave();
      client.close();
      await etcd.stop();
    }
  }, 60_000);
});
