// GET /metrics: Prometheus text from prom-client, one registry per service (never the global
// one, so two services in one process keep their figures apart). Every figure is read at scrape
// time from the streams' views; per-stream series carry `stream`, per-output series also `output`
// (its index) and `url` (masked). The counters are the current run's: a restarted stream starts
// them again from 0, which Prometheus' rate() reads as a counter reset.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { StreamView } from './view';
import type { StreamState } from './supervisor';

const STATES: StreamState[] = ['starting', 'live', 'degraded', 'retrying', 'failed', 'stopped', 'finished'];
/** The states an output can show (the Server's, or the pipeline's for an output that failed alone). */
const OUTPUT_STATES = ['starting', 'connecting', 'live', 'reconnecting', 'retrying', 'failed', 'closed'];

export function createMetrics(views: () => StreamView[]): Registry {
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
  return register;
}
