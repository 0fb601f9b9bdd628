// streamcoder record <url> <file>: read a live stream and write it to a file.
import { Decoder } from '../decoder';
import { Encoder } from '../encoder';
import { StreamcoderError } from '../errors';
import type { CommandSpec } from './args';
import { COMMON_OPTIONS, type CommandContext } from './common';
import { ProgressReporter } from './progress';

export const recordSpec: CommandSpec = {
  name: 'record',
  summary: 'Read a live stream (or any source) and encode it into a file.',
  usage: 'streamcoder record <url> <file> [--duration 10] [--codec libx264] [--bitrate 2M] [--preset veryfast]',
  positionals: ['url', 'file'],
  options: {
    duration: { type: 'number', description: 'seconds of media to record (default: until the source ends)' },
    codec: { type: 'string', description: 'video encoder', default: 'libx264' },
    bitrate: { type: 'bitrate', description: 'video bit rate, e.g. 2M (default: the encoder\'s quality mode)' },
    preset: { type: 'string', description: 'encoder preset', default: 'veryfast' },
    crf: { type: 'number', description: 'constant rate factor (x264/x265)' },
    gop: { type: 'integer', description: 'frames between keyframes', min: 1 },
    size: { type: 'size', description: 'scale to this size' },
    transport: { type: 'string', description: 'for rtsp:// sources', choices: ['tcp', 'udp'] },
    timeout: { type: 'integer', description: 'ms to wait for the source before giving up', default: 10000, min: 1 },
    ...COMMON_OPTIONS,
  },
};

export async function record({ positionals, options, signal, out }: CommandContext): Promise<void> {
  const [url, file] = positionals;
  const size = options.size as { width: number; height: number } | undefined;
  const decoder = await Decoder.open(url, {
    pixelFormat: 'yuv420p',  // what the encoder takes: no colour conversion on the way
    timeoutMs: options.timeout as number,
    transport: options.transport as 'tcp' | 'udp' | undefined,
    ...(size ?? {}),
  });
  const progress = new ProgressReporter(ProgressReporter.modeFor(options, out), out);
  let encoder: Encoder | null = null;
  try {
    encoder = await Encoder.open(file, {
      from: decoder.info,
      codec: options.codec as string,
      preset: options.preset as string,
      ...(options.bitrate !== undefined ? { bitRate: options.bitrate as number } : {}),
      ...(options.crf !== undefined ? { crf: options.crf as number } : {}),
      ...(options.gop !== undefined ? { gopSize: options.gop as number } : {}),
    });
    const limit = options.duration as number | undefined;
    const started = performance.now();
    let first: number | null = null;
    let time = 0;
    let last = { frames: 0, at: started };
    for await (const frame of decoder) {
      if (signal.aborted) break;
      first ??= frame.time ?? 0;
      const at = (frame.time ?? 0) - first;
      if (limit !== undefined && at >= limit - 1e-9) break;
      time = at;
      await encoder.encode(frame);
      const stats = encoder.stats;
      const now = performance.now();
      const fps = ((stats.frames - last.frames) * 1000) / Math.max(1, now - last.at);
      if (now - last.at >= 1000) last = { frames: stats.frames, at: now };
      progress.update({ time, frames: stats.frames, fps, speed: time / Math.max(1e-3, (now - started) / 1000), bitRate: stats.bitRate || null, lateFrames: 0, droppedFrames: decoder.corruptPackets });
    }
    await encoder.close();
    const stats = encoder.stats;
    const seconds = Math.max(1e-3, (performance.now() - started) / 1000);
    const frameTime = decoder.info.frameRate.num > 0 ? decoder.info.frameRate.den / decoder.info.frameRate.num : 0;
    // The final line: the whole run's averages.
    progress.update({ time: time + frameTime, frames: stats.frames, fps: stats.frames / seconds, speed: (time + frameTime) / seconds, bitRate: stats.bitRate || null, lateFrames: 0, droppedFrames: decoder.corruptPackets }, true);
    if (stats.frames === 0 && !signal.aborted) throw new StreamcoderError(`No frame was read from the source`, 'ERR_END_OF_STREAM');
  } finally {
    progress.finish();
    if (encoder && !encoder.closed) await encoder.close().catch(() => undefined);
    decoder.close();
  }
}
