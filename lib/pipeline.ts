import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DECODER_OPTION_KEYS, LIBAV_OPTIONS_HINT, type DecoderOptions } from './decoder';
import { StreamcoderError } from './errors';
import type { AudioMode, DecodeWorkerData, PushWorkerData, RingContents, SerializedError } from './pipeline-worker';
import { FrameRing, MAX_SLOTS } from './ring';
import type { WriterStats } from './frame-writer';
import { isConnectedOutput, isLiveUrl } from './network-options';
import { WRITER_OPTION_KEYS, type AudioOptions, type WriterOptions } from './writer-options';
import { PIXEL_FORMATS, type StreamInfo } from './types';
import * as check from './validate';

export interface PipelineOptions {
  /** A file or URL to decode. */
  input: string;
  /** A URL (or file) to push to. */
  output: string;
  /** Options of `Decoder.open`. */
  decoder?: DecoderOptions;
  /**
   * Options of `Server.open`. Size and pixel format always come from the decoded frames;
   * `frameRate` defaults to the input's.
   */
  server?: Omit<WriterOptions, 'from' | 'width' | 'height' | 'audio' | 'video'>;
  /**
   * The input's sound. `true` (the default) carries it when there is one: copied where the
   * output's container takes its codec (AAC from MP4 into FLV/RTMP), else encoded (AAC where the
   * container takes it). `'copy'` insists on copying (ERR_UNSUPPORTED where the container cannot
   * hold the codec); an object encodes with those settings (`{ codec: 'aac', bitRate: '128k' }`);
   * `false` drops it.
   */
  audio?: boolean | 'copy' | AudioOptions;
  /**
   * `'encode'` (the default): decode, scale, encode. `'copy'`: the input's compressed video goes
   * out as it is (no decoder, no encoder: a relay costs almost nothing), paced on the same clock.
   */
  video?: 'encode' | 'copy';
  /** Frames the ring holds between the two threads. Default 8. */
  slots?: number;
  /**
   * true: pushed at the pace of the frame rate (`serveFrameBlock`); false: as fast as the machine
   * goes. Default true for files, false for live inputs (rtmp://, rtsp://, srt://, udp://...),
   * which arrive in real time already: pacing them again only delays them.
   */
  realtime?: boolean;
  /** Restart the input at its end, until `signal` aborts or `maxFrames`. Default false. */
  loop?: boolean;
  /** Stop after this many frames (0, the default: no limit). */
  maxFrames?: number;
  /**
   * Aborting stops both threads (the output closed cleanly: encoder flushed, trailer written);
   * the promise then rejects with ERR_ABORTED, a {@link PipelineAbortError} whose `stats` are the
   * figures of the run so far.
   */
  signal?: AbortSignal;
  /**
   * Called at least once a second, and once at the end, after both threads stopped: also when the
   * run failed or was aborted, with the figures of what was done (the Server's after its close).
   */
  onProgress?: (progress: PipelineProgress) => void;
}

export interface PipelineProgress {
  /** Frames handed to the Server so far (`server.packets`: those that went out). */
  frames: number;
  /** Frames decoded so far (pushed + in the ring). */
  decoded: number;
  /** Pictures in the ring now (as last reported by both threads; the sound between them not counted). */
  depth: number;
  /** Seconds since the call. */
  seconds: number;
  /** Seconds from the first frame pushed to the last so far, as last reported by the pushing thread (0 before the first). */
  streamSeconds: number;
  /** Frames lost on the way (see {@link PipelineStats.dropped}). */
  dropped: number;
  /** The Server's counters as last reported by the pushing thread (null before it opened). */
  server: WriterStats | null;
  /** The input as the decoding thread opened it (null before that). */
  input: StreamInfo | null;
}

export interface PipelineStats {
  /** Frames pushed (every one decoded, unless a side failed). */
  frames: number;
  /** Wall-clock seconds of the whole call, opening and closing included. */
  seconds: number;
  /**
   * Seconds from the first frame pushed to the last: the streaming itself, without the opening
   * before it or the close after it (whose encoder flush, paced, takes a frame time per frame
   * the encoder held back).
   */
  streamSeconds: number;
  /** Throughput: frames / streamSeconds. */
  fps: number;
  /**
   * Frames lost on the way: the packets or frames the decoder found corrupt and skipped. Nothing
   * else drops: a full ring makes the decoder wait, and a late frame is served late, not skipped
   * (it is counted in `server.lateFrames`).
   */
  dropped: number;
  /** What the decoding thread alone could do: frames / its seconds of decoding (ring waits excluded). */
  decodeFps: number;
  /** What the pushing thread alone could do: frames / its seconds in serve calls (ring waits excluded; pacing included when realtime). */
  pushFps: number;
  maxDepth: number;
  /** Times the decoder found the ring full (the push side is the slower one). */
  producerWaits: number;
  /** Times the pusher found the ring empty (the decode side is the slower one). */
  consumerWaits: number;
  /** The Server's own `stats` at close. */
  server: WriterStats | null;
  /**
   * When the first frame was pushed, in ms since the epoch (`performance.timeOrigin + now()`,
   * comparable across threads); with `realtime`, frame k is due `k / frameRate` s later.
   */
  firstFrameAt: number | null;
}

/** What an aborted pipeline rejects with: ERR_ABORTED, and the figures of the run until then. */
export interface PipelineAbortError extends StreamcoderError {
  code: 'ERR_ABORTED';
  stats: PipelineStats;
}

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

/** The keys of {@link PipelineOptions}: any other is refused. */
const PIPELINE_OPTION_KEYS = [
  'input', 'output', 'decoder', 'server', 'audio', 'video', 'slots', 'realtime', 'loop', 'maxFrames', 'signal', 'onProgress',
] as const satisfies readonly (keyof PipelineOptions)[];

function normalise(options: PipelineOptions) {
  if (typeof options !== 'object' || options === null) throw check.invalid('options', 'an object', options);
  check.knownOptions(options, PIPELINE_OPTION_KEYS, 'pipeline');
  const decoder = check.optionsObject(options.decoder, 'decoder') as DecoderOptions;
  const server = check.optionsObject(options.server, 'server') as WriterOptions;
  check.knownOptions(decoder, DECODER_OPTION_KEYS, 'pipeline decoder', LIBAV_OPTIONS_HINT);
  // from, width and height are known, to be refused below with the reason.
  check.knownOptions(server, WRITER_OPTION_KEYS, 'pipeline server', LIBAV_OPTIONS_HINT);
  // One pixel format on both sides. yuv420p when neither says: it is what encoders take, so no
  // thread spends time converting to RGB and back.
  const pixelFormat = decoder.pixelFormat ?? (server.pixelFormat as string | undefined) ?? 'yuv420p';
  check.oneOf(pixelFormat, 'decoder.pixelFormat', PIXEL_FORMATS);
  if (server.pixelFormat !== undefined && server.pixelFormat !== pixelFormat) {
    throw check.invalid('server.pixelFormat', `the decoder's pixel format (${pixelFormat})`, server.pixelFormat);
  }
  for (const side of ['width', 'height', 'from'] as const) {
    if (server[side] !== undefined) throw check.invalid(`server.${side}`, 'nothing (the size comes from the decoder; set decoder.width/height to scale)', server[side]);
  }
  for (const stream of ['audio', 'video'] as const) {
    if (server[stream] !== undefined) throw check.invalid(`server.${stream}`, `nothing (set the pipeline's own ${stream} option)`, server[stream]);
    if ((decoder as Record<string, unknown>)[stream] !== undefined) throw check.invalid(`decoder.${stream}`, `nothing (set the pipeline's own ${stream} option)`, (decoder as Record<string, unknown>)[stream]);
  }
  const video = options.video === undefined ? 'encode' : check.oneOf(options.video, 'video', ['encode', 'copy'] as const);
  let audio: AudioMode = 'auto';
  let audioOptions: AudioOptions = {};
  if (options.audio === false) audio = 'none';
  else if (options.audio === 'copy') audio = 'copy';
  else if (typeof options.audio === 'object' && options.audio !== null) {
    audio = 'encode';
    audioOptions = options.audio;
  } else if (options.audio !== undefined && options.audio !== true) {
    throw check.invalid('audio', "true, false, 'copy' or an object of audio options", options.audio);
  }
  const output = check.string(options.output, 'output');
  const loop = options.loop === undefined ? false : check.boolean(options.loop, 'loop');
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw check.invalid('signal', 'an AbortSignal', options.signal);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw check.invalid('onProgress', 'a function', options.onProgress);
  return {
    decode: {
      streamcoderPipeline: 'decode',
      input: check.string(options.input, 'input'),
      decoder: { ...decoder, pixelFormat: pixelFormat as DecoderOptions['pixelFormat'] },
      slots: options.slots === undefined ? 8 : check.integer(options.slots, 'slots', 2, MAX_SLOTS),
      loop,
      maxFrames: options.maxFrames === undefined ? 0 : check.integer(options.maxFrames, 'maxFrames', 0, Number.MAX_SAFE_INTEGER),
      audio,
      video,
      output,
      format: server.format === undefined ? '' : check.string(server.format, 'server.format'),
    } satisfies DecodeWorkerData,
    push: {
      streamcoderPipeline: 'push',
      output,
      // A live output survives its server going away unless the caller says otherwise.
      server: { ...server, pixelFormat: pixelFormat as WriterOptions['pixelFormat'], reconnect: server.reconnect ?? isConnectedOutput(output) },
      audio: audioOptions,
      video,
      // A live input comes in real time already: pacing it again only adds the probing's backlog as delay.
      realtime: options.realtime === undefined ? !isLiveUrl(options.input as string) : check.boolean(options.realtime, 'realtime'),
      loop,
      liveInput: check.isNetworkUrl(options.input as string),
    } satisfies PushWorkerData,
  };
}

/** The pushing thread's figures: the Server's stats and the seconds from its first frame to its last. */
type PushReport = { server: WriterStats; streamSeconds: number };

/** A thread's last word ('done', or 'stopped' by the other side or the caller); the push side's with its PushReport. */
type EndReport = { type: 'done' | 'stopped'; frames: number; busySeconds: number; firstFrameAt?: number | null } & Partial<PushReport>;

type WorkerMessage =
  | { type: 'ready'; buffer: SharedArrayBuffer; info: StreamInfo; contents: RingContents }
  | EndReport
  | ({ type: 'stats'; frames: number } & PushReport)
  | { type: 'decoded'; frames: number; dropped: number }
  | { type: 'error'; error: SerializedError };

/**
 * Decodes `input` on one worker thread and pushes it to `output` from another, the frames
 * crossing in place through a {@link FrameRing} of `slots` frames: a slow decoder never stalls
 * the stream more than the ring allows, and this thread stays free. Resolves when the input
 * ends (or `maxFrames`); rejects with the failing side's StreamcoderError after stopping the
 * other side, or with ERR_ABORTED when `signal` aborts. Either way no thread and no connection
 * is left behind.
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
 */
export function pipeline(options: PipelineOptions): Promise<PipelineStats> {
  const trace: { stack?: string } = {};
  Error.captureStackTrace(trace, pipeline);
  let data: ReturnType<typeof normalise>;
  let script: string;
  try {
    data = normalise(options);
    script = pipelineWorkerScript();
  } catch (error) {
    return Promise.reject(error);
  }
  const { signal, onProgress } = options;
  if (signal?.aborted) return Promise.reject(new StreamcoderError('The pipeline was aborted before it started', 'ERR_ABORTED'));

  return new Promise<PipelineStats>((resolve, reject) => {
    const started = performance.now();
    const decodeWorker = new Worker(script, { workerData: data.decode });
    const pushWorker = new Worker(script, { workerData: data.push });
    let ring: FrameRing | null = null;
    let pushStarted = false;
    let failure: unknown = null;
    let decodeDone: EndReport | null = null;
    let pushDone: EndReport | null = null;
    // The last word of each thread, 'done' or 'stopped': an aborted run's figures come from them.
    let decodeEnd: EndReport | null = null;
    let pushEnd: EndReport | null = null;
    let aborted: StreamcoderError | null = null;
    let running = 2;
    let grace: NodeJS.Timeout | null = null;
    let pushed: PushReport | null = null;
    let dropped = 0;
    // Pictures (or video packets) delivered into the ring and served from it, as last reported:
    // the ring's own counts include the sound between them.
    let decodedFrames = 0;
    let servedFrames = 0;
    let inputInfo: StreamInfo | null = null;

    const progress = (): void => {
      if (!onProgress || !ring) return;
      const s = ring.stats;
      try {
        onProgress({
          frames: servedFrames,
          decoded: decodedFrames,
          // Pictures in flight: the ring also holds the sound between them.
          depth: Math.min(s.depth, Math.max(0, decodedFrames - servedFrames)),
          seconds: (performance.now() - started) / 1000,
          streamSeconds: pushed?.streamSeconds ?? 0,
          dropped,
          server: pushed?.server ?? null,
          input: inputInfo,
        });
      } catch (error) {
        fail(error);
      }
    };
    const timer = setInterval(progress, PROGRESS_INTERVAL_MS);

    // Stops everything once: the ring carries the reason to both threads; a thread stuck in a
    // native call (a network read, a connect) gets the grace period, then is terminated.
    function fail(error: unknown): void {
      if (failure !== null) return;
      failure = error;
      ring?.abort(error);
      if (!pushStarted) pushWorker.postMessage({ type: 'stop' });
      pushStarted = true;
      grace = setTimeout(() => {
        void decodeWorker.terminate();
        void pushWorker.terminate();
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

    const onMessage = (side: 'decode' | 'push') => (message: WorkerMessage): void => {
      switch (message.type) {
        case 'ready':
          inputInfo = message.info;
          ring = FrameRing.attach(message.buffer);
          if (failure !== null) {
            ring.abort(failure);
          } else {
            pushStarted = true;
            pushWorker.postMessage({ type: 'start', buffer: message.buffer, info: message.info, contents: message.contents });
          }
          break;
        case 'stats':
          pushed = message;
          servedFrames = message.frames;
          break;
        case 'decoded':
          decodedFrames = message.frames;
          dropped = message.dropped;
          break;
        case 'done':
        case 'stopped':
          if (side === 'decode' && message.type === 'done') decodeDone = message;
          if (side === 'decode') decodeEnd = message;
          if (side === 'push') {
            if (message.type === 'done') pushDone = message;
            pushEnd = message;
            // Stopped too, the pushing thread closed its output first: its last figures.
            if (message.server) pushed = { server: message.server, streamSeconds: message.streamSeconds ?? 0 };
            servedFrames = message.frames;
          }
          break;
        case 'error':
          fail(fromWorker(message.error));
          break;
      }
    };
    decodeWorker.on('message', onMessage('decode'));
    pushWorker.on('message', onMessage('push'));

    const onExit = (side: 'decode' | 'push') => (code: number): void => {
      if (code !== 0 && failure === null) {
        fail(new StreamcoderError(`The ${side} thread of the pipeline exited with code ${code}`, 'ERR_INTERNAL'));
      }
      // A thread that stopped because the other aborted the ring: the ring carries the cause,
      // whose own report, on another port, may not have arrived yet (messages from two workers
      // are not ordered). Without a cause, a thread that ended without finishing fails the run.
      if (failure === null && (side === 'decode' ? !decodeDone : !pushDone)) {
        const carried = ring?.error;
        fail(carried ? atCaller(carried) : new StreamcoderError(`The ${side} thread of the pipeline ended without finishing`, 'ERR_INTERNAL'));
      }
      if (--running > 0) return;
      clearInterval(timer);
      signal?.removeEventListener('abort', onAbort);
      // The end's report, whatever the end (a throw from onProgress here fails the run).
      progress();
      if (grace) clearTimeout(grace);
      const figures = (d: EndReport | null, p: EndReport | null): PipelineStats => {
        const stats = ring?.stats;
        const frames = p?.frames ?? servedFrames;
        const streamSeconds = p?.streamSeconds ?? pushed?.streamSeconds ?? 0;
        return {
          frames,
          seconds: (performance.now() - started) / 1000,
          streamSeconds,
          fps: streamSeconds ? frames / streamSeconds : 0,
          dropped,
          decodeFps: d && d.busySeconds > 0 ? d.frames / d.busySeconds : 0,
          pushFps: p && p.busySeconds > 0 ? p.frames / p.busySeconds : 0,
          maxDepth: stats?.maxDepth ?? 0,
          producerWaits: stats?.producerWaits ?? 0,
          consumerWaits: stats?.consumerWaits ?? 0,
          server: p?.server ?? pushed?.server ?? null,
          firstFrameAt: p?.firstFrameAt ?? null,
        };
      };
      if (failure !== null) {
        if (failure === aborted) (aborted as PipelineAbortError).stats = figures(decodeEnd, pushEnd);
        reject(failure);
        return;
      }
      resolve(figures(decodeDone!, pushDone!));
    };
    decodeWorker.on('exit', onExit('decode'));
    pushWorker.on('exit', onExit('push'));
    const onError = (side: string) => (error: Error): void => {
      fail(new StreamcoderError(`The ${side} thread of the pipeline crashed: ${error.message}`, 'ERR_INTERNAL'));
    };
    decodeWorker.on('error', onError('decode'));
    pushWorker.on('error', onError('push'));
  });
}
