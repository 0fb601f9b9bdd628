// One run of pipeline(), watched from the caller's thread: it starts the decode thread and one
// thread per output, turns their messages into progress and the final stats, keeps an output's
// failure its own (starting it again on a new thread after a backoff, with `retryOutputs`), and
// stops every thread once when the input fails, no output is left running, or the caller aborts.
// Its steps: start, the messages of each side, the threads' exits, retries, fail, finish.
import { Worker } from 'node:worker_threads';
import { StreamcoderError } from '../errors';
import { FrameRing } from '../ring';
import type { StreamInfo } from '../types';
import type { WriterStats } from '../writer/frame-writer';
import { pipelineStats, pixelRateFault, type normalisePipeline, type OutputProgress, type OutputRetry, type PipelineAbortError, type PipelineOptions, type PipelineStats } from './options';
import type { PushWorkerData, RingContents, SerializedError, StartMessage } from './worker';

/** How long the threads get to stop by themselves after an abort before they are terminated. */
const STOP_GRACE_MS = 3000;
const PROGRESS_INTERVAL_MS = 500;

/** A thread's last word ('done', or 'stopped' by another thread or the caller). */
type EndReport = {
  type: 'done' | 'stopped';
  frames: number;
  busySeconds: number;
  dropped?: number;
  firstFrameAt?: number | null;
  server?: WriterStats;
  streamSeconds?: number;
};

type WorkerMessage =
  | { type: 'ready'; buffer: SharedArrayBuffer; info: StreamInfo; contents: RingContents }
  | EndReport
  | { type: 'opened' }
  | { type: 'stats'; frames: number; dropped: number; server: WriterStats; streamSeconds: number }
  | { type: 'decoded'; frames: number; dropped: number }
  | { type: 'error'; error: SerializedError; dropped?: number; server?: WriterStats | null };

/** One output's thread and what it said last. */
interface OutputRun {
  worker: Worker;
  /** What its thread is started with (again, for a retry). */
  readonly push: PushWorkerData;
  label: string;
  progress: OutputProgress;
  streamSeconds: number;
  end: EndReport | null;
  /** Pictures its earlier threads handed over, before the current one (retries). */
  framesBefore: number;
  /** Failures in a row, for the retry's backoff, and when its current thread opened its Server. */
  failures: number;
  openedAt: number;
  /** The pending retry, while `retrying` and its failed thread has exited. */
  retryTimer: NodeJS.Timeout | null;
}

const copyOf = (o: OutputRun): OutputProgress => ({ ...o.progress });

export class PipelineRun {
  readonly result: Promise<PipelineStats>;
  readonly #options: PipelineOptions;
  readonly #script: string;
  readonly #retry: OutputRetry | null;
  readonly #maxPixelRate: number | null;
  #startMessage: StartMessage | null = null;
  /** The caller's stack, which errors from the threads are given (they have none of their own here). */
  readonly #trace: { stack?: string };
  readonly #started = performance.now();
  readonly #decodeWorker: Worker;
  readonly #outputs: OutputRun[];
  readonly #timer: NodeJS.Timeout;
  #settlers: { resolve: (stats: PipelineStats) => void; reject: (error: unknown) => void } | null = null;
  #ring: FrameRing | null = null;
  #outputsStarted = false;
  #failure: unknown = null;
  #aborted: StreamcoderError | null = null;
  #decodeDone: EndReport | null = null;
  #decodeEnd: EndReport | null = null;
  #running: number;
  #grace: NodeJS.Timeout | null = null;
  #dropped = 0;
  // Pictures (or video packets) delivered into the ring, as last reported.
  #decodedFrames = 0;
  #inputInfo: StreamInfo | null = null;
  #audioStreams = 0;
  readonly #onAbort = (): void => {
    this.#aborted = new StreamcoderError('The pipeline was aborted', 'ERR_ABORTED');
    this.#fail(this.#aborted);
  };

  /** Starts the threads of `data` (normalised options) from `script`; `result` settles when all have stopped. */
  constructor(options: PipelineOptions, data: ReturnType<typeof normalisePipeline>, script: string, trace: { stack?: string }) {
    this.#options = options;
    this.#script = script;
    this.#retry = data.retry;
    this.#maxPixelRate = data.maxPixelRate;
    this.#trace = trace;
    // The executor runs at once: the settlers are there before any thread can report.
    this.result = new Promise<PipelineStats>((resolve, reject) => {
      this.#settlers = { resolve, reject };
    });
    this.#decodeWorker = new Worker(script, { workerData: data.decode });
    this.#outputs = data.pushes.map((push) => ({
      worker: new Worker(script, { workerData: push }),
      push,
      label: push.label,
      progress: { url: push.label, state: 'starting', frames: 0, dropped: 0, server: null, error: null, retries: 0 },
      streamSeconds: 0,
      end: null,
      framesBefore: 0,
      failures: 0,
      openedAt: 0,
      retryTimer: null,
    }));
    this.#running = 1 + this.#outputs.length;
    this.#timer = setInterval(() => this.#progress(), PROGRESS_INTERVAL_MS);
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#decodeWorker.on('message', (message: WorkerMessage) => this.#onDecodeMessage(message));
    this.#watchDecodeThread();
    for (const o of this.#outputs) this.#watchOutputThread(o);
  }

  /** Frames handed to the Server so far: the most any output handed over. */
  #servedFrames(): number {
    return Math.max(0, ...this.#outputs.map((o) => o.progress.frames));
  }

  #progress(): void {
    const { onProgress } = this.#options;
    if (!onProgress || !this.#ring) return;
    try {
      onProgress({
        frames: this.#servedFrames(),
        decoded: this.#decodedFrames,
        // Pictures in the ring (at most `slots`), not the sound between them.
        depth: this.#ring.stats.pictures,
        seconds: (performance.now() - this.#started) / 1000,
        streamSeconds: Math.max(0, ...this.#outputs.map((o) => o.streamSeconds)),
        dropped: this.#dropped,
        server: this.#outputs[0].progress.server,
        input: this.#inputInfo,
        outputs: this.#outputs.map(copyOf),
      });
    } catch (error) {
      this.#fail(error);
    }
  }

  // Stops everything once: the ring carries the reason to every thread; a thread stuck in a
  // native call (a network read, a connect) gets the grace period, then is terminated.
  #fail(error: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    this.#ring?.abort(error);
    if (!this.#outputsStarted) for (const o of this.#outputs) o.worker.postMessage({ type: 'stop' });
    this.#outputsStarted = true;
    this.#grace = setTimeout(() => {
      void this.#decodeWorker.terminate();
      for (const o of this.#outputs) void o.worker.terminate();
    }, STOP_GRACE_MS);
    // An output waiting for its retry has no thread: it stays failed, and its place is given up.
    for (const o of this.#outputs) {
      if (o.retryTimer === null) continue;
      clearTimeout(o.retryTimer);
      o.retryTimer = null;
      o.progress.state = 'failed';
      this.#finish();
    }
  }

  #atCaller(e: StreamcoderError): StreamcoderError {
    e.stack = `${e.name}: ${e.message}\n${(this.#trace.stack ?? '').split('\n').slice(1).join('\n')}`;
    return e;
  }

  #fromWorker(error: SerializedError): StreamcoderError {
    return this.#atCaller(new StreamcoderError(error.message, error.code, error.averror));
  }

  /**
   * An output's thread failed: the others go on, and with `retryOutputs` it is started again
   * once its thread has exited (see #watchOutputThread), while another output still runs. When none is left
   * running the run fails, with the first output's error (the one a single-output pipeline always had).
   */
  #outputFailed(o: OutputRun, error: StreamcoderError): void {
    if (o.progress.state === 'failed' || o.progress.state === 'retrying') return;
    o.progress.error = error;
    // A thread that stayed up as long as the longest backoff earns a fresh start of the delays.
    if (this.#retry && o.openedAt > 0 && performance.now() - o.openedAt >= this.#retry.maxBackoffMs) o.failures = 0;
    o.openedAt = 0;
    const running = (x: OutputRun) => x.progress.state === 'starting' || x.progress.state === 'running';
    if (this.#failure !== null) {
      o.progress.state = 'failed';
      return;
    }
    if (this.#retry && this.#decodeEnd === null && this.#outputs.some((x) => x !== o && running(x))) {
      o.progress.state = 'retrying';
      return;
    }
    o.progress.state = 'failed';
    const outputs = this.#outputs;
    if (outputs.every((x) => !running(x) && x.end === null)) {
      const first = outputs.find((x) => x.progress.error)!.progress.error!;
      this.#fail(outputs.length > 1 ? this.#atCaller(new StreamcoderError(`Every output failed; ${outputs[0].label}: ${outputs[0].progress.error!.message}`, first.code, first.averror)) : first);
    }
  }

  /** A failed output's thread has exited: its retry is due after the backoff (the place in #running kept for it). */
  #scheduleRetry(o: OutputRun): void {
    const retry = this.#retry!;
    const delay = Math.min(retry.maxBackoffMs, retry.backoffMs * 2 ** Math.min(30, o.failures));
    o.failures++;
    o.retryTimer = setTimeout(() => {
      o.retryTimer = null;
      if (this.#failure !== null || this.#decodeEnd !== null) {
        // The run is over meanwhile: nothing to come back to.
        o.progress.state = 'failed';
        this.#finish();
        return;
      }
      this.#restartOutput(o);
    }, delay);
  }

  #restartOutput(o: OutputRun): void {
    o.framesBefore = o.progress.frames;
    o.progress.retries++;
    o.progress.state = 'starting';
    o.progress.server = null;
    o.end = null;
    o.worker = new Worker(this.#script, { workerData: { ...o.push, rejoin: true } satisfies PushWorkerData });
    this.#watchOutputThread(o);
    o.worker.postMessage(this.#startMessage);
  }

  #onDecodeMessage(message: WorkerMessage): void {
    switch (message.type) {
      case 'ready':
        this.#inputInfo = message.info;
        this.#audioStreams = message.contents.sound.streams.length;
        this.#ring = FrameRing.attach(message.buffer);
        if (this.#failure === null) {
          const tooMuch = pixelRateFault(message.info, this.#outputs.map((o) => o.push), this.#maxPixelRate);
          if (tooMuch) this.#fail(this.#atCaller(tooMuch));
        }
        if (this.#failure !== null) {
          this.#ring.abort(this.#failure);
        } else {
          this.#outputsStarted = true;
          this.#startMessage = { type: 'start', buffer: message.buffer, info: message.info, contents: message.contents };
          for (const o of this.#outputs) o.worker.postMessage(this.#startMessage);
        }
        break;
      case 'decoded':
        this.#decodedFrames = message.frames;
        this.#dropped = message.dropped;
        break;
      case 'done':
      case 'stopped':
        if (message.type === 'done') this.#decodeDone = message;
        this.#decodeEnd = message;
        break;
      case 'error':
        this.#fail(this.#fromWorker(message.error));
        break;
    }
  }

  #onOutputMessage(o: OutputRun, message: WorkerMessage): void {
    switch (message.type) {
      case 'opened':
        o.progress.state = 'running';
        o.progress.error = null;
        o.openedAt = performance.now();
        break;
      case 'stats':
        o.progress.frames = o.framesBefore + message.frames;
        o.progress.dropped = message.dropped;
        o.progress.server = message.server;
        o.streamSeconds = message.streamSeconds;
        break;
      case 'done':
      case 'stopped':
        o.end = message;
        o.progress.state = message.type;
        o.progress.frames = o.framesBefore + message.frames;
        o.progress.dropped = message.dropped ?? o.progress.dropped;
        // Stopped too, the output closed first: its last figures.
        if (message.server) o.progress.server = message.server;
        o.streamSeconds = message.streamSeconds ?? o.streamSeconds;
        break;
      case 'error':
        if (message.server) o.progress.server = message.server;
        if (message.dropped !== undefined) o.progress.dropped = message.dropped;
        this.#outputFailed(o, this.#fromWorker(message.error));
        break;
    }
  }

  #watchDecodeThread(): void {
    this.#decodeWorker.on('exit', (code: number): void => {
      if (code !== 0 && this.#failure === null) this.#fail(new StreamcoderError(`The decode thread of the pipeline exited with code ${code}`, 'ERR_INTERNAL'));
      // A thread that stopped because another aborted the ring: the ring carries the cause,
      // whose own report, on another port, may not have arrived yet (messages from several
      // workers are not ordered). Without a cause, a decoder that ended without finishing fails the run.
      if (this.#failure === null && !this.#decodeDone) {
        const carried = this.#ring?.error;
        this.#fail(carried ? this.#atCaller(carried) : new StreamcoderError('The decode thread of the pipeline ended without finishing', 'ERR_INTERNAL'));
      }
      this.#finish();
    });
    this.#decodeWorker.on('error', (error: Error): void => {
      this.#fail(new StreamcoderError(`The decode thread of the pipeline crashed: ${error.message}`, 'ERR_INTERNAL'));
    });
  }

  #watchOutputThread(o: OutputRun): void {
    const worker = o.worker;
    const failed = () => o.progress.state === 'failed' || o.progress.state === 'retrying';
    const lost = (why: string): void => {
      // A thread that died while reading would hold the ring for ever: its reader leaves.
      if (this.#ring && !failed()) FrameRing.attach(this.#ring.buffer, { reader: o.push.reader }).detach();
      this.#outputFailed(o, new StreamcoderError(`The thread of ${o.label} ${why}`, 'ERR_INTERNAL'));
    };
    worker.on('message', (message: WorkerMessage) => this.#onOutputMessage(o, message));
    worker.on('exit', (code: number): void => {
      if (this.#failure === null && !failed() && !o.end) {
        const carried = this.#ring?.error;
        if (carried) this.#fail(this.#atCaller(carried));
        else lost(code !== 0 ? `exited with code ${code}` : 'ended without finishing');
      }
      if (o.progress.state === 'retrying' && this.#failure === null) this.#scheduleRetry(o);
      else this.#finish();
    });
    worker.on('error', (error: Error): void => lost(`crashed: ${error.message}`));
  }

  /** A thread has exited; after the last, the run settles. */
  #finish(): void {
    if (--this.#running > 0) return;
    clearInterval(this.#timer);
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    // The end's report, whatever the end (a throw from onProgress here fails the run).
    this.#progress();
    if (this.#grace) clearTimeout(this.#grace);
    const settlers = this.#settlers!;
    if (this.#failure !== null) {
      if (this.#failure === this.#aborted) (this.#aborted as PipelineAbortError).stats = this.#figures(this.#decodeEnd);
      settlers.reject(this.#failure);
      return;
    }
    settlers.resolve(this.#figures(this.#decodeDone));
  }

  /** The run's stats, the decoding side's from `decode` (its last report). */
  #figures(decode: EndReport | null): PipelineStats {
    const stats = this.#ring?.stats;
    return pipelineStats(this.#outputs.map((o) => ({
      progress: copyOf(o),
      streamSeconds: o.end?.streamSeconds ?? o.streamSeconds,
      frames: o.end?.frames ?? 0,
      busySeconds: o.end?.busySeconds ?? 0,
      firstFrameAt: o.end?.firstFrameAt ?? null,
    })), {
      seconds: (performance.now() - this.#started) / 1000,
      dropped: this.#dropped,
      decode,
      maxDepth: stats?.maxDepth ?? 0,
      producerWaits: stats?.producerWaits ?? 0,
      consumerWaits: stats?.consumerWaits ?? 0,
      audioStreams: this.#audioStreams,
      engine: 'workers',
    });
  }
}
