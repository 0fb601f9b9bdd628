// streamcoder record <url> <file>: read a live stream and write it to a file.
import { Decoder } from '../decoder';
import { Encoder } from '../writer/encoder';
import { StreamcoderError } from '../errors';
import { MAX_TIMELINE_SECONDS, MAX_TIMEOUT_MS } from '../validate';
import { containerTakes, MAX_CRF } from '../writer/options';
import type { MediaItem } from '../types';
import type { CommandSpec } from './args';
import { AUDIO_OPTIONS, audioOption, COMMON_OPTIONS, decoderOptions, INPUT_OPTIONS, OUTPUT_OPTIONS, writerOptions, type CommandContext, type Options } from './common';
import { completion, FpsMeter, ProgressReporter, sent, type Status } from './progress';

/** Options that mean the video is encoded: with any of them given, nothing is copied. */
const ENCODING_OPTIONS = ['size', 'bitrate', 'maxrate', 'bufsize', 'gop', 'crf'] as const;

export const recordSpec: CommandSpec = {
  name: 'record',
  summary: 'Read a live stream (or any source) into a file: copied as it is where the container takes its codecs, else encoded.',
  usage: 'streamcoder record <url> <file> [--duration 10] [--no-copy] [--codec libx264] [--bitrate 2M] [--preset veryfast] [--no-audio]',
  positionals: ['url', 'file'],
  options: {
    duration: { type: 'number', description: 'seconds of media to record (default: until the source ends)', aboveMin: true, max: MAX_TIMELINE_SECONDS },
    copy: {
      type: 'flag',
      default: true,
      description: "keep the source's compressed video and sound where the file's container takes their codecs (--no-copy: decode and encode; --size, --bitrate, --crf... imply it)",
    },
    ...OUTPUT_OPTIONS,
    crf: { type: 'number', description: 'constant rate factor (x264/x265)', max: MAX_CRF },
    ...INPUT_OPTIONS,
    ...AUDIO_OPTIONS,
    transport: { type: 'string', description: 'for rtsp:// sources', choices: ['tcp', 'udp'] },
    timeout: { type: 'integer', description: 'ms to wait for the source before giving up', default: 10000, min: 1, max: MAX_TIMEOUT_MS },
    ...COMMON_OPTIONS,
  },
};

/**
 * Opens the source for what the file can take: its video and sound copied where the container
 * holds their codecs (and copying was not declined), decoded otherwise. Opened for copying
 * first, since only then are the codecs known, and again for decoding if the container refuses one.
 */
async function openSource(url: string, file: string, options: Options): Promise<{ decoder: Decoder<MediaItem>; videoCopy: boolean; audioCopy: boolean }> {
  const base = {
    ...decoderOptions(options),
    pixelFormat: 'yuv420p' as const, // what the encoder takes: no colour conversion on the way
    timeoutMs: options.timeout as number,
    transport: options.transport as 'tcp' | 'udp' | undefined,
  };
  const audio = audioOption(options);
  const wantsVideoCopy = options.copy === true && ENCODING_OPTIONS.every((name) => options[name] === undefined);
  const wantsAudioCopy = audio === 'auto' && options.copy === true;
  const open = (videoCopy: boolean, audioCopy: boolean) =>
    Decoder.open(url, { ...base, video: videoCopy ? 'copy' : 'decode', audio: audio === false ? false : audioCopy ? 'copy' : { sampleFormat: 'f32' } }) as Promise<Decoder<MediaItem>>;
  const format = options.format as string | undefined;
  let decoder = await open(wantsVideoCopy, wantsAudioCopy);
  const { videoParameters, audio: sound } = decoder.info;
  const videoCopy = wantsVideoCopy && containerTakes(file, format, videoParameters.codec);
  const audioCopy = wantsAudioCopy && sound !== null && containerTakes(file, format, sound.parameters.codec);
  if (videoCopy !== wantsVideoCopy || (sound !== null && audioCopy !== wantsAudioCopy)) {
    decoder.close();
    decoder = await open(videoCopy, audioCopy);
  }
  return { decoder, videoCopy, audioCopy };
}

export async function record({ positionals, options, signal, out }: CommandContext): Promise<void> {
  const [url, file] = positionals;
  const { decoder, videoCopy, audioCopy } = await openSource(url, file, options);
  const progress = new ProgressReporter(ProgressReporter.modeFor(options, out), out);
  let encoder: Encoder | null = null;
  try {
    const audio = audioOption(options);
    const enc = (encoder = await Encoder.open(file, {
      ...writerOptions(options),
      from: decoder.info,
      crf: options.crf as number | undefined,
      video: videoCopy ? 'copy' : 'encode',
      // A live source that restarts (a publisher looping a file, a reconnect) goes back in time:
      // the file's timeline carries on instead.
      timeline: 'continue',
      audio: decoder.info.audio === null ? false : audioCopy ? 'copy' : audio === 'auto' || audio === false ? {} : audio,
    }));
    const frameRate = enc.frameRate.num / enc.frameRate.den;
    const limit = options.duration as number | undefined;
    // The media seconds to record, when known: --duration, or what a file holds after --start.
    const info = decoder.info;
    const inSource = info.duration === null ? null : Math.max(0, info.duration - Math.max(0, ((options.start as number | undefined) ?? 0) - (info.startTime ?? 0)));
    const total = limit === undefined ? inSource : Math.min(limit, inSource ?? Infinity);
    const meter = new FpsMeter();
    // Wall clock (ms) when the first frame was read and when the last was encoded: the streaming.
    let began: number | null = null;
    let ended = 0;
    const status = (streaming: number): Status => {
      const sofar = sent(enc.stats, frameRate);
      const speed = streaming > 0 ? sofar.time / streaming : 0;
      return { ...sofar, fps: meter.update(sofar.frames, streaming), speed, lateFrames: 0, droppedFrames: decoder.corruptPackets, ...completion(sofar.time, total, speed) };
    };
    let first: number | null = null;
    for await (const item of decoder) {
      if (signal.aborted) break;
      first ??= item.time ?? 0;
      if (limit !== undefined && (item.time ?? 0) - first >= limit - 1e-9) break;
      began ??= performance.now();
      await enc.encode(item);
      ended = performance.now();
      progress.update(status((ended - began) / 1000));
    }
    await enc.close();
    if (enc.stats.frames === 0 && !signal.aborted) throw new StreamcoderError(`No frame was read from the source`, 'ERR_END_OF_STREAM');
    // The end: the streaming's own averages (the flush at close excluded).
    const seconds = began === null ? 0 : (ended - began) / 1000;
    const final = status(seconds);
    const fps = seconds > 0 ? final.frames / seconds : 0;
    progress.end({ ...final, fps }, { action: 'recorded', output: file, seconds, interrupted: signal.aborted });
  } finally {
    progress.finish();
    if (encoder && !encoder.closed) await encoder.close().catch(() => undefined);
    decoder.close();
  }
}
