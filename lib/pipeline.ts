// pipeline(): one decoding thread and one thread per output around a FrameRing, run and watched
// from the caller's thread: the threads' reports become progress and stats, an output's failure
// stays its own, the input's (or every output's) failure or an abort stops them all. The options
// and result types are in pipeline-options.ts, the threads' code in pipeline-worker.ts.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { StreamcoderError } from './errors';
import type { WriterStats } from './frame-writer';
import {
  abortedBeforeStart, normalisePipeline, type OutputProgress, type OutputStats, type PipelineAbortError, type PipelineOptions, type PipelineStats,
} from './pipeline-options';
import type { RingContents, SerializedError } from './pipeline-worker';
import { FrameRing } from './ring';
import type { StreamInfo } from './types';

export type {
  OutputProgress, OutputStats, PipelineAbortError, PipelineAudio, PipelineOptions, PipelineOutput, PipelineProgress, PipelineServerOptions, PipelineStats,
} from './pipeline-options';

/** How long the threads get to stop by themselves after an abort before they are terminated. */
const STOP_GRACE_MS = 3000;
const PROGRESS_INTERVAL_MS = 500;

/**
 * Where the worker script is. Workers run plain JavaScript, so this is always the compiled
 * dist/pipeline-worker.js: beside this file once built, and ../dist/ when this file runs from its
 * TypeScript source (tests, ts-node), which is why `npm test` builds dist/ first.
 */
export function pipelineWorkerScript(): string {
  const dir = __filename.endsWith('.ts') ? path.join(__dirname, '..', 'dist') : __dirname;
  const file = path.join(dir, 'pipeline-worker.js');
  if (!fs.existsSync(file)) {
    throw new StreamcoderError(`The pipeline worker script ${file} is missing: build the library (npm run build:ts)`, 'ERR_INTERNAL');
  }
  return file;
}

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
  label: string;
  progress: OutputProgress;
  streamSeconds: number;
  end: EndReport | null;
}

/**
 * Decodes `input` on one worker thread and pushes it to `output` (or to each of `outputs`) from
 * threads of their own, the frames crossing in place through a {@link FrameRing} of `slots`
 * frames that every output reads: a slow decoder never stalls the stream more than the ring
 * allows, a slow output does not stall the others (`onSlow`), and this thread stays free.
 * Resolves when the input ends (or `maxFrames`); rejects with the decoding side's
 * StreamcoderError, or the outputs' when every output failed, after stopping every thread; or
 * with ERR_ABORTED when `signal` aborts. Either way no thread and no connection is left behind.
 *
 * @example
 * const controller = new AbortController();
 * const stats = await pipeline({
 *   input: 'clip.mp4',
 *   output: 'rtmp://127.0.0.1/live/cam',
 *   server: { codec: 'libx264', preset: 'veryfast', bitRate: 4_000_000 },
 *   slots: 8,
 *   signal: controller.signal,
 *   onProgress: ({ frames, depth }) => console.log(frames, depth),
 * });
 * console.log(`${stats.frames} frames, ${stats.fps.toFixed(1)} fps`);
 *
 * @example
 * // A ladder: one decode, three encodes on three threads.
 * const { outputs } = await pipeline({
 *   input: 'show.mp4',
 *   outputs: [
 *     { url: 'rtmp://127.0.0.1/live/hd', server: { bitRate: '4.5M' } },
 *     { url: 'rtmp://127.0.0.1/live/720', width: 1280, height: 720, server: { bitRate: '2.5M' } },
 *     { url: 'rtmp://127.0.0.1/live/360', width: 640, height: 360, server: { bitRate: '800k' } },
 *   ],
 * });
 * for (const o of outputs) console.log(o.url, o.frames, o.dropped, o.error?.message ?? 'ok');
 */
export function pipeline(options: PipelineOptions): Promise<PipelineStats> {
  const trace: { stack?: string } = {};
  Error.captureStackTrace(trace, pipeline);
  let data: ReturnType<typeof normalisePipeline>;
  let script: string;
  try {
    data = normalisePipeline(options);
    script = pipelineWorkerScript();
  } catch (error) {
    return Promise.reject(error);
  }
  const { signal, onProgress } = options;
  if (signal?.aborted) return Promise.reject(abortedBeforeStart());

  return new Promise<PipelineStats>((resolve, reject) => {
    const started = performance.now();
    const decodeWorker = new Worker(script, { workerData: data.decode });
    const outputs: OutputRun[] = data.pushes.map((push) => ({
      worker: new Worker(script, { workerData: push }),
      label: push.label,
      progress: { url: push.label, state: 'starting', frames: 0, dropped: 0, server: null, error: null },
      streamSeconds: 0,
      end: null,
    }));
    let ring: FrameRing | null = null;
    let outputsStarted = false;
    let failure: unknown = null;
    let decodeDone: EndReport | null = null;
    let decodeEnd: EndReport | null = null;
    let aborted: StreamcoderError | null = null;
    let running = 1 + outputs.length;
    let grace: NodeJS.Timeout | null = null;
    let dropped = 0;
    // Pictures (or video packets) delivered into the ring, as last reported.
    let decodedFrames = 0;
    let inputInfo: StreamInfo | null = null;
    let audioStreams = 0;

    const servedFrames = () => Math.max(0, ...outputs.map((o) => o.progress.frames));
    const copyOf = (o: OutputRun): OutputProgress => ({ ...o.progress });
    const progress = (): void => {
      if (!onProgress || !ring) return;
      const s = ring.stats;
      try {
        onProgress({
          frames: servedFrames(),
          decoded: decodedFrames,
          // Pictures in the ring (at most `slots`), not the sound between them.
          depth: s.pictures,
          seconds: (performance.now() - started) / 1000,
          streamSeconds: Math.max(0, ...outputs.map((o) => o.streamSeconds)),
          dropped,
          server: outputs[0].progress.server,
          input: inputInfo,
          outputs: outputs.map(copyOf),
        });
      } catch (error) {
        fail(error);
      }
    };
    const timer = setInterval(progress, PROGRESS_INTERVAL_MS);

    // Stops everything once: the ring carries the reason to every thread; a thread stuck in a
    // native call (a network read, a connect) gets the grace period, then is terminated.
    function fail(error: unknown): void {
      if (failure !== null) return;
      failure = error;
      ring?.abort(error);
      if (!outputsStarted) for (const o of outputs) o.worker.postMessage({ type: 'stop' });
      outputsStarted = true;
      grace = setTimeout(() => {
        void decodeWorker.terminate();
        for (const o of outputs) void o.worker.terminate();
      }, STOP_GRACE_MS);
    }

    const onAbort = (): void => {
      aborted = new StreamcoderError('The pipeline was aborted', 'ERR_ABORTED');
      fail(aborted);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const atCaller = (e: StreamcoderError): StreamcoderError => {
      e.stack = `${e.name}: ${e.message}\n${(trace.stack ?? '').split('\n').slice(1).join('\n')}`;
      return e;
    };
    const fromWorker = (error: SerializedError): StreamcoderError => atCaller(new StreamcoderError(error.message, error.code, error.averror));

    /**
     * An output stopped for good: the others go on, unless none is left, when the run fails with
     * the first output's error (the one a single-output pipeline always had).
     */
    const outputFailed = (o: OutputRun, error: StreamcoderError): void => {
      if (o.progress.state === 'failed') return;
      o.progress.state = 'failed';
      o.progress.error = error;
      if (failure !== null) return;
      if (outputs.every((x) => x.progress.state === 'failed')) {
        const first = outputs.find((x) => x.progress.error)!.progress.error!;
        fail(outputs.length > 1 ? atCaller(new StreamcoderError(`Every output failed; ${outputs[0].label}: ${outputs[0].progress.error!.message}`, first.code, first.averror)) : first);
      }
    };

    decodeWorker.on('message', (message: WorkerMessage): void => {
      switch (message.type) {
        case 'ready':
          inputInfo = message.info;
          audioStreams = message.contents.sound.streams.length;
          ring = FrameRing.attach(message.buffer);
          if (failure !== null) {
            ring.abort(failure);
          } else {
            outputsStarted = true;
            for (const o of outputs) {
              o.worker.postMessage({ type: 'start', buffer: message.buffer, info: message.info, contents: message.contents });
            }
          }
          break;
        case 'decoded':
          decodedFrames = message.frames;
          dropped = message.dropped;
          break;
        case 'done':
        case 'stopped':
          if (message.type === 'done') decodeDone = message;
          decodeEnd = message;
          break;
        case 'error':
          fail(fromWorker(message.error));
          break;
      }
    });
    for (const o of outputs) {
      o.worker.on('message', (message: WorkerMessage): void => {
        switch (message.type) {
          case 'opened':
            o.progress.state = 'running';
            break;
          case 'stats':
            o.progress.frames = message.frames;
            o.progress.dropped = message.dropped;
            o.progress.server = message.server;
            o.streamSeconds = message.streamSeconds;
            break;
          case 'done':
          case 'stopped':
            o.end = message;
            o.progress.state = message.type;
            o.progress.frames = message.frames;
            o.progress.dropped = message.dropped ?? o.progress.dropped;
            // Stopped too, the output closed first: its last figures.
            if (message.server) o.progress.server = message.server;
            o.streamSeconds = message.streamSeconds ?? o.streamSeconds;
            break;
          case 'error':
            if (message.server) o.progress.server = message.server;
            if (message.dropped !== undefined) o.progress.dropped = message.dropped;
            outputFailed(o, fromWorker(message.error));
            break;
        }
      });
    }

    const finish = (): void => {
      if (--running > 0) return;
      clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
      // The end's report, whatever the end (a throw from onProgress here fails the run).
      progress();
      if (grace) clearTimeout(grace);
      const figures = (d: EndReport | null): PipelineStats => {
        const stats = ring?.stats;
        const perOutput: OutputStats[] = outputs.map((o) => {
          const streamSeconds = o.end?.streamSeconds ?? o.streamSeconds;
          return {
            ...copyOf(o),
            streamSeconds,
            fps: streamSeconds ? o.progress.frames / streamSeconds : 0,
            pushFps: o.end && o.end.busySeconds > 0 ? o.end.frames / o.end.busySeconds : 0,
          };
        });
        const frames = servedFrames();
        const streamSeconds = Math.max(0, ...perOutput.map((o) => o.streamSeconds));
        const pushing = perOutput.filter((o) => o.pushFps > 0);
        const firstFrames = outputs.map((o) => o.end?.firstFrameAt).filter((t): t is number => typeof t === 'number');
        return {
          frames,
          seconds: (performance.now() - started) / 1000,
          streamSeconds,
          fps: streamSeconds ? frames / streamSeconds : 0,
          dropped,
          decodeFps: d && d.busySeconds > 0 ? d.frames / d.busySeconds : 0,
          pushFps: pushing.length ? Math.min(...pushing.map((o) => o.pushFps)) : 0,
          maxDepth: stats?.maxDepth ?? 0,
          producerWaits: stats?.producerWaits ?? 0,
          consumerWaits: stats?.consumerWaits ?? 0,
          server: perOutput[0].server,
          firstFrameAt: firstFrames.length ? Math.min(...firstFrames) : null,
          outputs: perOutput,
          audioStreams,
        };
      };
      if (failure !== null) {
        if (failure === aborted) (aborted as PipelineAbortError).stats = figures(decodeEnd);
        reject(failure);
        return;
      }
      resolve(figures(decodeDone));
    };

    decodeWorker.on('exit', (code: number): void => {
      if (code !== 0 && failure === null) fail(new StreamcoderError(`The decode thread of the pipeline exited with code ${code}`, 'ERR_INTERNAL'));
      // A thread that stopped because another aborted the ring: the ring carries the cause,
      // whose own report, on another port, may not have arrived yet (messages from several
      // workers are not ordered). Without a cause, a decoder that ended without finishing fails the run.
      if (failure === null && !decodeDone) {
        const carried = ring?.error;
        fail(carried ? atCaller(carried) : new StreamcoderError('The decode thread of the pipeline ended without finishing', 'ERR_INTERNAL'));
      }
      finish();
    });
    decodeWorker.on('error', (error: Error): void => {
      fail(new StreamcoderError(`The decode thread of the pipeline crashed: ${error.message}`, 'ERR_INTERNAL'));
    });
    outputs.forEach((o, reader) => {
      const lost = (why: string): void => {
        // A thread that died while reading would hold the ring for ever: its reader leaves.
        if (ring && o.progress.state !== 'failed') FrameRing.attach(ring.buffer, { reader }).detach();
        outputFailed(o, new StreamcoderError(`The thread of ${o.label} ${why}`, 'ERR_INTERNAL'));
      };
      o.worker.on('exit', (code: number): void => {
        if (failure === null && o.progress.state !== 'failed' && !o.end) {
          const carried = ring?.error;
          if (carried) fail(atCaller(carried));
          else lost(code !== 0 ? `exited with code ${code}` : 'ended without finishing');
        }
        finish();
      });
      o.worker.on('error', (error: Error): void => lost(`crashed: ${error.message}`));
    });
  });
}
