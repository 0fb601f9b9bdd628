// The one place where a stream spec becomes a pipeline() call, and pipeline()'s progress becomes
// the per-output figures the service shows. A stream's outputs are one pipeline's outputs: one
// decode feeding each output on its own thread, each isolated from the others.
import { pipeline, type OutputProgress as PipelineOutputProgress, type PipelineProgress, type PipelineStats } from '../pipeline';
import type { WriterStats } from '../writer/frame-writer';
import { bitsPerSecond, filePathOf, PROTOCOL_WHITELIST, type StreamSpec } from './spec';

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
    outputs: spec.outputs.map((output, i) => outputProgress(output.url, p.outputs[i], p.dropped)),
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
    state: o?.state === 'failed' ? 'failed' : server?.state ?? 'starting',
    error: o?.error?.message ?? null,
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
        },
      };
    }),
    decoder: { formatOptions: { protocol_whitelist: PROTOCOL_WHITELIST[scheme(spec.input)] } },
    audio: spec.audio ?? true,
    loop: spec.loop ?? false,
    ...(spec.realtime !== undefined ? { realtime: spec.realtime } : {}),
    signal,
    onProgress: (p) => onProgress(toStreamProgress(spec, p)),
  });
}
