// One run of pipeline() on the native relay (native/media/relay.h): the input read and every
// output written on native threads, no JavaScript per item and no V8 isolate per thread. This is
// where the options become the relay's (each output's Server options worked out as a pushing
// thread would), where the relay's figures become progress and stats, and where an output that
// failed alone is started again after its backoff (`retryOutputs`). Its steps: open, plan, start,
// changes, retries, stop, finish.
import type { NativeRelay, NativeRelayOutputStats, NativeRelayStats } from '../../binding';
import { native } from '../binding';
import { normaliseDecoderOptions, type DecoderOptions } from '../decoder';
import { StreamcoderError } from '../errors';
import type { StreamInfo } from '../types';
import { containerTakes, normaliseWriterOptions } from '../writer/options';
import {
  pipelineStats, pixelRateFault, type normalisePipeline, type OutputProgress, type OutputRetry, type PipelineAbortError, type PipelineOptions,
  type PipelineStats,
} from './options';
import { failoverStats, newSwitchEvents } from './failover';
import type { PushWorkerData } from './worker';

/** How long the outputs get to finish by themselves after a stop before their network calls are cut. */
const STOP_GRACE_MS = 3000;
const PROGRESS_INTERVAL_MS = 500;

type Normalised = ReturnType<typeof normalisePipeline>;

/**
 * Whether the relay can run these options: it copies the input's sound or drops it, so an output
 * that asks for its sound encoded goes to the worker threads (which encode once per setting).
 */
export function relayCanRun(data: Normalised): boolean {
  // With fallbacks or a slate every output encodes its sound here (silence must be encoded too).
  return data.failover !== null || data.decode.outputs.every((o) => o.audio.mode !== 'encode');
}

/** One output as the run keeps it (the relay counts its frames and drops across restarts). */
interface OutputRun {
  readonly push: PushWorkerData;
  progress: OutputProgress;
  last: NativeRelayOutputStats | null;
  failures: number;
  openedAt: number;
  retryTimer: NodeJS.Timeout | null;
}

/** What a RelayRun rejects with, before it sent anything, when the sound must be encoded: the worker threads run it instead. */
export class NeedsWorkers extends Error {}

export class RelayRun {
  readonly result: Promise<PipelineStats>;
  readonly #options: PipelineOptions;
  readonly #data: Normalised;
  readonly #retry: OutputRetry | null;
  readonly #trace: { stack?: string };
  readonly #started = performance.now();
  readonly #relay: NativeRelay;
  readonly #outputs: OutputRun[];
  #timer: NodeJS.Timeout | null = null;
  #thumbnailTimer: NodeJS.Timeout | null = null;
  #thumbnailing = false;
  #grace: NodeJS.Timeout | null = null;
  #info: StreamInfo | null = null;
  #audioStreams = 0;
  #switchesSeen = 0;
  #running = false;
  #closed = false;
  #stats: NativeRelayStats | null = null;
  #failure: unknown = null;
  #aborted: StreamcoderError | null = null;
  #settlers: { resolve: (stats: PipelineStats) => void; reject: (error: unknown) => void } | null = null;
  readonly #onAbort = (): void => {
    this.#aborted = new StreamcoderError('The pipeline was aborted', 'ERR_ABORTED');
    this.#fail(this.#aborted);
  };

  /**
   * Opens the input; `result` rejects with {@link NeedsWorkers} (before anything was sent) when
   * an output's container cannot take the input's sound, which must then be encoded.
   */
  constructor(options: PipelineOptions, data: Normalised, trace: { stack?: string }) {
    this.#options = options;
    this.#data = data;
    this.#retry = data.retry;
    this.#trace = trace;
    this.result = new Promise<PipelineStats>((resolve, reject) => {
      this.#settlers = { resolve, reject };
    });
    const decode = data.decode;
    const sound = decode.outputs.some((o) => o.audio.mode !== 'none');
    const failover = data.failover;
    // Copied sound cannot change source or fall silent: with failover it is decoded, and encoded
    // again by each output.
    const readerOf = (input: string, own: DecoderOptions = {}) => normaliseDecoderOptions(input, {
      ...decode.decoder,
      ...own,
      ...(sound ? { audio: failover ? true : 'copy' as const } : {}),
      ...(decode.video === 'copy' ? { video: 'copy' as const } : {}),
    }, 'pipeline decoder');
    const reader = readerOf(decode.input);
    this.#relay = new native.Relay(reader, () => this.#changed(), {
      loop: decode.loop,
      failover: failover && {
        ...failover.native,
        // When no input opens at the start, the slate goes on air at the size asked (else its
        // own) and the frame rate the outputs ask (else 25).
        startWidth: decode.decoder.width ?? 0,
        startHeight: decode.decoder.height ?? 0,
        startFrameRate: typeof data.pushes[0].server.frameRate === 'number' ? data.pushes[0].server.frameRate : 25,
        fallbacks: failover.fallbacks.map((f) => readerOf(f.input, f.decoder)),
        slate: failover.slate && normaliseDecoderOptions(failover.slate.input, { ...failover.slate.decoder, pixelFormat: decode.decoder.pixelFormat }, 'pipeline slate'),
      },
    });
    this.#outputs = data.pushes.map((push) => ({
      push,
      progress: { url: push.label, state: 'starting', frames: 0, dropped: 0, server: null, error: null, retries: 0 },
      last: null,
      failures: 0,
      openedAt: 0,
      retryTimer: null,
    }));
    options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    // The timer keeps the process alive while the run goes on (the relay's threads do not).
    this.#timer = setInterval(() => this.#progress(), PROGRESS_INTERVAL_MS);
    const thumbnails = data.thumbnails;
    if (thumbnails) {
      this.#thumbnailTimer = setInterval(() => {
        if (!this.#running || this.#closed || this.#thumbnailing) return;
        this.#thumbnailing = true;
        this.#relay.thumbnail(thumbnails.width).then((jpeg) => {
          this.#thumbnailing = false;
          if (jpeg && !this.#closed) thumbnails.onThumbnail(jpeg);
        }, () => {
          // A picture that cannot be made smaller is no reason to stop the run: the next try may.
          this.#thumbnailing = false;
        }).catch((error: unknown) => this.#fail(error));
      }, thumbnails.everyMs);
      this.#thumbnailTimer.unref();
    }
    this.#relay.open().then((info) => this.#start(info), (error: unknown) => {
      this.#fail(this.#atCaller(error));
      this.#finishIfOver();
    });
  }

  #atCaller(error: unknown): unknown {
    if (error instanceof StreamcoderError) {
      error.stack = `${error.name}: ${error.message}\n${(this.#trace.stack ?? '').split('\n').slice(1).join('\n')}`;
    }
    return error;
  }

  /** The input is open: each output's sound decided, its Server options made, the threads started. */
  #start(info: StreamInfo): void {
    this.#info = info;
    if (this.#failure !== null) return this.#finishIfOver();
    const audio = info.audio;
    const carries = this.#data.decode.outputs.map((o) => audio !== null && o.audio.mode !== 'none');
    const failover = this.#data.failover !== null;
    if (audio && !failover) {
      const takes = this.#data.decode.outputs.map((o, i) => !carries[i] || containerTakes(o.url, o.format, audio.parameters.codec));
      if (!takes.every(Boolean)) {
        // Encoding is the worker threads' job: nothing was sent yet, they start over.
        this.#close();
        this.#settle({ error: new NeedsWorkers() });
        return;
      }
    }
    this.#audioStreams = failover ? carries.filter(Boolean).length : carries.some(Boolean) ? 1 : 0;
    const tooMuch = pixelRateFault(info, this.#data.pushes, this.#data.maxPixelRate);
    if (tooMuch) {
      this.#fail(this.#atCaller(tooMuch));
      return this.#finishIfOver();
    }
    try {
      const outputs = this.#data.pushes.map((push, i) => ({
        writer: normaliseWriterOptions(push.output, {
          ...push.server,
          from: info,
          ...(push.width !== undefined ? { width: push.width, height: push.height } : {}),
          video: push.video === 'copy' ? 'copy' : 'encode',
          audio: !carries[i] ? false : failover ? this.#data.decode.outputs[i].audio.options : 'copy',
          // A looped input starts its timestamps over, and a live input may too (a publisher that
          // restarts): the output's timeline carries on instead, unless the caller chose otherwise.
          ...(push.server.timeline === undefined && (push.loop || push.liveInput) ? { timeline: 'continue' as const } : {}),
        }, 'pipeline'),
        realtime: push.realtime,
        onSlow: push.onSlow,
        slots: this.#data.decode.slots,
      }));
      this.#relay.start(outputs, { maxFrames: this.#data.decode.maxFrames });
      this.#running = true;
    } catch (error) {
      this.#fail(this.#atCaller(error));
      this.#finishIfOver();
    }
  }

  /** Something changed on a relay thread: an output opened, failed or finished, or the input ended. */
  #changed(): void {
    if (this.#closed) return;
    const stats = this.#read();
    if (!stats) return;
    if (stats.finished && stats.error && this.#failure === null) this.#fail(this.#atCaller(stats.error));
    stats.outputs.forEach((s, i) => this.#outputChanged(this.#outputs[i], s, stats));
    this.#finishIfOver();
  }

  /** The relay's figures now, each output's folded into its progress. */
  #read(): NativeRelayStats | null {
    if (this.#closed || !this.#running) return this.#stats;
    const stats = this.#relay.stats;
    this.#stats = stats;
    this.#switched(stats);
    stats.outputs.forEach((s, i) => {
      const o = this.#outputs[i];
      o.last = s;
      o.progress.frames = s.frames;
      o.progress.dropped = s.dropped;
      if (s.server) o.progress.server = s.server;
    });
    return stats;
  }

  /** Tells onInputSwitch of the switches since the last look. */
  #switched(stats: NativeRelayStats): void {
    const failover = this.#data.failover;
    if (!failover || !stats.input || stats.input.eventCount === this.#switchesSeen) return;
    const events = newSwitchEvents(stats.input, this.#switchesSeen, failover.labels);
    this.#switchesSeen = stats.input.eventCount;
    for (const event of events) {
      try {
        failover.onInputSwitch?.(event);
      } catch (error) {
        this.#fail(error);
      }
    }
  }

  #outputChanged(o: OutputRun, s: NativeRelayOutputStats, relay: NativeRelayStats): void {
    const settled = o.progress.state === 'failed' || o.progress.state === 'retrying' || o.progress.state === 'done' || o.progress.state === 'stopped';
    if (settled) return;
    if (s.state === 'running' && o.progress.state === 'starting') {
      o.progress.state = 'running';
      o.progress.error = null;
      o.openedAt = performance.now();
    } else if (s.state === 'done' || s.state === 'stopped') {
      o.progress.state = s.state;
    } else if (s.state === 'failed') {
      this.#outputFailed(o, this.#atCaller(s.error) as StreamcoderError, relay);
    }
  }

  /**
   * An output failed: the others go on, and with `retryOutputs` it starts again after its backoff
   * while another output still runs. When none is left running the run fails, with the first
   * output's error (the one a single-output pipeline always had).
   */
  #outputFailed(o: OutputRun, error: StreamcoderError, relay: NativeRelayStats): void {
    o.progress.error = error;
    if (this.#retry && o.openedAt > 0 && performance.now() - o.openedAt >= this.#retry.maxBackoffMs) o.failures = 0;
    o.openedAt = 0;
    const running = (x: OutputRun) => x.progress.state === 'starting' || x.progress.state === 'running';
    if (this.#retry && this.#failure === null && !relay.finished && this.#outputs.some((x) => x !== o && running(x))) {
      o.progress.state = 'retrying';
      this.#scheduleRetry(o);
      return;
    }
    o.progress.state = 'failed';
    if (this.#failure === null && this.#outputs.every((x) => !running(x) && x.progress.state !== 'done' && x.progress.state !== 'stopped')) {
      const outputs = this.#outputs;
      const first = outputs.find((x) => x.progress.error)!.progress.error!;
      this.#fail(outputs.length > 1
        ? this.#atCaller(new StreamcoderError(`Every output failed; ${outputs[0].push.label}: ${outputs[0].progress.error!.message}`, first.code, first.averror))
        : first);
    }
  }

  #scheduleRetry(o: OutputRun): void {
    const retry = this.#retry!;
    const delay = Math.min(retry.maxBackoffMs, retry.backoffMs * 2 ** Math.min(30, o.failures));
    o.failures++;
    o.retryTimer = setTimeout(() => {
      o.retryTimer = null;
      const index = this.#outputs.indexOf(o);
      if (this.#failure !== null || !this.#relay.restartOutput(index)) {
        // The run is over meanwhile: nothing to come back to.
        o.progress.state = 'failed';
        this.#finishIfOver();
        return;
      }
      o.progress.retries++;
      o.progress.state = 'starting';
      o.progress.server = null;
    }, delay);
  }

  // Stops everything once: the reader and every output finish (trailers written); past the
  // grace period their blocked network calls are cut.
  #fail(error: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = error;
    if (!this.#closed) {
      this.#relay.stop();
      this.#grace = setTimeout(() => this.#relay.abort(), STOP_GRACE_MS);
    }
    for (const o of this.#outputs) {
      if (o.retryTimer === null) continue;
      clearTimeout(o.retryTimer);
      o.retryTimer = null;
      o.progress.state = 'failed';
    }
    this.#finishIfOver();
  }

  #progress(): void {
    const { onProgress } = this.#options;
    this.#read();
    if (!onProgress || !this.#info || this.#closed) return;
    try {
      onProgress(this.#progressNow());
    } catch (error) {
      this.#fail(error);
    }
  }

  #progressNow() {
    const stats = this.#stats;
    return {
      frames: this.#servedFrames(),
      decoded: stats?.frames ?? 0,
      depth: Math.max(0, ...(stats?.outputs ?? []).map((o) => o.depth)),
      seconds: (performance.now() - this.#started) / 1000,
      streamSeconds: Math.max(0, ...(stats?.outputs ?? []).map((o) => o.streamSeconds)),
      dropped: stats?.corruptPackets ?? 0,
      server: this.#outputs[0].progress.server,
      input: this.#info,
      outputs: this.#outputs.map((o) => ({ ...o.progress })),
      failover: stats?.input && this.#data.failover ? failoverStats(stats.input, this.#data.failover.labels) : null,
    };
  }

  #servedFrames(): number {
    return Math.max(0, ...this.#outputs.map((o) => o.progress.frames));
  }

  /** The run is over once the input has ended and every output finished, none waiting for a retry. */
  #finishIfOver(): void {
    if (this.#closed) return;
    const stats = this.#stats;
    const over = !this.#running
      ? this.#failure !== null
      : stats !== null && stats.finished && stats.outputs.every((s) => s.state !== 'starting' && s.state !== 'running') &&
        this.#outputs.every((o) => o.retryTimer === null);
    if (!over) return;
    // Outputs that ended with the run keep their last word.
    for (const o of this.#outputs) {
      if (o.progress.state === 'starting' || o.progress.state === 'running' || o.progress.state === 'retrying') {
        o.progress.state = o.last?.state === 'done' || o.last?.state === 'stopped' ? o.last.state : this.#failure !== null ? 'stopped' : 'done';
      }
    }
    if (this.#options.onProgress && this.#info) {
      try {
        this.#options.onProgress(this.#progressNow());
      } catch (error) {
        if (this.#failure === null) this.#failure = error;
      }
    }
    this.#close();
    if (this.#failure !== null) {
      if (this.#failure === this.#aborted) (this.#aborted as PipelineAbortError).stats = this.#figures();
      this.#settle({ error: this.#failure });
      return;
    }
    this.#settle({ stats: this.#figures() });
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#thumbnailTimer) clearInterval(this.#thumbnailTimer);
    if (this.#grace) clearTimeout(this.#grace);
    this.#options.signal?.removeEventListener('abort', this.#onAbort);
    this.#relay.close();
  }

  #settle(outcome: { stats: PipelineStats } | { error: unknown }): void {
    const settlers = this.#settlers;
    this.#settlers = null;
    if (!settlers) return;
    if ('stats' in outcome) settlers.resolve(outcome.stats);
    else settlers.reject(outcome.error);
  }

  #figures(): PipelineStats {
    const stats = this.#stats;
    const outputs = stats?.outputs ?? [];
    return pipelineStats(this.#outputs.map((o) => ({
      progress: { ...o.progress },
      streamSeconds: o.last?.streamSeconds ?? 0,
      frames: o.last?.frames ?? 0,
      busySeconds: o.last?.busySeconds ?? 0,
      firstFrameAt: o.last?.firstFrameAt ?? null,
    })), {
      seconds: (performance.now() - this.#started) / 1000,
      dropped: stats?.corruptPackets ?? 0,
      decode: stats,
      maxDepth: Math.max(0, ...outputs.map((o) => o.maxDepth)),
      producerWaits: stats?.producerWaits ?? 0,
      consumerWaits: outputs.reduce((sum, o) => sum + o.consumerWaits, 0),
      audioStreams: this.#audioStreams,
      input: stats?.input && this.#data.failover ? failoverStats(stats.input, this.#data.failover.labels) : null,
      engine: 'native',
    });
  }
}
