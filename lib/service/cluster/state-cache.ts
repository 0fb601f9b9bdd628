// The cluster's keys as this node last saw them: read whole once, then kept by a watch from the
// revision of that read, so that every node answers reads from memory (fast, and still possible
// while etcd is away: flagged stale) and acts on every change as it comes.
// Kept in the .d.ts: the published types compile whatever the user's `types` and `lib` say.
/// <reference types="node" preserve="true" />
import { EventEmitter } from 'node:events';
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { CALL_TIMEOUT_MS, withinTime } from './etcd';
import { PREFIX, parseKey, type Assignment, type DesiredStream, type NodeRecord } from './keys';
import type { StreamResource } from '../streams';

/** A value with the create revision of its key (the owner key's is a run's fencing token). */
export interface Held<T> {
  value: T;
  createRevision: string;
  modRevision: string;
}

export class StateCache extends EventEmitter<{ change: [] }> {
  readonly streams = new Map<string, Held<DesiredStream>>();
  readonly nodes = new Map<string, Held<NodeRecord>>();
  readonly assign = new Map<string, Held<Assignment>>();
  readonly owner = new Map<string, Held<string>>();
  readonly status = new Map<string, Held<StreamResource>>();
  leader: Held<string> | null = null;
  /** Whether the watch is connected (reads are current). */
  connected = false;
  private watcher: Watcher | null = null;

  constructor(private readonly client: Etcd3) {
    super();
  }

  async load(): Promise<void> {
    const range = await withinTime(this.client.getAll().prefix(PREFIX).exec(), CALL_TIMEOUT_MS * 2, 'reading the cluster state');
    for (const kv of range.kvs) this.put(kv);
    const watcher = await this.client.watch().prefix(PREFIX).startRevision(String(Number(range.header.revision) + 1)).create();
    this.watcher = watcher;
    this.connected = true;
    watcher.on('put', (kv) => this.changed(() => this.put(kv)));
    watcher.on('delete', (kv) => this.changed(() => this.delete(kv)));
    watcher.on('disconnected', () => this.changed(() => (this.connected = false)));
    watcher.on('connected', () => this.changed(() => (this.connected = true)));
    // The client reconnects the watch by itself (see etcd.ts); an error here is one of those.
    watcher.on('error', () => {});
    this.emit('change');
  }

  private changed(apply: () => void): void {
    apply();
    this.emit('change');
  }

  private put(kv: IKeyValue): void {
    const parsed = parseKey(kv.key.toString());
    if (!parsed) return;
    const [kind, name] = parsed;
    let value: unknown;
    try {
      value = kind === 'owner' || kind === 'leader' ? kv.value.toString() : JSON.parse(kv.value.toString());
    } catch {
      return; // not ours to read: left alone
    }
    const held = { value, createRevision: kv.create_revision, modRevision: kv.mod_revision };
    if (kind === 'leader') this.leader = held as Held<string>;
    else (this[kind] as Map<string, Held<unknown>>).set(name, held);
  }

  private delete(kv: IKeyValue): void {
    const parsed = parseKey(kv.key.toString());
    if (!parsed) return;
    const [kind, name] = parsed;
    if (kind === 'leader') this.leader = null;
    else this[kind].delete(name);
  }

  async close(): Promise<void> {
    await this.watcher?.cancel().catch(() => {});
    this.watcher = null;
  }
}
