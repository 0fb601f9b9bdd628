// The streams of a cluster of `streamcoder serve` nodes coordinated by etcd (see keys.ts for the
// keys). Every node answers the whole API: reads from its StateCache, writes to the desired
// state in etcd, which the node that runs the stream acts on. Each node runs a level-triggered
// reconcile loop: it starts what is placed on it once it holds the stream's owner key, stops what
// is not, and writes its runs' status fenced by that key's revision. One node, elected, places.
// Kept in the .d.ts: the published types compile whatever the user's `types` and `lib` say.
/// <reference types="node" preserve="true" />
import crypto from 'node:crypto';
import os from 'node:os';
import type { Etcd3 } from 'etcd3';
import { escapeControl, ServiceError } from '../service';
import { runBounds, type InputPolicy, type StreamSpec } from '../spec';
import type { Desired } from '../store';
import type { NodeView, StreamResource, Streams } from '../streams';
import { StreamSupervisor, type SupervisionOptions } from '../supervisor';
import { streamView } from '../view';
import { CALL_TIMEOUT_MS, connectEtcd, withinTime } from './etcd';
import { keys, type DesiredStream, type NodeRecord } from './keys';
import { Membership } from './membership';
import { place } from './placement';
import { StateCache } from './state-cache';

export interface ClusterOptions {
  hosts: string[];
  nodeName: string;
  /** Streams this node runs at most. */
  maxStreams: number;
  /** This node's API, as its peers reach it (set once it listens). */
  advertise: string | null;
  leaseTtlSeconds: number;
  supervision: SupervisionOptions;
  inputPolicy: InputPolicy;
  token: string;
  /** How long a drain (SIGTERM) may take before the streams left are stopped here. */
  drainTimeoutMs?: number;
  onEvent?: (line: string) => void;
}

/** The longest a write through the API waits for etcd: the API answers within 2 s. */
const WRITE_TIMEOUT_MS = 1500;
/** How long a command waits to see its effect (a stop done, a stream gone) before answering. */
const EFFECT_WAIT_MS = 6000;
/** A run's status is written on every change of state, and at least this often. */
const STATUS_EVERY_MS = 3000;

interface Run {
  supervisor: StreamSupervisor;
  /** The owner key's create revision: every write about the run is fenced by it. */
  token: string;
  restarts: number;
  lastStatusAt: number;
  statusQueued: boolean;
}

export class ClusterService implements Streams {
  readonly client: Etcd3;
  readonly cache: StateCache;
  readonly membership: Membership;
  private readonly runs = new Map<string, Run>();
  private readonly acquiring = new Set<string>();
  /** Runs being stopped: their owner keys are let go only once their processes have exited. */
  private readonly stopping = new Set<Promise<void>>();
  private state: 'up' | 'draining' = 'up';
  private reconcileQueued = false;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private placing = false;
  /** Writes about a run that etcd refused because the run no longer held its owner key. */
  fencedWrites = 0;
  /** Runs stopped because the lease could not be kept (the deadline passed, or it was lost). */
  fencedStops = 0;
  readonly startedAt = Date.now();

  constructor(readonly options: ClusterOptions) {
    this.client = connectEtcd(options.hosts);
    this.cache = new StateCache(this.client);
    this.membership = new Membership({
      client: this.client,
      name: options.nodeName,
      ttlSeconds: options.leaseTtlSeconds,
      record: () => this.record(),
      peers: () => [...this.cache.nodes.values()].map((n) => ({ name: n.value.name, advertise: n.value.advertise })),
      token: options.token,
    });
  }

  get name(): string {
    return this.options.nodeName;
  }

  private record(): NodeRecord {
    return {
      name: this.name, state: this.state, advertise: this.options.advertise, maxStreams: this.options.maxStreams,
      startedAt: this.startedAt, load: Math.round(os.loadavg()[0] * 100) / 100, cpus: os.cpus().length,
    };
  }

  private event(line: string): void {
    this.options.onEvent?.(escapeControl(line));
  }

  /** Joins the cluster: lease, record, the state read and watched, the loops started. */
  async join(): Promise<void> {
    // A node of this name restarted after a crash finds its last record until that lease
    // expires: it waits that long. A record that stays is another live node of the same name.
    const until = Date.now() + (this.options.leaseTtlSeconds + 2) * 1000;
    while ((await withinTime(this.client.get(keys.node(this.name)).string(), CALL_TIMEOUT_MS * 2, "reading this node's record")) !== null) {
      if (Date.now() > until) throw new Error(`a node named '${this.name}' is a member already (its lease holds ${keys.node(this.name)}): give each node its own --node-name`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await this.membership.join();
    await this.cache.load();
    this.cache.on('change', () => this.queueReconcile());
    this.membership.on('renewed', () => this.extendDeadlines());
    this.membership.on('lost', () => void this.onLeaseLost());
    this.membership.on('state', (state) => this.event(`node ${this.name}: etcd ${state === 'up' ? 'reached' : state}`));
    this.timers.push(setInterval(() => this.queueReconcile(), 1000));
    this.timers.push(setInterval(() => this.checkDeadline(), 250));
    // The record's load figure, now and then: one write per node every 15 s.
    this.timers.push(setInterval(() => void this.membership.putRecord().catch(() => {}), 15_000));
    this.queueReconcile();
  }

  /** The publish-token secret of the cluster, made by the first node that asks. */
  async publishSecret(): Promise<Buffer> {
    const made = crypto.randomBytes(32).toString('base64');
    await withinTime(this.client.if(keys.publishSecret, 'Create', '==', 0).then(this.client.put(keys.publishSecret).value(made)).commit(), CALL_TIMEOUT_MS * 2, 'making the publish secret');
    const secret = await withinTime(this.client.get(keys.publishSecret).string(), CALL_TIMEOUT_MS * 2, 'reading the publish secret');
    return Buffer.from(secret ?? made, 'base64');
  }

  /** The advertised URL, once the API listens; written into the record. */
  async advertise(url: string): Promise<void> {
    this.options.advertise = url;
    await this.membership.putRecord().catch(() => {});
  }

  // ---- the loop ----

  private queueReconcile(): void {
    if (this.reconcileQueued || this.closed) return;
    this.reconcileQueued = true;
    setImmediate(() => {
      this.reconcileQueued = false;
      this.reconcile();
    });
  }

  private reconcile(): void {
    if (this.closed || this.membership.state === 'lost') return;
    if (this.membership.state === 'up') {
      void this.lead();
      this.runWhatIsPlacedHere();
    }
    // Stopping what is no longer ours needs no etcd: it happens even while etcd is away.
    for (const [id, run] of this.runs) {
      const desired = this.cache.streams.get(id)?.value;
      const placedHere = this.cache.assign.get(id)?.value.node === this.name;
      if (!desired || desired.desired !== 'running' || !placedHere) void this.stopRun(id, 'no longer placed here');
      else if (desired.restarts !== run.restarts) {
        run.restarts = desired.restarts;
        void run.supervisor.restart();
      } else if (Date.now() - run.lastStatusAt > STATUS_EVERY_MS) this.queueStatus(id);
    }
  }

  private runWhatIsPlacedHere(): void {
    // Nothing new starts on a lease not renewed lately: after a freeze this node's view of the
    // keys is old until the watch catches up, and its lease may be gone.
    if (!this.membership.reachable || Date.now() >= this.membership.deadline) return;
    for (const [id, held] of this.cache.streams) {
      if (held.value.desired !== 'running' || this.runs.has(id) || this.acquiring.has(id)) continue;
      if (this.cache.assign.get(id)?.value.node !== this.name) continue;
      const owner = this.cache.owner.get(id);
      if (owner && owner.value !== this.name) continue; // its last runner has not let go yet
      void this.acquire(id, held.value);
    }
  }

  /** Takes the owner key (only where nobody holds it), then runs the stream under its revision. */
  private async acquire(id: string, desired: DesiredStream): Promise<void> {
    const leaseId = this.membership.leaseId;
    if (!leaseId) return;
    this.acquiring.add(id);
    try {
      const existing = this.cache.owner.get(id);
      let token: string;
      this.membership.writes++;
      if (existing && existing.value === this.name) {
        // Ours already (a run stopped here whose key could not be deleted): only if etcd says
        // the key is still the one seen, under this node's current lease.
        const result = await this.client.if(keys.owner(id), 'Create', '==', existing.createRevision).and(keys.owner(id), 'Lease', '==', leaseId).commit();
        if (!result.succeeded) return;
        token = existing.createRevision;
      } else {
        const result = await this.client.if(keys.owner(id), 'Create', '==', 0)
          .then(this.client.put(keys.owner(id)).value(this.name).lease(leaseId))
          .commit();
        if (!result.succeeded) return;
        token = result.header.revision;
      }
      if (this.closed || this.membership.state !== 'up' || this.runs.has(id)) return;
      const supervisor = new StreamSupervisor(desired.spec, this.options.supervision, desired.createdAt, runBounds(desired.spec, this.options.inputPolicy));
      const run: Run = { supervisor, token, restarts: desired.restarts, lastStatusAt: 0, statusQueued: false };
      this.runs.set(id, run);
      supervisor.setDeadline(this.membership.deadline);
      supervisor.on('change', () => this.onRunChange(id, run));
      supervisor.start();
      this.event(`stream ${id}: runs on ${this.name}`);
    } catch {
      // etcd did not answer: the next reconcile tries again
    } finally {
      this.acquiring.delete(id);
    }
  }

  private onRunChange(id: string, run: Run): void {
    this.queueStatus(id);
    if (run.supervisor.state === 'finished') void this.fencedPut(id, run, keys.stream(id), () => {
      const held = this.cache.streams.get(id)?.value;
      return held ? JSON.stringify({ ...held, desired: 'finished' satisfies Desired }) : null;
    });
  }

  private queueStatus(id: string): void {
    const run = this.runs.get(id);
    if (!run || run.statusQueued) return;
    run.statusQueued = true;
    setTimeout(() => {
      run.statusQueued = false;
      if (this.runs.get(id) !== run) return;
      run.lastStatusAt = Date.now();
      void this.fencedPut(id, run, keys.status(id), () => JSON.stringify(this.localView(run)));
    }, 100);
  }

  /**
   * Writes `key` only while the run still holds its owner key with the same revision. A refusal
   * means another run may be on the air with this stream: this one stops at once.
   */
  private async fencedPut(id: string, run: Run, key: string, value: () => string | null): Promise<void> {
    const leaseId = this.membership.leaseId;
    const text = value();
    if (!leaseId || text === null || this.membership.state !== 'up') return;
    try {
      this.membership.writes++;
      const put = this.client.put(key).value(text);
      const result = await this.client.if(keys.owner(id), 'Create', '==', run.token)
        .then(key === keys.status(id) ? put.lease(leaseId) : put)
        .commit();
      if (!result.succeeded) {
        this.fencedWrites++;
        this.event(`stream ${id}: a write of ${this.name}'s run was refused (its owner key is gone or another's): stopped here`);
        await this.stopRun(id, 'fenced', true);
      }
    } catch {
      // etcd did not answer: written again at the next change or period
    }
  }

  /** Stops a run here; `kill`: at once (fencing), else gracefully. Then lets go of its keys. */
  private async stopRun(id: string, why: string, kill = false): Promise<void> {
    const run = this.runs.get(id);
    if (!run) return;
    this.runs.delete(id);
    const stopped = kill ? run.supervisor.kill() : run.supervisor.stop();
    this.stopping.add(stopped);
    await stopped;
    this.stopping.delete(stopped);
    this.event(`stream ${id}: stopped on ${this.name} (${why})`);
    if (this.membership.state !== 'up') return;
    try {
      this.membership.writes++;
      await this.client.if(keys.owner(id), 'Create', '==', run.token)
        .then(this.client.delete().key(keys.status(id)), this.client.delete().key(keys.owner(id)))
        .commit();
    } catch {
      // left to the lease: the keys go with it
    }
  }

  private extendDeadlines(): void {
    const deadline = this.membership.deadline;
    for (const run of this.runs.values()) run.supervisor.setDeadline(deadline);
  }

  /** Past the deadline nothing of this node may still push: the lease may expire elsewhere. */
  private checkDeadline(): void {
    if (this.runs.size === 0 || Date.now() < this.membership.deadline) return;
    this.event(`node ${this.name}: could not renew its lease in time: stopping its ${this.runs.size} stream(s) before another node may take them`);
    for (const id of [...this.runs.keys()]) {
      this.fencedStops++;
      void this.stopRun(id, 'lease deadline', true);
    }
  }

  private async onLeaseLost(): Promise<void> {
    this.event(`node ${this.name}: its lease expired: its streams are stopped here and it joins again`);
    for (const id of [...this.runs.keys()]) {
      this.fencedStops++;
      await this.stopRun(id, 'lease lost', true);
    }
    // A new membership: the old one's keys went with its lease.
    while (!this.closed) {
      try {
        await this.membership.join();
        this.queueReconcile();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  // ---- the placer ----

  private async lead(): Promise<void> {
    if (this.placing || !this.membership.leaseId) return;
    this.placing = true;
    try {
      if (this.cache.leader === null) {
        this.membership.writes++;
        await this.client.if(keys.leader, 'Create', '==', 0).then(this.client.put(keys.leader).value(this.name).lease(this.membership.leaseId)).commit();
        return; // the watch brings the leader key: placing starts at the next reconcile
      }
      if (this.cache.leader.value !== this.name) return;
      const leaderRevision = this.cache.leader.createRevision;
      const c = this.cache;
      const moves = place({
        streams: new Map([...c.streams].map(([id, h]) => [id, h.value])),
        nodes: new Map([...c.nodes].map(([n, h]) => [n, h.value])),
        assign: new Map([...c.assign].map(([id, h]) => [id, h.value])),
        owner: new Map([...c.owner].map(([id, h]) => [id, h.value])),
        // Only the current owner's word counts (a status of the last run may linger a moment).
        runState: new Map([...c.status].filter(([id, h]) => h.value.node === c.owner.get(id)?.value).map(([id, h]) => [id, h.value.state])),
      });
      for (const move of moves) {
        // Only while this node is still the placer: a deposed placer's decisions are refused.
        this.membership.writes++;
        const op = move.node === null
          ? this.client.delete().key(keys.assign(move.id))
          : this.client.put(keys.assign(move.id)).value(JSON.stringify({ node: move.node, at: Date.now() }));
        const result = await this.client.if(keys.leader, 'Create', '==', leaderRevision).then(op).commit();
        if (!result.succeeded) return;
        if (move.node !== null || move.why === 'no capacity') this.event(`stream ${move.id}: placed on ${move.node ?? 'no node (pending)'} (${move.why})`);
      }
    } catch {
      // etcd did not answer: the next reconcile places again
    } finally {
      this.placing = false;
    }
  }

  // ---- the API ----

  private localView(run: Run): StreamResource {
    return { ...streamView(run.supervisor, this.options.supervision.maxAttempts), node: this.name };
  }

  /** A stream that runs nowhere now: what its desired state says (pending: no node has room). */
  private restingView(id: string, held: DesiredStream): StreamResource {
    const resting = new StreamSupervisor(held.spec, this.options.supervision, held.createdAt);
    const view = streamView(resting, this.options.supervision.maxAttempts);
    const placed = this.cache.assign.get(id)?.value.node ?? null;
    const state = held.desired !== 'running' ? held.desired : placed === null ? 'pending' : 'starting';
    return { ...view, state, node: placed };
  }

  private resource(id: string): StreamResource | null {
    const held = this.cache.streams.get(id);
    if (!held) return null;
    const run = this.runs.get(id);
    let view: StreamResource;
    if (run) view = this.localView(run);
    else {
      const status = this.cache.status.get(id)?.value;
      view = status && held.value.desired === 'running' ? status : this.restingView(id, held.value);
    }
    return this.cache.connected && this.membership.state === 'up' ? view : { ...view, stale: true };
  }

  view(id: string): StreamResource {
    const view = this.resource(id);
    if (!view) throw new ServiceError(404, `no stream '${id}'`);
    return view;
  }

  /** Only for a stream this node runs: another node's pictures are not here. */
  thumbnail(id: string): Buffer | null {
    if (!this.cache.streams.has(id)) throw new ServiceError(404, `no stream '${id}'`);
    const supervisor = this.runs.get(id)?.supervisor;
    return supervisor?.running ? supervisor.thumbnail?.jpeg ?? null : null;
  }

  views(): StreamResource[] {
    return [...this.cache.streams.keys()].sort().map((id) => this.resource(id)!);
  }

  localViews(): StreamResource[] {
    return [...this.runs.values()].map((run) => this.localView(run));
  }

  get size(): number {
    return this.cache.streams.size;
  }

  nodes(): NodeView[] {
    return [...this.cache.nodes.values()].map(({ value: n }) => {
      const streams = [...this.cache.owner].filter(([, h]) => h.value === n.name).map(([id]) => id).sort();
      return {
        name: n.name, state: n.state, advertise: n.advertise, maxStreams: n.maxStreams,
        running: streams.length,
        assigned: [...this.cache.assign.values()].filter((a) => a.value.node === n.name).length,
        streams, load: n.load, cpus: n.cpus, startedAt: new Date(n.startedAt).toISOString(),
      };
    }).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** A write to the cluster's desired state, refused with 503 when etcd does not answer in time. */
  private async write<T>(what: string, work: () => Promise<T>): Promise<T> {
    try {
      this.membership.writes++;
      return await withinTime(work(), WRITE_TIMEOUT_MS, what);
    } catch (error) {
      if (error instanceof ServiceError) throw error;
      throw new ServiceError(503, `cluster state unavailable: ${what} needs etcd, which did not answer (${(error as Error).message})`);
    }
  }

  /** Sets a stream's desired state where it is still as read (compare-and-set on its revision). */
  private async setDesired(id: string, change: (d: DesiredStream) => DesiredStream, what: string): Promise<void> {
    const held = this.cache.streams.get(id);
    if (!held) throw new ServiceError(404, `no stream '${id}'`);
    await this.write(what, async () => {
      const result = await this.client.if(keys.stream(id), 'Mod', '==', held.modRevision)
        .then(this.client.put(keys.stream(id)).value(JSON.stringify(change(held.value))))
        .commit();
      if (!result.succeeded) throw new ServiceError(409, `stream '${id}' changed meanwhile (another command); try again`);
    });
    await this.until(() => (this.cache.streams.get(id)?.modRevision ?? '') !== held.modRevision);
  }

  private async until(done: () => boolean, ms = EFFECT_WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  async create(spec: Omit<StreamSpec, 'id'> & { id?: string }): Promise<StreamResource> {
    const id = spec.id ?? `s-${crypto.randomBytes(4).toString('hex')}`;
    const desired: DesiredStream = { spec: { ...spec, id }, desired: 'running', createdAt: Date.now(), restarts: 0 };
    await this.write('creating a stream', async () => {
      const result = await this.client.if(keys.stream(id), 'Create', '==', 0).then(this.client.put(keys.stream(id)).value(JSON.stringify(desired))).commit();
      if (!result.succeeded) throw new ServiceError(409, `a stream '${id}' exists already`);
    });
    await this.until(() => this.cache.streams.has(id));
    return this.view(id);
  }

  async start(id: string): Promise<StreamResource> {
    // From failed, a start is a new run: the restart count makes the owner begin again.
    await this.setDesired(id, (d) => ({ ...d, desired: 'running', restarts: d.restarts + (this.cache.status.get(id)?.value.state === 'failed' ? 1 : 0) }), 'starting a stream');
    return this.view(id);
  }

  async stop(id: string): Promise<StreamResource> {
    await this.setDesired(id, (d) => ({ ...d, desired: 'stopped' }), 'stopping a stream');
    await this.until(() => !this.cache.owner.has(id));
    return this.view(id);
  }

  async restart(id: string): Promise<StreamResource> {
    await this.setDesired(id, (d) => ({ ...d, desired: 'running', restarts: d.restarts + 1 }), 'restarting a stream');
    return this.view(id);
  }

  async remove(id: string): Promise<void> {
    if (!this.cache.streams.has(id)) throw new ServiceError(404, `no stream '${id}'`);
    await this.write('deleting a stream', () => this.client.delete().key(keys.stream(id)).exec());
    await this.until(() => !this.cache.owner.has(id));
  }

  /**
   * SIGTERM: the node says it is draining; the placer moves its streams to the others one at a
   * time (each off the air for one start); it returns once none is left here, or at once when
   * no other node is up, or after the drain timeout (the rest are stopped by close()).
   */
  async drain(): Promise<void> {
    if (this.membership.state !== 'up') return;
    this.state = 'draining';
    await this.membership.putRecord().catch(() => {});
    this.event(`node ${this.name}: draining ${this.runs.size} stream(s)`);
    const deadline = Date.now() + (this.options.drainTimeoutMs ?? 60_000);
    const othersUp = () => [...this.cache.nodes.values()].some((n) => n.value.name !== this.name && n.value.state === 'up');
    await this.until(() => (this.runs.size === 0 && this.stopping.size === 0) || !othersUp() || this.membership.state !== 'up', Math.max(0, deadline - Date.now()));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all([...this.runs.keys()].map((id) => this.stopRun(id, 'node stopping')));
    // Every process gone before the lease (and the owner keys under it) is given back.
    await Promise.all([...this.stopping]);
    await this.cache.close();
    await this.membership.leave();
    this.client.close();
  }
}
