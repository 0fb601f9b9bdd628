// A cluster of `streamcoder serve` nodes for the tests: real processes (each the leader of its
// own process group, so that a test can take a whole machine's worth away), one etcd, one token,
// and a watch on nginx-rtmp's publishers that the exactly-one-runner checks read.
import type { RtmpServer } from './servers';
import { startService, type RunningService } from './serve';

export const LEASE_TTL = 4;

export function startNode(endpoints: string, name: string, tokenFile: string, options: { maxStreams?: number; args?: string[] } = {}): Promise<RunningService> {
  return startService({
    tokenFile,
    detached: true,
    args: ['--etcd', endpoints, '--node-name', name, '--max-streams', String(options.maxStreams ?? 2), '--lease-ttl', String(LEASE_TTL), ...(options.args ?? [])],
  });
}

/** SIGKILL of a node's whole process group: the service and its streams' processes, as a dead machine. */
export function killNode(node: RunningService): Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (node.child.exitCode !== null || node.child.signalCode !== null) resolve();
    else node.child.once('exit', () => resolve());
  });
  try {
    process.kill(-node.pid, 'SIGKILL');
  } catch {
    // gone already
  }
  return exited;
}

/**
 * Polls nginx's rtmp_stat every 100 ms: the most publishers it ever counted for one name (two
 * would be two runners of one stream), and each name's time on and off the air.
 */
export class PublisherWatch {
  readonly most = new Map<string, number>();
  /** Per name: when it was last seen published, and the off-air spells that ended [from, to]. */
  private readonly lastOn = new Map<string, number>();
  readonly gaps = new Map<string, [number, number][]>();
  private readonly off = new Map<string, number>();
  private timer: NodeJS.Timeout;
  private polling = false;

  constructor(private readonly rtmp: RtmpServer) {
    this.timer = setInterval(() => void this.poll(), 100);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const counts = await this.rtmp.publishers();
      const now = Date.now();
      for (const [name, n] of counts) {
        this.most.set(name, Math.max(this.most.get(name) ?? 0, n));
        if (n > 0) {
          const from = this.off.get(name);
          if (from !== undefined) (this.gaps.get(name) ?? this.gaps.set(name, []).get(name)!).push([from, now]);
          this.off.delete(name);
          this.lastOn.set(name, now);
        }
      }
      for (const name of this.lastOn.keys()) {
        if ((counts.get(name) ?? 0) === 0 && !this.off.has(name)) this.off.set(name, this.lastOn.get(name)!);
      }
    } catch {
      // nginx busy: the next poll
    } finally {
      this.polling = false;
    }
  }

  /** Whether `name` is published now (as of the last poll). */
  on(name: string): boolean {
    return this.lastOn.has(name) && !this.off.has(name);
  }

  /** Waits until `name` is published; the time it took from `since`. */
  async until(name: string, since: number, timeoutMs = 20_000): Promise<number> {
    while (!this.on(name) || (this.lastOn.get(name) ?? 0) < since) {
      if (Date.now() - since > timeoutMs) throw new Error(`${name} was not published again within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return (this.lastOn.get(name) ?? Date.now()) - since;
  }

  /**
   * The off-air spells of `name` that ended after `since`, in ms. Ended, not began: a spell
   * begins at the last poll that saw the publisher, which may come just before `since`.
   */
  gapsAfter(name: string, since: number): number[] {
    return this.spellsAfter(name, since).map(([from, to]) => to - from);
  }

  spellsAfter(name: string, since: number): [number, number][] {
    return (this.gaps.get(name) ?? []).filter(([, to]) => to > since);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}
