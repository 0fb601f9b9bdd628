// The failover when etcd's leader dies with a node, round after round: three etcd members, three
// `serve --etcd` nodes (lease 4 s, as shipped), three streams into nginx-rtmp. Each round SIGKILLs
// etcd's leader and the process group of the node that runs the first stream, times until nginx
// counts each moved stream's publisher again, counts the survivors that stopped their own streams
// (an election longer than their deadline), then restarts both. It prints each round's timeline
// (the nodes' events, etcd's new leader) and a summary.
// npm run bench:etcd-failover [-- --rounds 8 --lease-ttl 4]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killNode, PublisherWatch, startNode, waitUntil } from '../test/helpers/cluster';
import { startEtcd } from '../test/helpers/etcd';
import { fixture } from '../test/helpers/fixtures';
import type { RunningService } from '../test/helpers/serve';
import { startRtmpServer } from '../test/helpers/servers';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '8' }, 'lease-ttl': { type: 'string', default: '4' } } });
const ROUNDS = Number(values.rounds);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-failover-'));
const tokenFile = path.join(dir, 'token');
fs.writeFileSync(tokenFile, `${'c'.repeat(43)}\n`, { mode: 0o600 });
const rtmp = await startRtmpServer(undefined, { stat: true });
const watch = new PublisherWatch(rtmp);
const etcd = await startEtcd(3);
const nodes = new Map<string, RunningService>();
let roundStart = 0;
const stamp = (line: string) => console.log(`${((Date.now() - roundStart) / 1000).toFixed(2).padStart(6)} s  ${line}`);

async function start(name: string): Promise<void> {
  const node = await startNode(etcd.endpoints, name, tokenFile, { maxStreams: 2, args: ['--lease-ttl', values['lease-ttl']] });
  node.child.stdout!.on('data', (chunk) => {
    if (roundStart) for (const line of String(chunk).split('\n').filter((l) => /^\d{4}-/.test(l))) stamp(`[${name}] ${line.slice(25)}`);
  });
  nodes.set(name, node);
}

const failovers: number[] = [];
const elections: number[] = [];
let survivorStops = 0;
try {
  for (const name of ['x', 'y', 'z']) await start(name);
  const any = () => [...nodes.values()][0];
  for (const id of ['f1', 'f2', 'f3']) {
    await any().api('POST', '/v1/streams', { id, input: fixture('h264-bframes.mp4'), loop: true, audio: false, outputs: [{ url: rtmp.liveUrl(id) }] });
  }
  for (let round = 1; round <= ROUNDS; round++) {
    roundStart = 0;
    const streams = await waitUntil('three live', async () => {
      const list = (await any().api<{ streams: { id: string; state: string; node: string }[] }>('GET', '/v1/streams')).body.streams;
      return list.length === 3 && list.every((s) => s.state === 'live' && watch.on(s.id)) ? list : null;
    }, 60_000);
    const victim = streams[0].node;
    const moved = streams.filter((s) => s.node === victim).map((s) => s.id);
    const leader = await etcd.leader();
    const victimNode = nodes.get(victim)!;
    nodes.delete(victim);
    const outputAt = new Map([...nodes].map(([name, n]) => [name, n.output().length]));
    console.log(`round ${round}: SIGKILL of node ${victim} (runs ${moved.join(', ')}) and of etcd member ${leader}, its leader`);
    roundStart = Date.now();
    await Promise.all([etcd.kill(leader), killNode(victimNode)]);
    void (async () => {
      for (;;) {
        try {
          const now = await etcd.leader();
          elections.push(Date.now() - roundStart);
          return stamp(`etcd member ${now} leads`);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    })();
    for (const id of moved) {
      failovers.push(await watch.until(id, roundStart + 100, 30_000));
      stamp(`${id} published again`);
    }
    survivorStops += [...nodes].filter(([name, n]) => n.output().slice(outputAt.get(name)).includes('could not renew its lease in time')).length;
    await etcd.restart(leader);
    await start(victim);
  }
} finally {
  watch.stop();
  await Promise.all([...nodes.values()].map(killNode));
  await etcd.stop();
  await rtmp.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
const range = (list: number[]) => `${(Math.min(...list) / 1000).toFixed(1)} to ${(Math.max(...list) / 1000).toFixed(1)} s`;
console.log(`\n${ROUNDS} rounds, lease ${values['lease-ttl']} s: ${failovers.length} failovers in ${range(failovers)}; etcd elected a leader in ${range(elections)}; ` +
  `${survivorStops} of ${ROUNDS * 2} surviving nodes stopped their own streams during the election`);
