// What every command shares: its options for output and logging, and the context it runs in;
// and the input and encoder options of push and record, with how they map to the library's.
// Kept in the .d.ts: the published types compile whatever the user's `types` and `lib` say.
/// <reference types="node" preserve="true" />
import type { OptionSpec, Parsed, ParsedValue, Size } from './args';
import type { DecoderOptions } from '../decoder';
import { LOG_LEVELS } from '../log';
import { MAX_TIMELINE_SECONDS } from '../validate';
import { MAX_GOP_SIZE, type AudioOptions, type WriterOptions } from '../writer/options';

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  quiet: { type: 'flag', description: 'no progress output' },
  json: { type: 'flag', description: 'machine-readable output: one {"type":"progress"} object per second, then one {"type":"summary"}' },
  // quiet by default: errors already quote FFmpeg's own explanation.
  'log-level': { type: 'string', description: "FFmpeg's own log on stderr", choices: LOG_LEVELS, default: 'quiet' },
  verbose: { type: 'flag', description: 'stack traces with errors' },
  help: { type: 'flag', description: 'show this help' },
};

export type Options = Record<string, ParsedValue | undefined>;

/** Where and how large the input is read (Decoder options). */
export const INPUT_OPTIONS: Record<string, OptionSpec> = {
  size: { type: 'size', description: 'scale to this size; -1 (or -2) for one side keeps the aspect ratio (even), e.g. 640x-1' },
  start: { type: 'time', description: 'start the input at this time: seconds, or [hh:]mm:ss[.ms]', max: MAX_TIMELINE_SECONDS },
  probe: { type: 'number', description: "seconds of the input read to learn its streams (default: 1 for live inputs, FFmpeg's 5 for others)", min: 0.01, max: 60 },
};

export function decoderOptions(options: Options): Pick<DecoderOptions, 'width' | 'height' | 'startTime' | 'formatOptions'> {
  const size = options.size as Size | undefined;
  const probe = options.probe as number | undefined;
  return {
    width: size?.width,
    height: size?.height,
    startTime: options.start as number | undefined,
    ...(probe !== undefined ? { formatOptions: { analyzeduration: String(Math.round(probe * 1e6)) } } : {}),
  };
}

/** How the output is encoded and muxed (Server and Encoder options). */
export const OUTPUT_OPTIONS: Record<string, OptionSpec> = {
  codec: { type: 'string', description: 'video encoder', default: 'libx264' },
  bitrate: { type: 'bitrate', description: "video bit rate, e.g. 2M (default: the encoder's quality mode)" },
  // x264 and x265 ignore either one without the other.
  maxrate: { type: 'bitrate', description: 'rate control: the highest bit rate, e.g. 3M (with --bufsize)', requires: 'bufsize' },
  bufsize: { type: 'bitrate', description: 'rate control: the buffer (VBV) size, in bits, e.g. 6M (with --maxrate)', requires: 'maxrate' },
  preset: { type: 'string', description: 'encoder preset', default: 'veryfast' },
  gop: { type: 'integer', description: 'frames between keyframes', min: 1, max: MAX_GOP_SIZE },
  format: { type: 'string', description: 'output container, e.g. flv, mpegts, rtsp, mp4 (default: from the URL or file name)' },
};

/** What becomes of the input's sound (push and record). */
export const AUDIO_OPTIONS: Record<string, OptionSpec> = {
  audio: { type: 'flag', description: "carry the input's sound (--no-audio: drop it)", default: true },
  'audio-codec': { type: 'string', description: 'encode the sound with this encoder, e.g. aac, libopus, libmp3lame (default: copy it where the container takes its codec, else aac)' },
  'audio-bitrate': { type: 'bitrate', description: 'audio bit rate when encoding, e.g. 128k (default: the encoder\'s)' },
};

/** The library's `audio` option from the command line's: copy where possible unless told to encode. */
export function audioOption(options: Options): false | 'auto' | AudioOptions {
  if (options.audio === false) return false;
  const codec = options['audio-codec'] as string | undefined;
  const bitRate = options['audio-bitrate'] as number | undefined;
  if (codec === undefined && bitRate === undefined) return 'auto';
  return { ...(codec !== undefined ? { codec } : {}), ...(bitRate !== undefined ? { bitRate } : {}) };
}

export function writerOptions(options: Options): Pick<WriterOptions, 'codec' | 'preset' | 'bitRate' | 'maxBitRate' | 'bufSize' | 'gopSize' | 'format'> {
  return {
    codec: options.codec as string,
    preset: options.preset as string,
    bitRate: options.bitrate as number | undefined,
    maxBitRate: options.maxrate as number | undefined,
    bufSize: options.bufsize as number | undefined,
    gopSize: options.gop as number | undefined,
    format: options.format as string | undefined,
  };
}

export interface CommandContext {
  positionals: string[];
  options: Options;
  /** The command's repeated groups (push's `--output URL ...`), in order. */
  groups?: Parsed['groups'];
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM: stop, flush, close, then return. */
  signal: AbortSignal;
  out: NodeJS.WriteStream;
}

export type CommandRun = (context: CommandContext) => Promise<void>;
