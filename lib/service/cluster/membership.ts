// This node's membership of the cluster: its lease (renewed by hand, so that the time each
// renewal was sent is known), its record under that lease, and the deadline by which everything
// it runs must have stopped when renewals fail.
//
// The deadline: a lease renewed by a request sent at t lives at etcd until at least t + TTL
// (etcd renews it on receipt, later than t). Streams stopped by t + TTL - margin are off the air
// before the lease can expire, so before another node can take them over: never two runners.
//
// When etcd cannot be reached, the node cannot tell an etcd outage (nobody can take over: keep
// pushing) from its own isolation (the others will take over: stop). It asks its peers, as
// Patroni's failsafe mode does: if every peer it knows answers that it cannot reach etcd either,
// nobody can take over and the deadline moves on; if one reaches etcd, or one does not answer,
// it stops at the deadline.
// Kept in the .d.ts: the published types compile whatever the user's `types` and `lib` say.
/// <reference types="node" preserve="true" />
import { EventEmitter } from 'node:events';
import type { Etcd3, Lease } from 'etcd3';
import { EtcdLeaseInvalidError } from 'etcd3';
import { CALL_TIMEOUT_MS, withinTime } from './etcd';
import { keys, type NodeRecord } from './keys';

export interface Peer {
  name: string;
  advertise: string | null;
}

export interface MembershipOptions {
  client: Etcd3;
  name: string;
  ttlSeconds: number;
  /** The record to keep under the lease (read at each join and update). */
  record: () => NodeRecord;
  /** The other members as last known: asked when etcd cannot be reached. */
  peers: () => Peer[];
  /** The API token, which peers ask for. */
  token: string;
}

export type MembershipState = 'joining' | 'up' | 'unreachable' | 'lost';

/** What a node keeps of its deadline for itself: the stop must be done, processes gone, by then. */
const MARGIN_MS = 1500;
/** The renewal period while renewals fail. */
const FAILING_RENEW_EVERY_MS = 250;

export class Membership extends EventEmitter<{ lost: []; renewed: []; state: [MembershipState] }> {
  state: MembershipState = 'joining';
  leaseId: string | null = null;
  /** When the last renewal that succeeded was sent (or the lease granted). */
  lastRenewSentAt = 0;
  /** When the last try to renew failed (a peer that asks then hears that etcd is out of reach). */
  private lastFailureAt = 0;
  /** Until when the peers' answers allow pushing on while etcd cannot be reached. */
  private failsafeUntil = 0;
  private lease: Lease | null = null;
  private timer: NodeJS.Timeout | null = null;
  private renewing = false;
  /** Writes to etcd made by this node (its load on etcd). */
  writes = 0;

  constructor(private readonly o: MembershipOptions) {
    super();
  }

  get ttlMs(): number {
    return this.o.ttlSeconds * 1000;
  }

  /** Grants a lease and puts the record under it; throws if etcd does not answer in time. */
  async join(): Promise<void> {
    this.setState('joining');
    const sentAt = Date.now();
    const lease = this.o.client.lease(this.o.ttlSeconds, { autoKeepAlive: false });
    // A lease the client could not grant emits 'lost' too: handled by the throw below.
    lease.on('lost', () => {});
    this.leaseId = String(await withinTime(lease.grant(), CALL_TIMEOUT_MS * 2, 'granting the lease'));
    this.lease = lease;
    this.lastRenewSentAt = sentAt;
    await this.putRecord();
    this.setState('up');
    this.schedule();
  }

  async putRecord(): Promise<void> {
    if (!this.leaseId) return;
    this.writes++;
    await this.o.client.put(keys.node(this.o.name)).value(JSON.stringify(this.o.record())).lease(this.leaseId).exec();
  }

  /** Whether this node reached etcd lately and its last try did not fail (what it tells peers that ask). */
  get reachable(): boolean {
    return this.state === 'up' && Date.now() - this.lastRenewSentAt < this.ttlMs / 2 && this.lastFailureAt < this.lastRenewSentAt;
  }

  /** By when everything this node runs must have stopped. */
  get deadline(): number {
    return Math.max(this.lastRenewSentAt + this.ttlMs - MARGIN_MS, this.failsafeUntil);
  }

  private setState(state: MembershipState): void {
    if (state === this.state) return;
    this.state = state;
    this.emit('state', state);
  }

  private async renew(): Promise<void> {
    if (this.renewing || !this.lease || this.state === 'lost') return;
    this.renewing = true;
    try {
      const renewed = await this.renewOnAnyEndpoint();
      if (renewed === 'lost') {
        // etcd answered: the lease expired (this node was stopped or cut off for longer than
        // its TTL). Its keys are gone; another node may run its streams already.
        this.lease = null;
        this.leaseId = null;
        this.setState('lost');
        this.emit('lost');
      } else if (renewed) {
        this.lastRenewSentAt = renewed;
        this.failsafeUntil = 0;
        this.setState('up');
        this.emit('renewed');
      } else {
        this.setState('unreachable');
        if (await this.peersConfirmOutage()) {
          this.failsafeUntil = Date.now() + this.ttlMs - MARGIN_MS;
          this.emit('renewed');
        }
      }
    } finally {
      this.renewing = false;
      this.schedule();
    }
  }

  /**
   * One renewal, tried again at once for up to a quarter TTL: the client sends a keep-alive (a
   * stream, which its retry policy does not cover) to one endpoint picked at random, so with one
   * etcd member down a third of single tries fail in a few milliseconds; and a keep-alive sent
   * while etcd elects a leader can hang, so each try gets an eighth of the TTL. What counts is
   * when the try that succeeded was sent (the deadline runs from there). Returns that time,
   * 'lost' if etcd says the lease expired, or null.
   */
  private async renewOnAnyEndpoint(): Promise<number | 'lost' | null> {
    const tryMs = Math.min(CALL_TIMEOUT_MS, this.ttlMs / 8);
    const budgetEnds = Date.now() + this.ttlMs / 4;
    for (;;) {
      const sentAt = Date.now();
      try {
        await withinTime(this.lease!.keepaliveOnce({ deadline: sentAt + tryMs }), tryMs + 100, 'renewing the lease');
        return sentAt;
      } catch (error) {
        if (error instanceof EtcdLeaseInvalidError) return 'lost';
        this.lastFailureAt = Date.now();
        if (Date.now() >= budgetEnds || !this.lease) return null;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  /**
   * The next renewal: every eighth of the TTL, or four times a second while renewals fail (an
   * etcd election ends at any moment). The deadline runs from the last renewal sent, so the more
   * often a node renews, the longer an etcd election it rides out without stopping its streams.
   */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.lease || this.state === 'lost') return;
    this.timer = setTimeout(() => void this.renew(), this.state === 'up' ? this.ttlMs / 8 : FAILING_RENEW_EVERY_MS);
  }

  /** Whether every known peer answers that it cannot reach etcd either (none known: nobody can take over). */
  private async peersConfirmOutage(): Promise<boolean> {
    const peers = this.o.peers().filter((p) => p.name !== this.o.name);
    const answers = await Promise.all(peers.map(async (peer) => {
      if (!peer.advertise) return false;
      try {
        const response = await fetch(`${peer.advertise.replace(/\/+$/, '')}/v1/cluster/etcd`, {
          headers: { authorization: `Bearer ${this.o.token}` },
          signal: AbortSignal.timeout(800),
        });
        const body = (await response.json()) as { reachable?: unknown };
        return response.ok && body.reachable === false;
      } catch {
        return false;
      }
    }));
    return answers.every(Boolean);
  }

  /** Stops renewing and gives the lease back (its keys go at once), if etcd answers. */
  async leave(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const lease = this.lease;
    this.lease = null;
    this.leaseId = null;
    if (lease) await withinTime(lease.revoke(), CALL_TIMEOUT_MS, 'revoking the lease').catch(() => {});
  }
}
