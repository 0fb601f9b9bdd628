// pipeline(): one decoding thread and one thread per output around a FrameRing. This file is the
// entry (the options checked, the worker script found); the run, watched from the caller's thread,
// is in run.ts; the options and result types in options.ts; the threads' code in worker.ts; the
// sound's in sound.ts.
import fs from 'node:fs';
import path from 'node:path';
import { StreamcoderError } from '../errors';
import { abortedBeforeStart, normalisePipeline, type PipelineOptions, type PipelineStats } from './options';
import { RelayRun, NeedsWorkers, relayCanRun } from './relay-run';
import { PipelineRun } from './run';

export type {
  OutputProgress, OutputRetry, OutputStats, PipelineAbortError, PipelineAudio, PipelineOptions, PipelineOutput, PipelineProgress, PipelineServerOptions, PipelineStats,
} from './options';

/**
 * Where the worker script is. Workers run plain JavaScript, so this is always the compiled
 * dist/pipeline/worker.js: beside this file once built, and in ../../dist/pipeline/ when this file
 * runs from its TypeScript source (tests, ts-node), which is why `npm test` builds dist/ first.
 */
export function pipelineWorkerScript(): string {
  const dir = __filename.endsWith('.ts') ? path.join(__dirname, '..', '..', 'dist', 'pipeline') : __dirname;
  const file = path.join(dir, 'worker.js');
  if (!fs.existsSync(file)) {
    throw new StreamcoderError(`The pipeline worker script ${file} is missing: build the library (npm run build:ts)`, 'ERR_INTERNAL');
  }
  return file;
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
  if (options.signal?.aborted) return Promise.reject(abortedBeforeStart());
  const onWorkers = (): Promise<PipelineStats> => {
    if (options.signal?.aborted) return Promise.reject(abortedBeforeStart());
    return new PipelineRun(options, data, script, trace).result;
  };
  try {
    if (data.engine === 'workers' || !relayCanRun(data)) return onWorkers();
    // The relay hands over to the worker threads (before anything was sent) when the input's
    // sound turns out to need encoding for an output's container.
    return new RelayRun(options, data, trace).result.catch((error: unknown) => {
      if (error instanceof NeedsWorkers) return onWorkers();
      throw error;
    });
  } catch (error) {
    return Promise.reject(error);
  }
}
