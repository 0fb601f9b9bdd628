// The one place where a stream spec becomes a pipeline() call, and pipeline()'s progress becomes
// the per-output figures the service shows. Today pipeline() pushes to one output (`output` +
// `server`); once it takes `outputs: [...]`, only this file changes: MAX_OUTPUTS, the options
// built in runPipeline, and toStreamProgress (which already speaks in `outputs`).
import { pipeline, type PipelineProgress, type PipelineStats } from '../pipeline';
import type { WriterStats } from '../frame-writer';
import { bitsPerSecond, filePathOf, PROTOCOL_WHITELIST, type StreamSpec } from './spec';

/** Outputs a stream may have today (the schema admits more, for the pipeline to come). */
export const MAX_OUTPUTS = 1;

/** Why a valid spec cannot run yet ('' when it can): a 400 for the API. */
export function unsupported(spec: Pick<StreamSpec, 'outputs'>): string {
  if (spec.outputs.length > MAX_OUTPUTS) {
    return `outputs: ${spec.outputs.length} outputs given; more than ${MAX_OUTPUTS} per stream is not supported yet (one pipeline per output for now)`;
  }
  return '';
}

export interface OutputProgress {
  url: string;
  frames: number;
  dropped: number;
  fps: number;
  server: WriterStats | null;
  state: WriterStats['state'] | 'starting';
  error: string | null;
}

export interface StreamProgress {
  frames: number;
  decoded: number;
  dropped: number;
  seconds: number;
  outputs: OutputProgress[];
}

function toStreamProgress(spec: StreamSpec, p: PipelineProgress): StreamProgress {
  return {
    frames: p.frames,
    decoded: p.decoded,
    dropped: p.dropped,
    seconds: p.seconds,
    outputs: [{
      url: spec.outputs[0].url,
      frames: p.frames,
      dropped: p.dropped + (p.server?.droppedFrames ?? 0),
      fps: p.server?.fps ?? 0,
      server: p.server,
      state: p.server?.state ?? 'starting',
      error: null,
    }],
  };
}

function scheme(input: string): string {
  return filePathOf(input) !== null ? 'file' : input.slice(0, input.indexOf(':')).toLowerCase();
}

/**
 * Runs `spec` until its input ends (resolves) or it fails or `signal` aborts (rejects);
 * `onProgress` gets the figures at least once a second.
 */
export function runPipeline(spec: StreamSpec, onProgress: (progress: StreamProgress) => void, signal: AbortSignal): Promise<PipelineStats> {
  const reason = unsupported(spec);
  if (reason) return Promise.reject(new Error(reason));
  const output = spec.outputs[0];
  const [width, height] = output.size ? output.size.split('x').map(Number) : [undefined, undefined];
  const file = filePathOf(spec.input);
  return pipeline({
    input: file ?? spec.input,
    output: output.url,
    decoder: {
      width,
      height,
      formatOptions: { protocol_whitelist: PROTOCOL_WHITELIST[scheme(spec.input)] },
    },
    server: {
      ...(output.bitrate !== undefined ? { bitRate: bitsPerSecond(output.bitrate) } : {}),
      ...(output.preset !== undefined ? { preset: output.preset } : {}),
      ...(output.codec !== undefined ? { codec: output.codec } : {}),
    },
    audio: spec.audio ?? true,
    loop: spec.loop ?? false,
    ...(spec.realtime !== undefined ? { realtime: spec.realtime } : {}),
    signal,
    onProgress: (p) => onProgress(toStreamProgress(spec, p)),
  });
}
