// How many streams one etcd can carry for `serve --etcd`: the writes a cluster makes are fenced
// status writes (a transaction comparing the stream's owner key, then a put of ~2.7 KB under a
// lease), one per live stream every 3 s, and every node watches every key. This measures, on
// this machine, against a real etcd (Debian's etcd-server) on loopback:
//  - fenced status writes per second, one writer at a time and 16 at once;
//  - the same with N watchers of the prefix (as N nodes), each counting the events it receives;
// and prints the streams that rate carries at one write per stream every 3 s, halved for room.
// npm run bench:etcd [-- --writes 3000 --watchers 0,4,16]
import { parseArgs } from 'node:util';
import { Etcd3 } from 'etcd3';
import { startEtcd } from '../test/helpers/etcd';

const { values } = parseArgs({ options: { writes: { type: 'string', default: '3000' }, watchers: { type: 'string', default: '0,4,16' } } });
const WRITES = Number(values.writes);
const STATUS = JSON.stringify({ padding: 'x'.repeat(2700) });

async function run(client: Etcd3, leaseId: string, concurrency: number, watchers: number): Promise<{ perSecond: number; delivered: number }> {
  const watches = [];
  let delivered = 0;
  for (let i = 0; i < watchers; i++) {
    const w = await client.watch().prefix('bench/status/').create();
    w.on('put', () => delivered++);
    watches.push(w);
  }
  // The owner keys the writes are fenced on: 64 streams.
  const owners: string[] = [];
  for (let i = 0; i < 64; i++) {
    const put = await client.put(`bench/owner/${i}`).value('node').lease(leaseId).exec();
    owners.push(put.header.revision);
  }
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < WRITES) {
      const i = next++ % 64;
      const result = await client.if(`bench/owner/${i}`, 'Create', '==', owners[i]).then(client.put(`bench/status/${i}`).value(STATUS).lease(leaseId)).commit();
      if (!result.succeeded) throw new Error('a fenced write was refused');
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  // Let the watchers catch up before counting.
  const until = Date.now() + 10_000;
  while (delivered < WRITES * watchers && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const w of watches) await w.cancel();
  await client.delete().prefix('bench/').exec();
  return { perSecond: WRITES / seconds, delivered };
}

async function main(): Promise<void> {
  const etcd = await startEtcd(1);
  const client = new Etcd3({ hosts: etcd.endpoints });
  try {
    const lease = client.lease(30);
    const leaseId = String(await lease.grant());
    console.log(`etcd ${etcd.endpoints}, ${WRITES} fenced writes of ${STATUS.length} bytes each`);
    for (const watchers of values.watchers!.split(',').map(Number)) {
      for (const concurrency of [1, 16]) {
        const { perSecond, delivered } = await run(client, leaseId, concurrency, watchers);
        const streams = Math.floor((perSecond * 3) / 2);
        console.log(`  ${String(watchers).padStart(2)} watchers, ${String(concurrency).padStart(2)} at once: ${perSecond.toFixed(0)} writes/s` +
          `${watchers ? `, ${delivered} of ${WRITES * watchers} events delivered` : ''}; at one write per stream every 3 s, half of it carries ${streams} streams`);
      }
    }
    await lease.revoke();
  } finally {
    client.close();
    await etcd.stop();
  }
}

void main();
