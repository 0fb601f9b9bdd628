// GET /metrics: Prometheus text from prom-client, one registry per service (never the global
// one, so two services in one process keep their figures apart). Every figure is read at scrape
// time from the streams' views; per-stream series carry `stream`, per-output series also `output`
// (its index) and `url` (masked). The counters are the current run's: a restarted stream starts
// them again from 0, which Prometheus' rate() reads as a counter reset.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClusterService } from './cluster/cluster-service';
import type { StreamView } from './view';
import type { StreamState } from './supervisor';

const STATES: StreamState[] = ['pending', 'starting', 'live', 'degraded', 'retrying', 'failed', 'stopped', 'finished'];
/** The states an output can show (the Server's, or the pipeline's for an output that failed alone). */
const OUTPUT_STATES = ['starting', 'connecting', 'live', 'reconnecting', 'retrying', 'failed', 'closed'];

/** `cluster`: this node's membership, for the lease and placement figures. */
export function createMetrics(views: () => StreamView[], cluster?: ClusterService): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: 'streamcoder_service_' });
  const outputLabels = ['stream', 'output', 'url'] as const;
  const perOutput = (view: StreamView) => view.outputs.map((o, i) => ({ o, labels: { stream: view.id, output: String(i), url: o.url } }));

  new Gauge({
    name: 'streamcoder_streams', help: 'Streams in each state', labelNames: ['state'], registers: [register],
    collect() {
      this.reset();
      const all = views();
      for (const state of STATES) this.set({ state }, all.filter((v) => v.state === state).length);
    },
  });
  new Gauge({
    name: 'streamcoder_stream_state', help: '1 for the state the stream is in', labelNames: ['stream', 'state'], registers: [register],
    collect() {
      this.reset();
      for (const v of views()) for (const state of STATES) this.set({ stream: v.id, state }, v.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'streamcoder_stream_attempt', help: 'The attempt the stream is on (1: no failure in a row)', labelNames: ['stream'], registers: [register],
    collect() {
      this.reset();
      for (const v of views()) this.set({ stream: v.id }, v.attempt.n);
    },
  });
  new Gauge({
    name: 'streamcoder_stream_on_slate', help: '1 while the slate is on air (streams with fallbacks or a slate)', labelNames: ['stream'], registers: [register],
    collect() {
      this.reset();
      for (const v of views()) if (v.onAir) this.set({ stream: v.id }, v.onAir.current === 'slate' ? 1 : 0);
    },
  });
  new Counter({
    name: 'streamcoder_stream_input_switches_total', help: 'Switches between inputs and the slate in this run', labelNames: ['stream'], registers: [register],
    collect() {
      this.reset();
      for (const v of views()) if (v.onAir) this.inc({ stream: v.id }, v.onAir.switches);
    },
  });
  new Counter({
    name: 'streamcoder_stream_slate_seconds_total', help: 'Seconds the slate was on air in this run', labelNames: ['stream'], registers: [register],
    collect() {
      this.reset();
      for (const v of views()) if (v.onAir) this.inc({ stream: v.id }, v.onAir.slateSeconds);
    },
  });
  new Counter({
    name: 'streamcoder_stream_restarts_total', help: 'Restarts after a failure or a stall', labelNames: ['stream'], registers: [register],
    collect() {
      this.reset();
      for (const v of views()) this.inc({ stream: v.id }, v.restarts);
    },
  });
  const outputGauge = (name: string, help: string, pick: (o: StreamView['outputs'][number]) => number) => new Gauge({
    name, help, labelNames: outputLabels, registers: [register],
    collect() {
      this.reset();
      for (const v of views()) for (const { o, labels } of perOutput(v)) this.set(labels, pick(o));
    },
  });
  const outputCounter = (name: string, help: string, pick: (o: StreamView['outputs'][number]) => number) => new Counter({
    name, help, labelNames: outputLabels, registers: [register],
    collect() {
      this.reset();
      for (const v of views()) for (const { o, labels } of perOutput(v)) this.inc(labels, pick(o));
    },
  });
  outputGauge('streamcoder_output_up', '1 while the output is live', (o) => (o.state === 'live' ? 1 : 0));
  new Gauge({
    name: 'streamcoder_output_state', help: '1 for the state the output is in', labelNames: [...outputLabels, 'state'], registers: [register],
    collect() {
      this.reset();
      for (const v of views()) for (const { o, labels } of perOutput(v)) for (const state of OUTPUT_STATES) this.set({ ...labels, state }, o.state === state ? 1 : 0);
    },
  });
  outputCounter('streamcoder_output_retries_total', 'Times the output was started again on its own after failing, in this run', (o) => o.retries);
  outputGauge('streamcoder_output_fps', 'Pictures per second pushed', (o) => o.fps);
  outputGauge('streamcoder_output_bitrate_bits_per_second', 'Video bits per second of media time', (o) => o.bitRate);
  outputGauge('streamcoder_output_lead_seconds', 'Seconds the timeline runs ahead of the wall clock', (o) => o.lead);
  outputGauge('streamcoder_output_uptime_seconds', 'Seconds live in this run', (o) => o.uptime);
  outputCounter('streamcoder_output_frames_total', 'Frames pushed in this run', (o) => o.frames);
  outputCounter('streamcoder_output_dropped_frames_total', 'Frames lost in this run', (o) => o.dropped);
  outputCounter('streamcoder_output_late_frames_total', 'Frames served late in this run', (o) => o.lateFrames);
  outputCounter('streamcoder_output_reconnects_total', 'Reconnects of the output in this run', (o) => o.reconnects);
  if (cluster) clusterMetrics(register, cluster);
  return register;
}

/** A cluster node's own figures: its lease, whether it places, the cluster's placement, its etcd load. */
function clusterMetrics(register: Registry, cluster: ClusterService): void {
  const gauge = (name: string, help: string, read: () => number) => new Gauge({
    name, help, registers: [register],
    collect() {
      this.set(read());
    },
  });
  const counter = (name: string, help: string, read: () => number) => new Counter({
    name, help, registers: [register],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
  gauge('streamcoder_cluster_lease_up', '1 while this node renews its lease in etcd', () => (cluster.membership.reachable ? 1 : 0));
  gauge('streamcoder_cluster_lease_deadline_seconds', 'Seconds until this node must have stopped its streams unless its lease is renewed', () => Math.max(0, (cluster.membership.deadline - Date.now()) / 1000));
  gauge('streamcoder_cluster_placer', '1 while this node is the elected placer', () => (cluster.cache.leader?.value === cluster.name ? 1 : 0));
  gauge('streamcoder_cluster_nodes', 'Members whose lease holds', () => cluster.cache.nodes.size);
  new Gauge({
    name: 'streamcoder_cluster_streams', help: "The cluster's streams: to run, placed on a node, running, pending (no room)", labelNames: ['placement'], registers: [register],
    collect() {
      this.reset();
      const wanted = [...cluster.cache.streams].filter(([, s]) => s.value.desired === 'running');
      this.set({ placement: 'wanted' }, wanted.length);
      this.set({ placement: 'placed' }, wanted.filter(([id]) => cluster.cache.assign.has(id)).length);
      this.set({ placement: 'running' }, wanted.filter(([id]) => cluster.cache.owner.has(id)).length);
      this.set({ placement: 'pending' }, wanted.filter(([id]) => !cluster.cache.assign.has(id)).length);
    },
  });
  counter('streamcoder_cluster_fenced_writes_total', "Writes about a run that etcd refused because the run no longer held its stream's owner key", () => cluster.fencedWrites);
  counter('streamcoder_cluster_fenced_stops_total', 'Runs this node stopped because it could not keep its lease', () => cluster.fencedStops);
  counter('streamcoder_cluster_etcd_writes_total', 'Writes this node made to etcd', () => cluster.membership.writes);
}
