// What `pipeline()` takes and gives, and the strict check of its options: everything a caller can
// get wrong is refused here, on the caller's thread, before any thread, file or connection opens.
import { DECODER_OPTION_KEYS, LIBAV_OPTIONS_HINT, type DecoderOptions } from '../decoder';
import { StreamcoderError } from '../errors';
import type { WriterStats } from '../writer/frame-writer';
import { isConnectedOutput, isLiveUrl } from '../network-options';
import { FAILOVER_OPTION_KEYS, normaliseFailover, type Failover, type FailoverOptions, type FailoverStats } from './failover';
import type { AudioMode, OutputAudio } from './sound';
import { normaliseThumbnails, type ThumbnailOptions, type Thumbnails } from './thumbnails';
import type { DecodeWorkerData, PushWorkerData } from './worker';
import { redactUrl } from '../redact';
import { MAX_READERS, MAX_SLOTS } from '../ring';
import { PIXEL_FORMATS, type StreamInfo } from '../types';
import * as check from '../validate';
import { WRITER_OPTION_KEYS, normaliseWriterOptions, type AudioOptions, type WriterOptions } from '../writer/options';

/** Options of `Server.open` that a pipeline's output may set: the size and the streams are the pipeline's. */
export type PipelineServerOptions = Omit<WriterOptions, 'from' | 'width' | 'height' | 'audio' | 'video'>;

/** The input's sound, for an output: see {@link PipelineOptions.audio}. */
export type PipelineAudio = boolean | 'copy' | AudioOptions;

/** One output of a pipeline with several (`outputs`). */
export interface PipelineOutput {
  /** A URL (or file) to push to. Two outputs may not share one. */
  url: string;
  /**
   * The size this output encodes at (both or neither; even numbers for yuv420p encoders). Default:
   * the decoded frames' size. Each output scales the shared frames on its own thread.
   */
  width?: number;
  height?: number;
  /** Options of `Server.open` for this output (bit rate, codec, preset...). */
  server?: PipelineServerOptions;
  /** This output's sound (default: the pipeline's `audio`). */
  audio?: PipelineAudio;
  /** What happens when this output falls behind the others (default: the pipeline's `onSlow`). */
  onSlow?: 'drop' | 'wait';
}

export interface PipelineOptions extends FailoverOptions {
  /** A file or URL to decode. */
  input: string;
  /** A URL (or file) to push to. Either `output` or `outputs`. */
  output?: string;
  /**
   * Several outputs fed from one decode (a rendition ladder, or one stream to several places):
   * each encodes and pushes on its own thread from the same frames, without a copy per output.
   * An output that fails (its server refuses it, reconnecting gives up) stops alone: the others
   * go on, and its error is in `stats.outputs[i].error`; the pipeline rejects only when every
   * output failed.
   */
  outputs?: PipelineOutput[];
  /** Options of `Decoder.open`. */
  decoder?: DecoderOptions;
  /**
   * Options of `Server.open` for `output` (with `outputs`, each output's `server`). Size and pixel
   * format come from the decoded frames; `frameRate` defaults to the input's.
   */
  server?: PipelineServerOptions;
  /**
   * The input's sound. `true` (the default) carries it when there is one: copied where the
   * output's container takes its codec (AAC from MP4 into FLV/RTMP), else encoded (AAC where the
   * container takes it). `'copy'` insists on copying (ERR_UNSUPPORTED where the container cannot
   * hold the codec); an object encodes with those settings (`{ codec: 'aac', bitRate: '128k' }`);
   * `false` drops it. With several outputs the sound is encoded once per distinct setting and
   * the packets are shared.
   */
  audio?: PipelineAudio;
  /**
   * `'encode'` (the default): decode, scale, encode. `'copy'`: the input's compressed video goes
   * out as it is (no decoder, no encoder: a relay costs almost nothing), paced on the same clock.
   */
  video?: 'encode' | 'copy';
  /** Frames the ring holds between the decoding thread and the outputs. Default 8. */
  slots?: number;
  /**
   * When one output falls behind the others (a slow link, a slow encoder): `'drop'` moves it past
   * the oldest frames it has not started (counted in its `dropped`), so the others keep their
   * pace; `'wait'` holds every output to the slowest. Default: `'drop'` when `realtime`, `'wait'`
   * otherwise (an unpaced transcode loses nothing). One output never drops.
   */
  onSlow?: 'drop' | 'wait';
  /**
   * true: pushed at the pace of the frame rate (`serveFrameBlock`); false: as fast as the machine
   * goes. Default true for files, false for live inputs (rtmp://, rtsp://, srt://, udp://...),
   * which arrive in real time already: pacing them again only delays them. With fallbacks or a
   * slate, true (a file fallback would otherwise go out as fast as it is read).
   */
  realtime?: boolean;
  /** Restart the input at its end, until `signal` aborts or `maxFrames`. Default false. */
  loop?: boolean;
  /**
   * An output that fails while others go on (its server down or refusing at the start, its
   * reconnecting given up, its thread crashed) is started again after `backoffMs`, doubling up to
   * `maxBackoffMs` (the delay starts over once it stayed up that long), on a new thread, from the
   * frames coming then: what it missed counts in its `dropped`, and the other outputs are not
   * touched. `true` is `{ backoffMs: 1000, maxBackoffMs: 30000 }`. Default false: a failed output
   * stays failed. Either way the pipeline rejects once no output is left running.
   */
  retryOutputs?: boolean | { backoffMs?: number; maxBackoffMs?: number };
  /**
   * The most pixels a second the outputs may encode together: each encoding output's size times
   * the input's frame rate, summed. Checked once the input is open, before any output starts;
   * more fails the pipeline with ERR_LIMIT, saying what each output asks. Copied video is not
   * counted. Default: no bound.
   */
  maxPixelRate?: number;
  /** Stop after this many frames (0, the default: no limit). */
  maxFrames?: number;
  /**
   * What runs the pipeline. `'native'` (the default): the decoding and every output on native
   * threads of the addon, items handed over in place, no JavaScript per frame and no V8 isolate
   * per thread. `'workers'`: a decoding worker_thread and one per output around a
   * {@link FrameRing} (what `'native'` also falls back to when an output's sound must be encoded:
   * the workers encode it once per setting). Both behave the same in every other way.
   */
  engine?: 'native' | 'workers';
  /**
   * Aborting stops every thread (the outputs closed cleanly: encoders flushed, trailers written);
   * the promise then rejects with ERR_ABORTED, a {@link PipelineAbortError} whose `stats` are the
   * figures of the run so far.
   */
  signal?: AbortSignal;
  /**
   * Called at least once a second, and once at the end, after every thread stopped: also when the
   * run failed or was aborted, with the figures of what was done (the Servers' after their close).
   */
  onProgress?: (progress: PipelineProgress) => void;
  /**
   * A small JPEG of what the outputs are sent, every `everyMs`, made natively from the last
   * picture (no second decode): for a status page. The native engine makes them; a run on the
   * worker threads (sound encoded without fallbacks, or `engine: 'workers'`) makes none.
   */
  thumbnails?: ThumbnailOptions;
}

/** Where one output stands. */
export interface OutputProgress {
  /** The output's URL, credentials and stream key masked. */
  url: string;
  /**
   * `starting` until its Server opened, `running`, then `done`, `stopped` (an abort or the
   * input's failure) or `failed`; with `retryOutputs`, `retrying` between a failure and its next start.
   */
  state: 'starting' | 'running' | 'done' | 'stopped' | 'failed' | 'retrying';
  /** Pictures this output handed to its Server. */
  frames: number;
  /** Pictures this output skipped because it fell behind the others (`onSlow: 'drop'`). */
  dropped: number;
  /** Its Server's counters as last reported (null before it opened). */
  server: WriterStats | null;
  /** Why it failed (null unless `failed` or `retrying`). */
  error: StreamcoderError | null;
  /** Times it was started again after a failure (`retryOutputs`). */
  retries: number;
}

/** One output's figures at the end. */
export interface OutputStats extends OutputProgress {
  /** Seconds from its first picture served to its last. */
  streamSeconds: number;
  /** frames / streamSeconds. */
  fps: number;
  /** What its thread alone could do: frames / seconds in serve calls (pacing included when realtime). */
  pushFps: number;
}

export interface PipelineProgress {
  /** Frames handed to the Server so far (the most any output handed over). */
  frames: number;
  /** Frames decoded so far (pushed + in the ring). */
  decoded: number;
  /** Pictures in the ring now, not yet read by every output: at most `slots` (the sound between them not counted). */
  depth: number;
  /** Seconds since the call. */
  seconds: number;
  /** Seconds from the first frame pushed to the last so far (the longest of the outputs; 0 before the first). */
  streamSeconds: number;
  /** Frames the decoder found corrupt and skipped (see {@link PipelineStats.dropped}). */
  dropped: number;
  /** The first output's Server counters as last reported (null before it opened). */
  server: WriterStats | null;
  /** The input as the decoding thread opened it (null before that). */
  input: StreamInfo | null;
  /** Each output's progress, in the order given. */
  outputs: OutputProgress[];
  /** With fallbacks or a slate: which input is on air, switches, time on each (else null or absent). */
  failover?: FailoverStats | null;
}

export interface PipelineStats {
  /** Frames pushed (every one decoded, unless a side failed): the most any output pushed. */
  frames: number;
  /** Wall-clock seconds of the whole call, opening and closing included. */
  seconds: number;
  /**
   * Seconds from the first frame pushed to the last: the streaming itself, without the opening
   * before it or the close after it (whose encoder flush, paced, takes a frame time per frame
   * the encoder held back). The longest of the outputs.
   */
  streamSeconds: number;
  /** Throughput: frames / streamSeconds. */
  fps: number;
  /**
   * Frames lost on the way to every output: the packets or frames the decoder found corrupt and
   * skipped. A full ring makes the decoder wait; an output that falls behind the others with
   * `onSlow: 'drop'` counts its own skipped frames in `outputs[i].dropped`; a late frame is served
   * late, not skipped (it is counted in `server.lateFrames`).
   */
  dropped: number;
  /** What the decoding thread alone could do: frames / its seconds of decoding (ring waits excluded). */
  decodeFps: number;
  /** What the slowest pushing thread alone could do: frames / its seconds in serve calls (ring waits excluded; pacing included when realtime). */
  pushFps: number;
  maxDepth: number;
  /** Times the decoder found the ring full (an output is the slower side). */
  producerWaits: number;
  /** Times an output found the ring empty (the decode side is the slower one). */
  consumerWaits: number;
  /** The first output's Server `stats` at close. */
  server: WriterStats | null;
  /**
   * When the first frame was pushed, in ms since the epoch (`performance.timeOrigin + now()`,
   * comparable across threads); with `realtime`, frame k is due `k / frameRate` s later.
   */
  firstFrameAt: number | null;
  /** Each output's figures, in the order given. */
  outputs: OutputStats[];
  /**
   * The sound streams made for the outputs: 1 when the input's is copied, one per distinct
   * setting when it is encoded (outputs of one setting share its packets), 0 without sound.
   */
  audioStreams: number;
  /** With fallbacks or a slate: which input is on air, switches, time on each. */
  input: FailoverStats | null;
  /** What ran it: the native relay, or the worker threads (see {@link PipelineOptions.engine}). */
  engine: 'native' | 'workers';
}

/** What an aborted pipeline rejects with: ERR_ABORTED, and the figures of the run until then. */
export interface PipelineAbortError extends StreamcoderError {
  code: 'ERR_ABORTED';
  stats: PipelineStats;
}

/** The keys of {@link PipelineOptions}: any other is refused. */
const PIPELINE_OPTION_KEYS = [
  'input', 'output', 'outputs', 'decoder', 'server', 'audio', 'video', 'slots', 'onSlow', 'realtime', 'loop', 'retryOutputs', 'maxPixelRate', 'maxFrames', 'engine', 'signal', 'onProgress',
  'thumbnails', ...FAILOVER_OPTION_KEYS,
] as const satisfies readonly (keyof PipelineOptions)[];

const OUTPUT_KEYS = ['url', 'width', 'height', 'server', 'audio', 'onSlow'] as const satisfies readonly (keyof PipelineOutput)[];

function audioMode(value: unknown, name: string): { mode: AudioMode; options: AudioOptions } {
  if (value === undefined || value === true) return { mode: 'auto', options: {} };
  if (value === false) return { mode: 'none', options: {} };
  if (value === 'copy') return { mode: 'copy', options: {} };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { mode: 'encode', options: value as AudioOptions };
  throw check.invalid(name, "true, false, 'copy' or an object of audio options", value);
}

/** The outputs as one list: `output` + `server` is the list of one. */
function outputList(options: PipelineOptions): PipelineOutput[] {
  if (options.outputs === undefined) {
    if (options.output === undefined) throw check.invalid('output', 'a URL (or `outputs`, a list of them)', undefined);
    return [{ url: check.string(options.output, 'output'), server: options.server }];
  }
  if (options.output !== undefined) throw check.invalid('output', 'nothing when `outputs` is given (put it in the list)', options.output);
  if (options.server !== undefined) throw check.invalid('server', "nothing when `outputs` is given (each output's own `server`)", options.server);
  if (!Array.isArray(options.outputs)) throw check.invalid('outputs', 'a list of outputs', options.outputs);
  if (options.outputs.length === 0) throw check.invalid('outputs', 'at least one output', '[]');
  if (options.outputs.length > MAX_READERS) throw check.invalid('outputs', `at most ${MAX_READERS} outputs`, `${options.outputs.length} outputs`);
  return options.outputs;
}

/**
 * The output's name in messages: its place in the list and its URL, masked. (Masking alone could
 * make two outputs look the same: rtmp://a/live/*** for every stream key of one server.)
 */
export function outputLabel(index: number, url: string, count: number): string {
  return count > 1 ? `output ${index} (${redactUrl(url)})` : redactUrl(url);
}

/** When a failed output is started again: see {@link PipelineOptions.retryOutputs}. */
export interface OutputRetry {
  backoffMs: number;
  maxBackoffMs: number;
}

const RETRY_DEFAULTS: OutputRetry = { backoffMs: 1000, maxBackoffMs: 30_000 };

function outputRetry(value: unknown): OutputRetry | null {
  if (value === undefined || value === false) return null;
  if (value === true) return RETRY_DEFAULTS;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw check.invalid('retryOutputs', 'true, false or { backoffMs, maxBackoffMs }', value);
  const o = value as { backoffMs?: unknown; maxBackoffMs?: unknown };
  check.knownOptions(o, ['backoffMs', 'maxBackoffMs'], 'pipeline retryOutputs');
  const backoffMs = o.backoffMs === undefined ? RETRY_DEFAULTS.backoffMs : check.number(o.backoffMs, 'retryOutputs.backoffMs', 10, 3_600_000);
  const maxBackoffMs = o.maxBackoffMs === undefined ? Math.max(backoffMs, RETRY_DEFAULTS.maxBackoffMs) : check.number(o.maxBackoffMs, 'retryOutputs.maxBackoffMs', backoffMs, 3_600_000);
  return { backoffMs, maxBackoffMs };
}

/** The checked options, split into what each thread gets. */
export function normalisePipeline(options: PipelineOptions): {
  decode: DecodeWorkerData; pushes: PushWorkerData[]; retry: OutputRetry | null; maxPixelRate: number | null; engine: 'native' | 'workers';
  failover: Failover | null;
  thumbnails: Thumbnails | null;
} {
  if (typeof options !== 'object' || options === null) throw check.invalid('options', 'an object', options);
  check.knownOptions(options, PIPELINE_OPTION_KEYS, 'pipeline');
  const decoder = check.optionsObject(options.decoder, 'decoder') as DecoderOptions;
  check.knownOptions(decoder, DECODER_OPTION_KEYS, 'pipeline decoder', LIBAV_OPTIONS_HINT);
  const input = check.string(options.input, 'input');
  const list = outputList(options);
  const video = options.video === undefined ? 'encode' : check.oneOf(options.video, 'video', ['encode', 'copy'] as const);
  const pipelineAudio = audioMode(options.audio, 'audio');
  const loop = options.loop === undefined ? false : check.boolean(options.loop, 'loop');
  const engine = options.engine === undefined ? 'native' : check.oneOf(options.engine, 'engine', ['native', 'workers'] as const);
  const failover = normaliseFailover({ ...options, input },
    video === 'copy' ? { option: 'video', value: video, why: 'a switch needs decoded pictures' }
      : loop ? { option: 'loop', value: loop, why: 'a looped input never fails over' }
        : engine === 'workers' ? { option: 'engine', value: engine, why: 'the native engine switches inputs' }
          : options.audio === 'copy' ? { option: 'audio', value: 'copy', why: 'sound is encoded again, silence too' } : null);
  const realtime = options.realtime === undefined ? failover !== null || !isLiveUrl(input) : check.boolean(options.realtime, 'realtime');
  const onSlow = options.onSlow === undefined ? (realtime ? 'drop' : 'wait') : check.oneOf(options.onSlow, 'onSlow', ['drop', 'wait'] as const);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw check.invalid('signal', 'an AbortSignal', options.signal);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw check.invalid('onProgress', 'a function', options.onProgress);
  for (const stream of ['audio', 'video'] as const) {
    if ((decoder as Record<string, unknown>)[stream] !== undefined) throw check.invalid(`decoder.${stream}`, `nothing (set the pipeline's own ${stream} option)`, (decoder as Record<string, unknown>)[stream]);
  }

  // One pixel format on the decoding side, which every output takes. yuv420p when nobody says:
  // it is what encoders take, so no thread spends time converting to RGB and back.
  // Messages name an output's options as the caller wrote them: outputs[i].x, or x for `output`.
  const listed = options.outputs !== undefined;
  const servers = list.map((output, i) => check.optionsObject(output?.server, listed ? `outputs[${i}].server` : 'server') as WriterOptions);
  const pixelFormat = decoder.pixelFormat ?? (servers.find((s) => s.pixelFormat !== undefined)?.pixelFormat as string | undefined) ?? 'yuv420p';
  check.oneOf(pixelFormat, 'decoder.pixelFormat', PIXEL_FORMATS);

  const seen = new Map<string, number>();
  const outputs = list.map((raw, i) => {
    const name = listed ? `outputs[${i}]` : '';
    const at = (key: string) => (name ? `${name}.${key}` : key);
    const o = check.optionsObject(raw, name || 'output') as PipelineOutput;
    if (name) check.knownOptions(o, OUTPUT_KEYS, `pipeline ${name}`);
    const url = check.string(o.url, at('url'));
    const previous = seen.get(url);
    if (previous !== undefined) throw check.invalid(at('url'), `a URL no other output has (outputs[${previous}] has it too)`, redactUrl(url));
    seen.set(url, i);
    const server = servers[i];
    check.knownOptions(server, WRITER_OPTION_KEYS, `pipeline ${at('server')}`, LIBAV_OPTIONS_HINT);
    if (server.pixelFormat !== undefined && server.pixelFormat !== pixelFormat) {
      throw check.invalid(at('server.pixelFormat'), `the decoder's pixel format (${pixelFormat})`, server.pixelFormat);
    }
    for (const side of ['width', 'height', 'from'] as const) {
      if (server[side] !== undefined) throw check.invalid(at(`server.${side}`), `nothing (${side === 'from' ? 'it comes from the decoder' : `set ${name ? `${name}.` : 'decoder.'}width/height`})`, server[side]);
    }
    for (const stream of ['audio', 'video'] as const) {
      if (server[stream] !== undefined) throw check.invalid(at(`server.${stream}`), `nothing (set the ${name ? "output's" : "pipeline's"} own ${stream} option)`, server[stream]);
    }
    if ((o.width === undefined) !== (o.height === undefined)) throw check.invalid(at(o.width === undefined ? 'width' : 'height'), 'set with the other one (both or neither)', undefined, 'ERR_DIMENSIONS');
    const size = o.width === undefined ? null : { width: check.dimension(o.width, at('width')), height: check.dimension(o.height, at('height')) };
    if (size && video === 'copy') throw check.invalid(at('width'), "nothing with video: 'copy' (copied pictures keep their size)", o.width);
    const audio = o.audio === undefined ? pipelineAudio : audioMode(o.audio, at('audio'));
    if (failover && audio.mode === 'copy') throw check.invalid(at('audio'), "sound encoded again with fallbacks or a slate (silence too), not 'copy'", 'copy');
    // Everything else the Server would refuse at its open, refused now: an unknown codec, a bad
    // bit rate, a preset the codec has not. The size is a stand-in when it comes from the input.
    normaliseWriterOptions(url, {
      ...server,
      width: size?.width ?? 640,
      height: size?.height ?? 360,
      pixelFormat: pixelFormat as WriterOptions['pixelFormat'],
      ...(video === 'copy' ? {} : { audio: audio.mode === 'encode' ? audio.options : false }),
    }, `pipeline ${at('server')}`);
    return {
      url,
      label: outputLabel(i, url, list.length),
      format: server.format === undefined ? '' : check.string(server.format, at('server.format')),
      size,
      audio: audio satisfies OutputAudio,
      onSlow: o.onSlow === undefined ? onSlow : check.oneOf(o.onSlow, at('onSlow'), ['drop', 'wait'] as const),
      // A live output survives its server going away unless the caller says otherwise.
      server: { ...server, pixelFormat: pixelFormat as WriterOptions['pixelFormat'], reconnect: server.reconnect ?? isConnectedOutput(url) },
    };
  });
  const slots = options.slots === undefined ? 8 : check.integer(options.slots, 'slots', 2, MAX_SLOTS);
  const maxFrames = options.maxFrames === undefined ? 0 : check.integer(options.maxFrames, 'maxFrames', 0, Number.MAX_SAFE_INTEGER);
  if (video === 'copy' && decoder.width !== undefined) throw check.invalid('decoder.width', "nothing with video: 'copy'", decoder.width);
  const retry = outputRetry(options.retryOutputs);
  const maxPixelRate = options.maxPixelRate === undefined ? null : check.number(options.maxPixelRate, 'maxPixelRate', 1, Number.MAX_SAFE_INTEGER);
  return {
    failover,
    thumbnails: normaliseThumbnails(options.thumbnails),
    retry,
    maxPixelRate,
    engine,
    decode: {
      streamcoderPipeline: 'decode',
      input,
      decoder: { ...decoder, pixelFormat: pixelFormat as DecoderOptions['pixelFormat'] },
      slots,
      loop,
      maxFrames,
      video,
      outputs: outputs.map((o) => ({ url: o.url, format: o.format, audio: o.audio })),
    },
    pushes: outputs.map((o, reader) => ({
      streamcoderPipeline: 'push',
      reader,
      label: o.label,
      output: o.url,
      width: o.size?.width,
      height: o.size?.height,
      server: o.server,
      onSlow: o.onSlow,
      video,
      realtime,
      loop,
      liveInput: check.isNetworkUrl(input),
      rejoin: false,
    })),
  };
}

/** One output's end figures as an engine counted them. */
export interface OutputEnd {
  progress: OutputProgress;
  streamSeconds: number;
  /** Pictures its last thread served, and its seconds in serve calls, for `pushFps`. */
  frames: number;
  busySeconds: number;
  firstFrameAt: number | null;
}

/** What the decoding side and the hand-over between the threads counted. */
export interface RunCounts {
  seconds: number;
  dropped: number;
  decode: { frames: number; busySeconds: number } | null;
  maxDepth: number;
  producerWaits: number;
  consumerWaits: number;
  audioStreams: number;
  engine: PipelineStats['engine'];
  input?: FailoverStats | null;
}

/** A run's stats from what its engine counted: both engines derive the rates the same way. */
export function pipelineStats(ends: OutputEnd[], counts: RunCounts): PipelineStats {
  const outputs: OutputStats[] = ends.map((o) => ({
    ...o.progress,
    streamSeconds: o.streamSeconds,
    fps: o.streamSeconds ? o.progress.frames / o.streamSeconds : 0,
    pushFps: o.busySeconds > 0 ? o.frames / o.busySeconds : 0,
  }));
  const frames = Math.max(0, ...outputs.map((o) => o.frames));
  const streamSeconds = Math.max(0, ...outputs.map((o) => o.streamSeconds));
  const pushing = outputs.filter((o) => o.pushFps > 0);
  const firstFrames = ends.map((o) => o.firstFrameAt).filter((t): t is number => typeof t === 'number');
  const { decode } = counts;
  return {
    frames,
    seconds: counts.seconds,
    streamSeconds,
    fps: streamSeconds ? frames / streamSeconds : 0,
    dropped: counts.dropped,
    decodeFps: decode && decode.busySeconds > 0 ? decode.frames / decode.busySeconds : 0,
    pushFps: pushing.length ? Math.min(...pushing.map((o) => o.pushFps)) : 0,
    maxDepth: counts.maxDepth,
    producerWaits: counts.producerWaits,
    consumerWaits: counts.consumerWaits,
    server: outputs[0].server,
    firstFrameAt: firstFrames.length ? Math.min(...firstFrames) : null,
    outputs,
    audioStreams: counts.audioStreams,
    input: counts.input ?? null,
    engine: counts.engine,
  };
}

/** ERR_LIMIT when the encoding outputs would take more than `bound` pixels a second at the input's frame rate. */
export function pixelRateFault(info: StreamInfo, pushes: readonly PushWorkerData[], bound: number | null): StreamcoderError | null {
  if (bound === null || pushes[0].video === 'copy') return null;
  // An unknown frame rate is taken as 60: the bound must hold for what a live source may send.
  const fps = info.frameRate.num > 0 && info.frameRate.den > 0 ? info.frameRate.num / info.frameRate.den : 60;
  const asks = pushes.map((o) => (o.width ?? info.width) * (o.height ?? info.height) * fps);
  const total = asks.reduce((a, b) => a + b, 0);
  if (total <= bound) return null;
  const each = pushes.map((o) => `${o.label}: ${o.width ?? info.width}x${o.height ?? info.height}`).join(', ');
  return new StreamcoderError(
    `The outputs would encode ${Math.round(total)} pixels a second at the input's ${Math.round(fps * 100) / 100} fps (${each}), more than maxPixelRate (${bound})`, 'ERR_LIMIT');
}

/** A pipeline that was stopped before it began. */
export function abortedBeforeStart(): StreamcoderError {
  return new StreamcoderError('The pipeline was aborted before it started', 'ERR_ABORTED');
}
