// A stream as the API shows it: what an operator needs to act, every URL masked (credentials,
// stream keys, query values) by the library's redactUrl.
import { redactUrl } from '../redact';
import type { StreamSupervisor, StreamState, HistorySample } from './supervisor';

export interface OutputView {
  /** Its place in the stream's list: what tells apart outputs whose masked URLs look alike. */
  index: number;
  url: string;
  state: string;
  /** Pictures per second over the last 2 s. */
  fps: number;
  /** Video bits per second over the last 2 s. */
  bitRate: number;
  frames: number;
  dropped: number;
  /** Items (pictures, sound packets) served late: compare with frames + audioPackets. */
  lateFrames: number;
  /** Sound packets written. */
  audioPackets: number;
  reconnects: number;
  /** Seconds the output's timeline runs ahead of the wall clock. */
  lead: number;
  /** Seconds live in this run (0 while not live). */
  uptime: number;
  /** Why this output failed in this run while the others went on (null unless `failed` or `retrying`). */
  error: string | null;
  /** Times it was started again on its own in this run after failing. */
  retries: number;
}

export interface StreamView {
  id: string;
  state: StreamState;
  input: string;
  /** The input as opened in this run (null before, or while stopped). */
  inputInfo: { codec: string; width: number; height: number; frameRate: number | null } | null;
  /** Fallbacks (masked) and the slate, as asked. */
  fallbacks: string[];
  slate: string | null;
  /**
   * With fallbacks or a slate, in this run: what is on air ('input 0 (<masked URL>)', ... or
   * 'slate'), the switches, and seconds on the slate (null before, while stopped, or without).
   */
  onAir: { current: string; switches: number; slateSeconds: number } | null;
  loop: boolean;
  realtime: boolean | null;
  audio: boolean;
  /** Seconds of the input probed (null: the default). */
  probe: number | null;
  /** This run's attempt of the `of` allowed in a row before `failed`. */
  attempt: { n: number; of: number };
  restarts: number;
  /** The last error, dated; `resolvedAt` is when the stream was live again after it (null while it is not). */
  lastError: { message: string; at: string; resolvedAt: string | null } | null;
  /** Why the stream is not simply `live`: one line per output concerned (failed, retrying, reconnecting, slow). */
  problems: string[];
  nextRetryAt: string | null;
  startedAt: string | null;
  createdAt: string;
  pid: number | null;
  outputs: OutputView[];
  history: HistorySample[];
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export function streamView(s: StreamSupervisor, maxAttempts: number): StreamView {
  const now = Date.now();
  return {
    id: s.spec.id,
    state: s.state,
    input: redactUrl(s.spec.input),
    inputInfo: s.running ? s.progress?.input ?? null : null,
    fallbacks: (s.spec.fallbacks ?? []).map((f) => redactUrl(f)),
    slate: s.spec.slate === undefined ? null : redactUrl(s.spec.slate),
    onAir: s.running && s.progress?.failover
      ? { current: s.progress.failover.current, switches: s.progress.failover.switches, slateSeconds: round(s.progress.failover.slateSeconds) }
      : null,
    loop: s.spec.loop ?? false,
    realtime: s.spec.realtime ?? null,
    audio: s.spec.audio ?? true,
    probe: s.spec.probe ?? null,
    attempt: { n: Math.min(s.failures + 1, maxAttempts), of: maxAttempts },
    restarts: s.restarts,
    lastError: s.lastError && { message: redactUrl(s.lastError.message), at: iso(s.lastError.at)!, resolvedAt: iso(s.lastError.resolvedAt) },
    problems: s.running ? s.problems.map((line) => redactUrl(line)) : [],
    nextRetryAt: iso(s.nextRetryAt),
    startedAt: s.running ? iso(s.runStartedAt) : null,
    createdAt: iso(s.createdAt)!,
    pid: s.pid,
    outputs: s.spec.outputs.map((spec, i) => {
      const o = s.running ? s.progress?.outputs[i] : undefined;
      const server = o?.server;
      const since = s.liveSince[i];
      return {
        index: i,
        url: redactUrl(spec.url),
        state: s.running ? (o?.state ?? 'starting') : 'closed',
        fps: o ? round(s.rates[i]?.fps ?? 0) : 0,
        bitRate: o ? Math.round(s.rates[i]?.bitRate ?? 0) : 0,
        frames: o?.frames ?? 0,
        dropped: o?.dropped ?? 0,
        lateFrames: server?.lateFrames ?? 0,
        audioPackets: server?.audioPackets ?? 0,
        reconnects: server?.reconnects ?? 0,
        lead: round(server?.lead ?? 0, 3),
        uptime: since ? round((now - since) / 1000, 1) : 0,
        error: o?.error ? redactUrl(o.error) : null,
        retries: o?.retries ?? 0,
      };
    }),
    history: s.history,
  };
}
