// streamcoder push <input> <url>: decode in one worker, push from another, paced to real time.
import { StreamcoderError } from '../errors';
import { isConnectedOutput, isLiveUrl } from '../network-options';
import { pipeline, type OutputProgress, type PipelineAudio, type PipelineOutput, type PipelineProgress, type PipelineServerOptions, type PipelineStats } from '../pipeline';
import type { FailoverOptions, InputSwitchEvent } from '../pipeline/failover';
import { redactUrl } from '../redact';
import { MAX_SLOTS } from '../ring';
import type { StreamInfo } from '../types';
import { isNetworkUrl, MAX_THREADS, MAX_TIMEOUT_MS } from '../validate';
import { MAX_B_FRAMES, MAX_FRAME_RATE, MAX_OUTAGE_BUFFER_SECONDS, MIN_FRAME_RATE, RECONNECT_DEFAULTS } from '../writer/options';
import { UsageError, type CommandSpec, type Parsed, type Size } from './args';
import { AUDIO_OPTIONS, audioOption, COMMON_OPTIONS, decoderOptions, INPUT_OPTIONS, OUTPUT_OPTIONS, writerOptions, type CommandContext, type Options } from './common';
import { completion, FpsMeter, ProgressReporter, sent, type OutputSummary, type Status } from './progress';

export const pushSpec: CommandSpec = {
  name: 'push',
  summary: 'Push a file (or a live source) to an RTSP/RTMP server, paced to real time.',
  usage: 'streamcoder push <input> <url> [--codec libx264] [--bitrate 2M] [--fps 30] [--size 1280x720] [--preset veryfast] [--loop] [--copy] [--no-audio] [--fallback <input>]... [--slate <image|clip>] [--input-timeout 2] [--no-switch-back] [--output <url> [--size WxH] [--bitrate 800k] ...]',
  positionals: ['input', 'url'],
  group: {
    option: 'output',
    description: 'one more output fed from the same decode, encoded on its own thread; the options after it are its own',
    scoped: ['size', 'codec', 'bitrate', 'min-bitrate', 'maxrate', 'bufsize', 'preset', 'gop', 'tune', 'format', 'transport', 'audio', 'audio-codec', 'audio-bitrate'],
    shared: ['fps', 'retime', 'copy', 'bframes'],
  },
  options: {
    ...OUTPUT_OPTIONS,
    fps: { type: 'number', description: "output frame rate (default: the input's); frames are dropped or repeated by time, as ffmpeg's -r does", min: MIN_FRAME_RATE, max: MAX_FRAME_RATE },
    retime: { type: 'flag', description: 'with --fps: space the frames evenly at the new rate instead (the video plays faster or slower)' },
    copy: {
      type: 'flag',
      description: "send the input's compressed video as it is: no decoding, no encoding (a relay)",
      excludes: ['codec', 'bitrate', 'maxrate', 'bufsize', 'preset', 'gop', 'tune', 'bframes', 'fps', 'retime', 'size', 'threads'],
    },
    ...AUDIO_OPTIONS,
    tune: { type: 'string', description: 'encoder tune, e.g. zerolatency' },
    bframes: { type: 'integer', description: 'maximum B-frames', max: MAX_B_FRAMES },
    ...INPUT_OPTIONS,
    transport: { type: 'string', description: 'for rtsp:// outputs', choices: ['tcp', 'udp'] },
    realtime: { type: 'flag', description: 'pace a file to real time (--no-realtime: as fast as possible); a live input is never paced again', default: true },
    loop: { type: 'flag', description: 'restart the input at its end, forever (a 24/7 channel)' },
    fallback: {
      type: 'string',
      repeatable: true,
      description: 'an input that stands in when the one on air stops delivering (in order; the input comes back when it delivers again)',
      excludes: ['loop', 'copy'],
    },
    slate: { type: 'string', description: 'an image (or a clip, looped) on air while no input delivers (default: black)', excludes: ['loop', 'copy'] },
    'input-timeout': { type: 'number', description: 'seconds without a picture after which the input on air has failed', min: 0.1, max: 600, excludes: ['loop', 'copy'] },
    'switch-back': { type: 'flag', description: 'back to an earlier input as soon as it delivers again (--no-switch-back: stay on the fallback)', default: true },
    threads: { type: 'integer', description: 'decoder and encoder threads (0: automatic)', default: 0, max: MAX_THREADS },
    slots: { type: 'integer', description: 'frames the ring between the two workers holds', default: 8, min: 2, max: MAX_SLOTS },
    frames: { type: 'integer', description: 'stop after this many frames', min: 1 },
    timeout: { type: 'integer', description: 'ms to wait on the network before giving up', default: 10000, min: 1, max: MAX_TIMEOUT_MS },
    'min-bitrate': {
      type: 'bitrate',
      description: 'adaptive bitrate (libx264): follow what the link carries, from --bitrate (the start and the most) down to this',
      requires: 'bitrate',
      excludes: ['maxrate', 'bufsize', 'copy'],
    },
    reconnect: { type: 'flag', description: 'when an rtmp/rtsp/srt server goes away, keep pushing and reconnect (--no-reconnect: fail)', default: true },
    'outage-buffer': { type: 'number', description: 'seconds of media kept while reconnecting, sent on reconnect; older frames are dropped and counted', default: RECONNECT_DEFAULTS.outageBufferSeconds, min: 0, max: MAX_OUTAGE_BUFFER_SECONDS },
    ...COMMON_OPTIONS,
  },
};

function frameRateOf(info: StreamInfo | null): number | null {
  return info && info.frameRate.num > 0 ? info.frameRate.num / info.frameRate.den : null;
}

/** The frames the push will take when that is known: --frames, or (without --loop) what the input holds after --start. */
function totalFrames(info: StreamInfo, maxFrames: number | undefined, loop: boolean, start: number): number | null {
  const rate = frameRateOf(info);
  const skipped = rate === null ? 0 : Math.round(Math.max(0, start - (info.startTime ?? 0)) * rate);
  const inFile = loop || info.frameCount === null ? null : Math.max(0, info.frameCount - skipped);
  return maxFrames === undefined ? inFile : Math.min(maxFrames, inFile ?? Infinity);
}

/** The status line's fields from the pipeline's progress. */
export class PushStatus {
  readonly #fps = new FpsMeter();

  constructor(
    private readonly slots: number,
    private readonly outputFps: number | undefined,
    private readonly total: (input: StreamInfo) => number | null,
  ) {}

  status(p: PipelineProgress): Status {
    // The Server's default when the input does not say: 30.
    const out = sent(p.server, this.outputFps ?? frameRateOf(p.input) ?? 30);
    const fps = this.#fps.update(out.frames, p.seconds);
    return {
      ...out,
      fps,
      speed: p.streamSeconds > 0 ? out.time / p.streamSeconds : 0,
      depth: p.depth,
      slots: this.slots,
      lateFrames: p.server?.lateFrames ?? 0,
      droppedFrames: p.dropped + (p.server?.droppedFrames ?? 0),
      reconnects: p.server?.reconnects ?? 0,
      state: p.server?.state,
      ...(p.server?.targetBitRate ? { targetBitRate: p.server.targetBitRate } : {}),
      ...(p.outputs.length > 1 ? { outputs: p.outputs.map(outputSummary) } : {}),
      ...completion(out.frames, p.input && this.total(p.input), fps),
    };
  }

  /** The end: the streaming's own averages (from the first frame pushed to the last, not the close). */
  final(p: PipelineProgress): Status {
    const status = this.status(p);
    const fps = p.streamSeconds > 0 ? status.frames / p.streamSeconds : 0;
    return { ...status, fps, ...completion(status.frames, p.input && this.total(p.input), fps) };
  }
}

/** A Server's options from the command line's (the whole command's, or one --output group's). */
function serverOptions(options: Options, url: string, shared: Options): PipelineServerOptions {
  const threads = shared.threads as number;
  const timeoutMs = shared.timeout as number;
  return {
    ...writerOptions(options),
    ...(options['min-bitrate'] !== undefined ? { bitRate: { max: options.bitrate as number, min: options['min-bitrate'] as number } } : {}),
    threads,
    frameRate: shared.fps as number | undefined,
    retime: shared.retime as boolean | undefined,
    tune: options.tune as string | undefined,
    maxBFrames: shared.bframes as number | undefined,
    transport: options.transport as 'tcp' | 'udp' | undefined,
    timeoutMs: isNetworkUrl(url) ? timeoutMs : undefined,
    reconnect: shared.reconnect && isConnectedOutput(url) ? { outageBufferSeconds: shared['outage-buffer'] as number } : false,
  };
}

function audioFor(options: Options): PipelineAudio {
  const audio = audioOption(options);
  return audio === 'auto' ? true : audio;
}

/** The outputs after the first: each --output group, its options over the defaults. */
function moreOutputs(groups: Parsed['groups'], shared: Options): PipelineOutput[] {
  return groups.map(({ value: url, options: given }) => {
    const options: Options = { ...Object.fromEntries(pushSpec.group!.scoped.map((name) => [name, pushSpec.options[name].default])), ...given };
    if (options['min-bitrate'] !== undefined && options.bitrate === undefined) throw new UsageError(`--min-bitrate needs --bitrate too (--output ${redactUrl(url)})`);
    const size = options.size as Size | undefined;
    if (size && (size.width === undefined || size.height === undefined)) {
      throw new UsageError(`--size after --output needs both sides, e.g. 1280x720 (--output ${redactUrl(url)})`);
    }
    return {
      url,
      ...(size ? { width: size.width, height: size.height } : {}),
      server: serverOptions(options, url, shared),
      audio: audioFor(options),
    };
  });
}

export async function push({ positionals, options, groups, signal, out }: CommandContext): Promise<void> {
  const [input, url] = positionals;
  const threads = options.threads as number;
  const timeoutMs = options.timeout as number;
  const fps = options.fps as number | undefined;
  const maxFrames = options.frames as number | undefined;
  const loop = options.loop as boolean;
  const more = moreOutputs(groups ?? [], options);
  const progress = new ProgressReporter(ProgressReporter.modeFor(options, out), out);
  const failover = failoverOptions(options, (e) => progress.event('inputSwitch', `input: ${e.from} -> ${e.to} (${e.reason})`, e));
  const status = new PushStatus(options.slots as number, fps, (info) => totalFrames(info, maxFrames, loop, (options.start as number | undefined) ?? 0));
  // Set by the progress callback, whose last call comes after both threads stopped, the output closed.
  let last = null as PipelineProgress | null;
  let stats: PipelineStats | null = null;
  try {
    stats = await pipeline({
      input,
      ...(more.length === 0
        ? { output: url, server: serverOptions(options, url, options) }
        : { outputs: [{ url, server: serverOptions(options, url, options), audio: audioFor(options) }, ...more] }),
      decoder: { ...decoderOptions(options), threads, timeoutMs: isNetworkUrl(input) ? timeoutMs : undefined },
      audio: audioFor(options),
      video: options.copy ? 'copy' : 'encode',
      slots: options.slots as number,
      // A live input arrives in real time already: pacing it again only delays it by the probing's
      // backlog. With fallbacks or a slate the pipeline paces (a file fallback must not race).
      realtime: (options.realtime as boolean) && (failover !== null || !isLiveUrl(input)),
      ...failover,
      loop,
      maxFrames: maxFrames ?? 0,
      signal,
      onProgress: (p) => {
        last = p;
        progress.update(status.status(p));
      },
    });
  } catch (error) {
    progress.finish();
    // Ctrl-C: the pipeline stopped both threads after the output was closed cleanly (encoder
    // flushed, trailer written); what went out is summed up below, and main exits with 130.
    if (!(signal.aborted && error instanceof StreamcoderError && error.code === 'ERR_ABORTED')) throw error;
  }
  // Stopped before the input was open, nothing was done: a summary of nothing.
  const end = last ?? { frames: 0, decoded: 0, depth: 0, seconds: 0, streamSeconds: 0, dropped: 0, server: null, input: null, outputs: [] };
  progress.end(status.final(end), {
    action: 'pushed',
    output: redactUrl(url),
    seconds: end.streamSeconds,
    interrupted: stats === null,
    decodeFps: stats?.decodeFps,
    pushFps: stats?.pushFps,
    ...(more.length > 0 ? { outputs: (stats?.outputs ?? end.outputs).map(outputSummary) } : {}),
  });
}

/** --fallback, --slate, --input-timeout, --switch-back as the pipeline's options; null when none is given. */
function failoverOptions(options: Options, onInputSwitch: (event: InputSwitchEvent) => void): FailoverOptions | null {
  const fallbacks = options.fallback as string[];
  const slate = options.slate as string | undefined;
  const timeout = options['input-timeout'] as number | undefined;
  if (fallbacks.length === 0 && slate === undefined && timeout === undefined) {
    if (options['switch-back'] === false) throw new UsageError('--no-switch-back needs --fallback');
    return null;
  }
  return {
    ...(fallbacks.length > 0 ? { fallbacks } : {}),
    ...(slate !== undefined ? { slate } : {}),
    ...(timeout !== undefined ? { inputTimeoutMs: Math.round(timeout * 1000) } : {}),
    switchBack: options['switch-back'] as boolean,
    onInputSwitch,
  };
}

/** One output's figures for the status line and the summary; `state` is its link's while it runs. */
function outputSummary(o: OutputProgress): OutputSummary {
  return {
    url: o.url,
    state: o.state === 'running' ? o.server?.state ?? 'running' : o.state,
    frames: o.server?.packets ?? o.frames,
    dropped: o.dropped,
    bitRate: o.server?.bitRate ?? null,
    reconnects: o.server?.reconnects ?? 0,
    ...(o.error ? { error: redactUrl(o.error.message) } : {}),
  };
}
