// Real etcd servers for the cluster tests (Debian's etcd-server), started on free loopback ports
// with their data in a temp dir: one member, or three for the loss of a leader. Fails loudly when
// a member does not come up; never skips.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './servers';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  child: ChildProcess | null;
}

export interface EtcdCluster {
  members: EtcdMember[];
  /** The client URLs, comma-separated, as --etcd takes them. */
  endpoints: string;
  /** SIGKILL of member `i`, as a crash. */
  kill(i: number): Promise<void>;
  /** Starts member `i` again on its data and ports; resolves once it answers. */
  restart(i: number): Promise<void>;
  /** The member that leads now (asked of each one's /v3/maintenance/status). */
  leader(): Promise<number>;
  stop(): Promise<void>;
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    return response.ok && (await response.json()).health === 'true';
  } catch {
    return false;
  }
}

export async function startEtcd(size: 1 | 3 = 1): Promise<EtcdCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-etcd-'));
  const members: EtcdMember[] = [];
  for (let i = 0; i < size; i++) {
    members.push({ name: `e${i}`, clientUrl: `http://127.0.0.1:${await freePort()}`, peerUrl: `http://127.0.0.1:${await freePort()}`, child: null });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  let logs = '';
  const launch = (m: EtcdMember) => {
    const child = spawn('etcd', [
      '--name', m.name, '--data-dir', path.join(dir, m.name),
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', path.basename(dir),
      // Loopback: a quick heartbeat and election, so a lost leader is replaced in about a second.
      '--heartbeat-interval', '100', '--election-timeout', '1000', '--log-level', 'warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (chunk) => (logs = (logs + chunk).slice(-8000)));
    m.child = child;
  };
  const waitHealthy = async (list: EtcdMember[]) => {
    const deadline = Date.now() + 20_000;
    for (const m of list) {
      while (!(await healthy(m.clientUrl))) {
        if (Date.now() > deadline) throw new Error(`etcd member ${m.name} did not become healthy at ${m.clientUrl} within 20 s: ${logs}`);
        if (m.child?.exitCode !== null && m.child?.exitCode !== undefined) throw new Error(`etcd member ${m.name} exited (code ${m.child.exitCode}): ${logs}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  members.forEach(launch);
  await waitHealthy(members);
  const killed = (m: EtcdMember) => new Promise<void>((resolve) => {
    const child = m.child;
    m.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
  return {
    members,
    endpoints: members.map((m) => m.clientUrl).join(','),
    kill: (i) => killed(members[i]),
    async restart(i) {
      launch(members[i]);
      // A lone member answers /health only with a quorum: wait for its port instead when others are down.
      await waitHealthy([members[i]]);
    },
    async leader() {
      for (const [i, m] of members.entries()) {
        if (!m.child) continue;
        try {
          const response = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
          const status = await response.json() as { header: { member_id: string }; leader: string };
          if (status.leader === status.header.member_id) return i;
        } catch {
          // down or busy: the next one
        }
      }
      throw new Error('no etcd member says it leads');
    },
    async stop() {
      await Promise.all(members.map(killed));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
