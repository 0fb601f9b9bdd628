// streamcoder push <input> <url>: decode in one worker, push from another, paced to real time.
import { pipeline, type PipelineProgress, type PipelineStats } from '../pipeline';
import { redactUrl } from '../redact';
import type { StreamInfo } from '../types';
import { isNetworkUrl } from '../validate';
import type { CommandSpec } from './args';
import { COMMON_OPTIONS, type CommandContext } from './common';
import { ProgressReporter, type Status } from './progress';

export const pushSpec: CommandSpec = {
  name: 'push',
  summary: 'Push a file (or a live source) to an RTSP/RTMP server, paced to real time.',
  usage: 'streamcoder push <input> <url> [--codec libx264] [--bitrate 2M] [--fps 30] [--size 1280x720] [--preset veryfast] [--loop]',
  positionals: ['input', 'url'],
  options: {
    codec: { type: 'string', description: 'video encoder', default: 'libx264' },
    bitrate: { type: 'bitrate', description: "video bit rate, e.g. 2M (default: the encoder's quality mode)" },
    fps: { type: 'number', description: "output frame rate (default: the input's; frames are re-timed, not dropped)" },
    size: { type: 'size', description: 'scale to this size' },
    preset: { type: 'string', description: 'encoder preset', default: 'veryfast' },
    tune: { type: 'string', description: 'encoder tune, e.g. zerolatency' },
    gop: { type: 'integer', description: 'frames between keyframes', min: 1 },
    bframes: { type: 'integer', description: 'maximum B-frames' },
    transport: { type: 'string', description: 'for rtsp:// outputs', choices: ['tcp', 'udp'] },
    realtime: { type: 'flag', description: 'pace to real time (--no-realtime: as fast as possible)', default: true },
    loop: { type: 'flag', description: 'restart the input at its end, forever (a 24/7 channel)' },
    threads: { type: 'integer', description: 'decoder and encoder threads (0: automatic)', default: 0 },
    slots: { type: 'integer', description: 'frames the ring between the two workers holds', default: 8, min: 2 },
    frames: { type: 'integer', description: 'stop after this many frames' },
    timeout: { type: 'integer', description: 'ms to wait on the network before giving up', default: 10000, min: 1 },
    ...COMMON_OPTIONS,
  },
};

/** The status line's fields from the pipeline's progress; fps over the last second or more. */
class PushStatus {
  #last = { frames: 0, at: 0 };
  #fps = 0;

  constructor(private readonly slots: number, private readonly outputFps: number | undefined) {}

  status(p: PipelineProgress): Status {
    if (p.seconds - this.#last.at >= 1) {
      this.#fps = (p.frames - this.#last.frames) / (p.seconds - this.#last.at);
      this.#last = { frames: p.frames, at: p.seconds };
    }
    const rate = this.outputFps ?? (p.input && p.input.frameRate.num > 0 ? p.input.frameRate.num / p.input.frameRate.den : 30);
    const time = p.frames / rate;
    return {
      time,
      frames: p.frames,
      fps: this.#fps,
      speed: p.seconds > 0 ? time / p.seconds : 0,
      bitRate: p.server?.bitRate || null,
      depth: p.depth,
      slots: this.slots,
      lateFrames: p.server?.lateFrames ?? 0,
      droppedFrames: 0,
    };
  }
}

export async function push({ positionals, options, signal, out }: CommandContext): Promise<PipelineStats> {
  const [input, url] = positionals;
  const size = options.size as { width: number; height: number } | undefined;
  const threads = options.threads as number;
  const timeoutMs = options.timeout as number;
  const progress = new ProgressReporter(ProgressReporter.modeFor(options, out), out);
  const fps = options.fps as number | undefined;
  const status = new PushStatus(options.slots as number, fps);
  // Set from the progress callback, which TypeScript cannot see run.
  let inputInfo = null as StreamInfo | null;
  try {
    const stats = await pipeline({
      input,
      output: url,
      decoder: { ...(size ?? {}), threads, ...(isNetworkUrl(input) ? { timeoutMs } : {}) },
      server: {
        codec: options.codec as string,
        preset: options.preset as string,
        threads,
        timeoutMs: isNetworkUrl(url) ? timeoutMs : undefined,
        ...(fps !== undefined ? { frameRate: fps } : {}),
        ...(options.bitrate !== undefined ? { bitRate: options.bitrate as number } : {}),
        ...(options.tune !== undefined ? { tune: options.tune as string } : {}),
        ...(options.gop !== undefined ? { gopSize: options.gop as number } : {}),
        ...(options.bframes !== undefined ? { maxBFrames: options.bframes as number } : {}),
        ...(options.transport !== undefined ? { transport: options.transport as 'tcp' | 'udp' } : {}),
      },
      slots: options.slots as number,
      realtime: options.realtime as boolean,
      loop: options.loop as boolean,
      maxFrames: (options.frames as number | undefined) ?? 0,
      signal,
      onProgress: (p) => {
        inputInfo = p.input;
        progress.update(status.status(p));
      },
    });
    // The final line: averages over the streaming itself (from the first frame pushed to close).
    const streaming = stats.fps > 0 ? stats.frames / stats.fps : stats.seconds;
    const final = status.status({ frames: stats.frames, decoded: stats.frames, depth: 0, seconds: streaming, server: stats.server, input: inputInfo });
    progress.update({ ...final, fps: stats.fps }, true);
    progress.finish();
    if (!options.quiet && !options.json) {
      out.write(`pushed ${stats.frames} frames to ${redactUrl(url)} in ${stats.seconds.toFixed(1)} s (${stats.fps.toFixed(1)} fps, decode ${stats.decodeFps.toFixed(1)} fps, push ${stats.pushFps.toFixed(1)} fps)\n`);
    }
    return stats;
  } finally {
    progress.finish();
  }
}
