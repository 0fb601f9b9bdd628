// The one place where a stream spec becomes a pipeline() call, and pipeline()'s progress becomes
// the per-output figures the service shows. A stream's outputs are one pipeline's outputs: one
// decode feeding each output on its own thread, each isolated from the others.
import { pipeline, type OutputProgress as PipelineOutputProgress, type OutputRetry, type PipelineProgress, type PipelineStats } from '../pipeline';
import type { WriterStats } from '../writer/frame-writer';
import type { StreamSpec } from './spec';
import type { FailoverInput, FailoverStats } from '../pipeline/failover';
import { bitsPerSecond, confinementOf, filePathOf, PROTOCOL_WHITELIST, type RunBounds } from './spec-values';

export interface OutputProgress {
  url: string;
  frames: number;
  dropped: number;
  fps: number;
  server: WriterStats | null;
  /** The Server's state, or the pipeline's when it has none: `starting`, or `failed` / `retrying` (the output alone, its error beside). */
  state: WriterStats['state'] | 'starting' | 'retrying';
  error: string | null;
  /** Times the output was started again after failing alone, in this run. */
  retries: number;
}

export interface StreamProgress {
  frames: number;
  decoded: number;
  dropped: number;
  seconds: number;
  /** The input as opened (null before): its video codec, source size and frame rate (null if unknown). */
  input: { codec: string; width: number; height: number; frameRate: number | null } | null;
  outputs: OutputProgress[];
  /** With fallbacks or a slate: what is on air ('input 0 (<masked URL>)'... or 'slate'), switches, seconds on each. */
  failover: FailoverStats | null;
}

function toStreamProgress(spec: StreamSpec, p: PipelineProgress): StreamProgress {
  return {
    frames: p.frames,
    decoded: p.decoded,
    dropped: p.dropped,
    seconds: p.seconds,
    input: p.input && {
      codec: p.input.codec,
      width: p.input.sourceWidth,
      height: p.input.sourceHeight,
      frameRate: p.input.frameRate.num > 0 ? p.input.frameRate.num / p.input.frameRate.den : null,
    },
    outputs: spec.outputs.map((output, i) => outputProgress(output.url, p.outputs[i], p.dropped)),
    failover: p.failover ?? null,
  };
}

/** One output's figures: the frames the decoder lost count against every output, its own drops against it alone. */
function outputProgress(url: string, o: PipelineOutputProgress | undefined, decoderDropped: number): OutputProgress {
  const server = o?.server ?? null;
  return {
    url,
    frames: o?.frames ?? 0,
    dropped: decoderDropped + (o?.dropped ?? 0) + (server?.droppedFrames ?? 0),
    fps: server?.fps ?? 0,
    server,
    // An output that failed alone while the others go on says so, with why.
    state: o?.state === 'failed' || o?.state === 'retrying' ? o.state : server?.state ?? 'starting',
    error: o?.error?.message ?? null,
    retries: o?.retries ?? 0,
  };
}

function scheme(input: string): string {
  return filePathOf(input) !== null ? 'file' : input.slice(0, input.indexOf(':')).toLowerCase();
}

/**
 * A fallback or the slate with its own decoder options: its scheme's protocols only, and a file
 * confined to the allowed directory it lies in (as the input is).
 */
function failoverSource(input: string, bounds: RunBounds): FailoverInput {
  const file = filePathOf(input);
  const confineTo = file === null ? null : confinementOf(file, bounds.directories);
  return {
    input: file ?? input,
    decoder: { formatOptions: { protocol_whitelist: PROTOCOL_WHITELIST[scheme(input)] }, ...(confineTo !== null ? { confineTo } : {}) },
  };
}

/** The status page's thumbnails. */
const THUMBNAIL_WIDTH = 160;

/** Pictures read ahead of each output. */
const STREAM_SLOTS = 4;

/**
 * Runs `spec` until its input ends (resolves) or it fails or `signal` aborts (rejects);
 * `onProgress` gets the figures at least once a second.
 */
export function runPipeline(
  spec: StreamSpec,
  how: { retry: OutputRetry; bounds: RunBounds; threads: number },
  onProgress: (progress: StreamProgress) => void,
  signal: AbortSignal,
  onThumbnail?: (jpeg: Uint8Array) => void,
): Promise<PipelineStats> {
  const file = filePathOf(spec.input);
  return pipeline({
    input: file ?? spec.input,
    outputs: spec.outputs.map((output) => {
      const [width, height] = output.size ? output.size.split('x').map(Number) : [undefined, undefined];
      return {
        url: output.url,
        ...(width !== undefined ? { width, height } : {}),
        server: {
          ...(output.bitrate !== undefined ? { bitRate: bitsPerSecond(output.bitrate) } : {}),
          ...(output.preset !== undefined ? { preset: output.preset } : {}),
          ...(output.codec !== undefined ? { codec: output.codec } : {}),
          ...(how.threads > 0 ? { threads: how.threads } : {}),
        },
      };
    }),
    decoder: {
      formatOptions: {
        protocol_whitelist: PROTOCOL_WHITELIST[scheme(spec.input)],
        ...(spec.probe !== undefined ? { analyzeduration: String(Math.round(spec.probe * 1e6)) } : {}),
      },
      // A file input, and all it names, stays in its allowed directory.
      ...(file !== null && how.bounds.confineTo !== null ? { confineTo: how.bounds.confineTo } : {}),
      maxPixels: how.bounds.maxInputPixels,
      ...(how.threads > 0 ? { threads: how.threads } : {}),
    },
    maxPixelRate: how.bounds.maxPixelRate,
    audio: spec.audio ?? true,
    loop: spec.loop ?? false,
    // An output that fails while the others go on is retried on its own, the stream staying up.
    retryOutputs: how.retry,
    // A paced push needs little read-ahead: 4 pictures (133 ms at 30 fps) ride out a slow
    // decode, and each picture held is megabytes of the process's memory.
    slots: STREAM_SLOTS,
    ...(spec.realtime !== undefined ? { realtime: spec.realtime } : {}),
    ...(spec.fallbacks?.length ? { fallbacks: spec.fallbacks.map((f) => failoverSource(f, how.bounds)) } : {}),
    ...(spec.slate !== undefined ? { slate: failoverSource(spec.slate, how.bounds) } : {}),
    ...(spec.inputTimeout !== undefined ? { inputTimeoutMs: Math.round(spec.inputTimeout * 1000) } : {}),
    ...(spec.switchBack !== undefined ? { switchBack: spec.switchBack } : {}),
    signal,
    onProgress: (p) => onProgress(toStreamProgress(spec, p)),
    // What the status page shows of each stream: 160 pixels wide, every 3 s.
    ...(onThumbnail ? { thumbnails: { onThumbnail, width: THUMBNAIL_WIDTH, everyMs: 3000 } } : {}),
  });
}
