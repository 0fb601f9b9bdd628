// One stream's supervisor: runs the stream in a child process of its own (stream-runner.ts),
// follows its progress over IPC, and restarts it when it fails (exit code, crash, signal, SIGKILL)
// or stalls (frames stop advancing while it should run), with exponential, capped backoff,
// counted: after `maxAttempts` failures in a row the stream is `failed` and left alone. A run that
// stays live for `healthySeconds` clears the count.
// Kept in the .d.ts: the published types compile whatever the user's `types` and `lib` say.
/// <reference types="node" preserve="true" />
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { redactUrl } from '../redact';
import type { StreamProgress } from './run-pipeline';
import { runBounds, type RunBounds, type StreamSpec } from './spec';
import { DEADLINE_EXIT_CODE, type FromRunner, type ToRunner } from './runner-messages';
import type { ThreadBudget } from './thread-budget';

/**
 * `live`: every output delivers at the input's rate. `degraded`: some do, but at least one does
 * not (it failed and waits for its retry, reconnects, is starting again, or runs slower than the
 * input: `problems` says which and why). `retrying`: none delivers and the run, or its outputs,
 * are retrying. `pending` is a cluster's, never a supervisor's: the stream is to run, and no node
 * has room for it yet.
 */
export type StreamState = 'pending' | 'starting' | 'live' | 'degraded' | 'retrying' | 'failed' | 'stopped' | 'finished';

export interface SupervisionOptions {
  /** Failures in a row before the stream is `failed`. */
  maxAttempts: number;
  /** The first retry's delay; each next one doubles, up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Seconds without a new frame (while running) after which the run is restarted. */
  stallSeconds: number;
  /** Seconds live after which the failure count starts again from 0. */
  healthySeconds: number;
  /** How long a run asked to stop gets before SIGKILL. */
  stopGraceMs: number;
  /** The codec threads of each run (absent: FFmpeg chooses, per codec). */
  threads?: ThreadBudget;
}

export const SUPERVISION_DEFAULTS: SupervisionOptions = {
  maxAttempts: 10,
  backoffMs: 1000,
  maxBackoffMs: 60_000,
  stallSeconds: 15,
  healthySeconds: 60,
  stopGraceMs: 5000,
};

/** An output live for this long at under SLOW_RATIO of the input's frame rate cannot keep its rate. */
/** A thumbnail the stream's process sends is a small JPEG: anything bigger is ignored. */
const MAX_THUMBNAIL_BASE64 = 1 << 20;
const SLOW_AFTER_MS = 5000;
const SLOW_RATIO = 0.9;
/** Extra seconds the first frame of a run gets on top of stallSeconds (opening, probing, connecting). */
const FIRST_FRAME_GRACE_S = 10;
const HISTORY_LENGTH = 60;
/** The span the fps and bit rate shown are measured over. */
const RATE_WINDOW_MS = 2000;
const STDERR_TAIL = 2000;
/** Errors no retry can cure: the stream is `failed` at once (ERR_LIMIT: past the operator's bounds). */
const PERMANENT_CODES = ['ERR_LIMIT'];

/** The backoff before retry number `failures` (1-based): backoffMs * 2^(failures-1), capped. */
export function backoffDelay(failures: number, options: Pick<SupervisionOptions, 'backoffMs' | 'maxBackoffMs'>): number {
  return Math.min(options.maxBackoffMs, options.backoffMs * 2 ** Math.max(0, Math.min(30, failures - 1)));
}

/** dist/service/stream-runner.js: beside this file once built; under dist/ when this runs from lib/. */
export function runnerScript(): string {
  const dir = __filename.endsWith('.ts') ? path.join(__dirname, '..', '..', 'dist', 'service') : __dirname;
  const file = path.join(dir, 'stream-runner.js');
  if (!fs.existsSync(file)) throw new Error(`The stream runner ${file} is missing: build the library (npm run build:ts)`);
  return file;
}

export interface HistorySample {
  /** ms since the epoch */
  t: number;
  fps: number;
  bitRate: number;
}

export class StreamSupervisor extends EventEmitter<{ change: [] }> {
  state: StreamState = 'stopped';
  /** Failures in a row (reset by a healthy run or an operator's start). */
  failures = 0;
  /** Runs restarted after a failure or a stall, in all. */
  restarts = 0;
  /** The last error, and when the stream was live again after it (null while it is not). */
  lastError: { message: string; at: number; resolvedAt: number | null } | null = null;
  /** Why the stream is `degraded` or its outputs are retrying, one line per output concerned. */
  problems: string[] = [];
  nextRetryAt: number | null = null;
  progress: StreamProgress | null = null;
  /** The last JPEG of what this run sends (null before the first, and once stopped). */
  thumbnail: { jpeg: Buffer; at: number } | null = null;
  runStartedAt: number | null = null;
  /** When each output last turned live in this run (null while it is not). */
  liveSince: (number | null)[] = [];
  /** Since when each live output has run under SLOW_RATIO of the input's rate (null: it keeps up). */
  private slowSince: (number | null)[] = [];
  /**
   * Each output's pictures and video bits per second over the last seconds (the Server's own
   * fps and bitRate are averages since its start: they hide a stall or a slowdown for long).
   */
  rates: { fps: number; bitRate: number }[] = [];
  private samples: { t: number; frames: number[]; bytes: number[] }[] = [];
  readonly history: HistorySample[] = [];
  private child: ChildProcess | null = null;
  private exited: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private lastFrames = -1;
  private lastAdvanceAt = 0;
  private sawFrame = false;
  /** Why the current run is being ended by us: null (it ended by itself), 'stop', 'restart' or a stall message. */
  private ending: null | 'stop' | 'restart' | { stall: string } = null;
  private reported: FromRunner | null = null;
  private stderrTail = '';
  /** In a cluster: the time (ms since the epoch) by which the run must have stopped (see setDeadline). */
  private deadline: number | null = null;

  /** `bounds`: what each run is held to (see RunBounds; the defaults when not given). */
  constructor(readonly spec: StreamSpec, private readonly options: SupervisionOptions, readonly createdAt = Date.now(), private readonly bounds: RunBounds = runBounds(spec, { schemes: [], directories: [] })) {
    super();
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Runs the stream (an operator's start: the failure count starts again). */
  start(): void {
    this.failures = 0;
    this.clearRetry();
    if (this.child) {
      // A stop under way becomes a restart: its exit launches the new run.
      if (this.ending === 'stop') this.ending = 'restart';
      return;
    }
    this.launch();
  }

  /** Stops the run, if any, and stays stopped; resolves once its process has exited. */
  async stop(final: StreamState = 'stopped'): Promise<void> {
    this.clearRetry();
    if (this.child) {
      this.ending = 'stop';
      await this.endChild();
    }
    // A start() during the stop launched a new run: that one stands.
    if (this.child) return;
    this.state = final;
    this.nextRetryAt = null;
    this.emit('change');
  }

  /** Ends the run and starts a new one at once (not counted as a failure). */
  async restart(): Promise<void> {
    this.clearRetry();
    this.failures = 0;
    if (this.child) {
      this.ending = 'restart';
      await this.endChild();
    } else {
      this.launch();
    }
  }

  /**
   * In a cluster: the run's process ends itself at `until` unless told a later time first, so
   * that a stream stops before this node's lease can expire elsewhere even when this process
   * cannot act (stopped, or its event loop stalled).
   */
  setDeadline(until: number): void {
    this.deadline = until;
    if (this.child?.connected) this.child.send({ type: 'deadline', until } satisfies ToRunner);
  }

  /** Ends the run at once (SIGKILL: its connections close now) and stays stopped. */
  async kill(): Promise<void> {
    this.clearRetry();
    const child = this.child;
    if (child) {
      this.ending = 'stop';
      child.kill('SIGKILL');
      await this.exited;
    }
    if (this.child) return;
    this.state = 'stopped';
    this.nextRetryAt = null;
    this.emit('change');
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.nextRetryAt = null;
  }

  private launch(): void {
    this.state = 'starting';
    this.progress = null;
    this.thumbnail = null;
    this.reported = null;
    this.ending = null;
    this.stderrTail = '';
    this.sawFrame = false;
    this.lastFrames = -1;
    this.runStartedAt = Date.now();
    this.lastAdvanceAt = Date.now();
    this.liveSince = this.spec.outputs.map(() => null);
    this.slowSince = this.spec.outputs.map(() => null);
    this.problems = [];
    this.rates = this.spec.outputs.map(() => ({ fps: 0, bitRate: 0 }));
    this.samples = [];
    let child: ChildProcess;
    try {
      child = fork(runnerScript(), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
    } catch (error) {
      // No process (the runner script gone, no memory to fork): a failure like any other,
      // retried with the backoff, never an exception out of a timer that would end the service.
      this.fail(`could not start the stream's process: ${(error as Error).message}`);
      return;
    }
    this.child = child;
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL);
    });
    child.on('message', (message: FromRunner) => this.onMessage(message));
    // An IPC write to a process that just died: its exit is what counts.
    child.on('error', () => {});
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.onExit(code, signal);
      resolve();
    }));
    // An output that fails alone is retried inside the run with the same backoff as the stream's.
    const retry = { backoffMs: this.options.backoffMs, maxBackoffMs: this.options.maxBackoffMs };
    const budget = this.options.threads;
    const threads = budget ? budget.acquire() : 0;
    if (budget) child.once('exit', () => budget.release());
    if (this.deadline !== null) child.send({ type: 'deadline', until: this.deadline } satisfies ToRunner);
    child.send({ type: 'start', spec: this.spec, retry, bounds: this.bounds, threads } satisfies ToRunner);
    this.watchdog = setInterval(() => this.checkStall(), 1000);
    this.emit('change');
  }

  private onMessage(message: FromRunner): void {
    if (message.type === 'thumbnail') {
      if (typeof message.jpeg === 'string' && message.jpeg.length <= MAX_THUMBNAIL_BASE64) this.thumbnail = { jpeg: Buffer.from(message.jpeg, 'base64'), at: Date.now() };
      return;
    }
    if (message.type !== 'progress') {
      this.reported = message;
      return;
    }
    const progress = message.progress;
    this.progress = progress;
    const now = Date.now();
    if (progress.frames !== this.lastFrames) {
      if (progress.frames > this.lastFrames && this.lastFrames >= 0) this.sawFrame = true;
      if (progress.frames > 0) this.sawFrame = true;
      this.lastFrames = progress.frames;
      this.lastAdvanceAt = now;
    }
    progress.outputs.forEach((output, i) => {
      if (output.state === 'live') this.liveSince[i] ??= now;
      else this.liveSince[i] = null;
    });
    this.measureRates(progress, now);
    if (this.ending === null) this.judge(progress, now);
    const last = this.history.at(-1);
    if (!last || now - last.t >= 1000) {
      const rate = this.rates[0];
      this.history.push({ t: now, fps: Math.round(rate.fps * 10) / 10, bitRate: Math.round(rate.bitRate) });
      if (this.history.length > HISTORY_LENGTH) this.history.shift();
    }
  }

  /**
   * The stream's state from its outputs'. An output that fails alone is retried inside the run
   * (the pipeline's retryOutputs) while the others go on; when every output fails, the run ends
   * and is retried as a whole.
   */
  private judge(progress: StreamProgress, now: number): void {
    const previous = this.state;
    const problems: string[] = [];
    // The problems that are faults (not an output on its way up), which become the last error.
    const faults: string[] = [];
    let delivering = 0;
    progress.outputs.forEach((o, i) => {
      const name = `output ${i} (${redactUrl(this.spec.outputs[i].url)})`;
      const frameRate = progress.input?.frameRate ?? 0;
      const fps = this.rates[i]?.fps ?? 0;
      const slow = o.state === 'live' && frameRate > 0 && now - (this.liveSince[i] ?? now) >= RATE_WINDOW_MS && fps < SLOW_RATIO * frameRate;
      this.slowSince[i] = slow ? this.slowSince[i] ?? now : null;
      if (o.state === 'live' && !(slow && now - this.slowSince[i]! >= SLOW_AFTER_MS)) delivering++;
      // An output failed for good only as its run ends (the others are all down too): the run's
      // own error becomes the last error then, so this stays a problem line.
      if (o.state === 'failed') problems.push(`${name} failed: ${o.error ?? 'no cause reported'}`);
      else if (o.state === 'retrying') faults.push(`${name} is retrying: ${o.error ?? 'no cause reported'}`);
      else if (o.state === 'reconnecting') faults.push(`${name} lost its server and is reconnecting`);
      else if (o.state === 'live' && this.slowSince[i] !== null && now - this.slowSince[i]! >= SLOW_AFTER_MS) {
        faults.push(`${name} cannot keep the input's rate: ${fps.toFixed(1)} fps of ${frameRate.toFixed(frameRate % 1 ? 2 : 0)}`);
      } else if (o.state !== 'live' && progress.outputs.some((x) => x.state === 'live')) problems.push(`${name} is ${o.state}`);
    });
    problems.unshift(...faults);
    const outputs = progress.outputs.length;
    const live = progress.outputs.filter((o) => o.state === 'live').length;
    const down = progress.outputs.some((o) => o.state === 'failed' || o.state === 'retrying' || o.state === 'reconnecting');
    if (delivering === outputs) this.state = 'live';
    else if (live > 0) this.state = 'degraded';
    else if (down) this.state = 'retrying';
    else if (this.state !== 'retrying') this.state = 'starting';
    this.problems = problems;
    // What went wrong is kept as the stream's last error, dated, and marked resolved once every
    // output delivers again.
    const first = faults[0];
    if (first !== undefined) {
      // The same fault going on (a slow output's fps changing) keeps its date; its figures follow.
      const kind = (message: string) => message.split(': ')[0];
      const last = this.lastError;
      if (last && last.resolvedAt === null && kind(last.message) === kind(first)) last.message = first;
      else this.lastError = { message: first, at: now, resolvedAt: null };
    }
    if (this.state === 'live' && this.lastError && this.lastError.resolvedAt === null) this.lastError.resolvedAt = now;
    const healthySince = Math.min(...this.liveSince.map((t) => t ?? now));
    if (this.state === 'live' && this.failures > 0 && healthySince <= now - this.options.healthySeconds * 1000) {
      this.failures = 0;
    }
    if (previous !== this.state) this.emit('change');
  }

  /** Rates over the span back to the newest sample at least RATE_WINDOW_MS old (or the oldest kept). */
  private measureRates(progress: StreamProgress, now: number): void {
    const sample = { t: now, frames: progress.outputs.map((o) => o.frames), bytes: progress.outputs.map((o) => o.server?.bytes ?? 0) };
    this.samples.push(sample);
    while (this.samples.length > 2 && now - this.samples[1].t >= RATE_WINDOW_MS) this.samples.shift();
    const base = this.samples[0];
    const seconds = (now - base.t) / 1000;
    if (seconds <= 0) return;
    this.rates = sample.frames.map((frames, i) => ({
      fps: Math.max(0, frames - base.frames[i]) / seconds,
      bitRate: (Math.max(0, sample.bytes[i] - base.bytes[i]) * 8) / seconds,
    }));
  }

  private checkStall(): void {
    if (!this.child || this.ending !== null) return;
    const limit = (this.options.stallSeconds + (this.sawFrame ? 0 : FIRST_FRAME_GRACE_S)) * 1000;
    const idle = Date.now() - this.lastAdvanceAt;
    if (idle < limit) return;
    this.ending = { stall: `stalled: no frame for ${Math.round(idle / 1000)} s (${this.sawFrame ? 'the input or the output stopped moving' : 'nothing came out of the start'}), restarted` };
    void this.endChild();
  }

  /** Asks the runner to stop, then SIGKILL after the grace period; resolves when it has exited. */
  private async endChild(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.connected) child.send({ type: 'stop' } satisfies ToRunner);
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.stopGraceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    this.child = null;
    this.liveSince = this.liveSince.map(() => null);
    const ending = this.ending;
    this.ending = null;
    if (ending === 'stop') return; // stop() sets the state
    if (code === DEADLINE_EXIT_CODE && this.deadline !== null && Date.now() >= this.deadline) {
      // It ended itself at its lease's deadline: another node may run the stream by now, so
      // this one is stopped, never retried; the cluster decides where it runs next.
      this.clearRetry();
      this.state = 'stopped';
      this.emit('change');
      return;
    }
    if (ending === 'restart') {
      this.launch();
      return;
    }
    if (ending === null && code === 0 && this.reported?.type === 'done') {
      this.state = 'finished';
      this.emit('change');
      return;
    }
    let message: string;
    // A stream that asks more than the operator's bounds would ask it again at every retry.
    const permanent = ending === null && this.reported?.type === 'error' && PERMANENT_CODES.includes(this.reported.code);
    if (ending !== null) message = ending.stall;
    else if (this.reported?.type === 'error') message = this.reported.message;
    else {
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
      message = `the stream's process ${how}${tail ? `: ${redactUrl(tail)}` : ''}`;
    }
    this.fail(message, permanent);
  }

  private fail(message: string, permanent = false): void {
    // One clock reading for both: the next retry is exactly the backoff after the failure.
    const now = Date.now();
    this.lastError = { message, at: now, resolvedAt: null };
    this.failures++;
    if (permanent || this.failures >= this.options.maxAttempts) {
      this.state = 'failed';
      this.nextRetryAt = null;
      this.emit('change');
      return;
    }
    this.restarts++;
    const delay = backoffDelay(this.failures, this.options);
    this.state = 'retrying';
    this.nextRetryAt = now + delay;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.nextRetryAt = null;
      this.launch();
    }, delay);
    this.emit('change');
  }
}
