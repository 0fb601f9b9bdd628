// What a Server or Encoder takes (WriterOptions, AudioOptions, reconnect, adaptive bit rate) and
// its strict check into what the native writer is given; the bounds of each number.
import type { NativeWriterOptions } from '../../binding';
import { native } from '../binding';
import { StreamcoderError } from '../errors';
import { formatOptionsFor, isConnectedOutput, timeoutFor } from '../network-options';
import { PIXEL_FORMATS, type AudioInfo, type CodecParameters, type PixelFormat, type Rational, type StreamInfo } from '../types';
import * as check from '../validate';

/** How a Server or Encoder encodes sound (the `audio` option). */
export interface AudioOptions {
  /**
   * Any libavcodec audio encoder the container takes: `aac` (the default, for FLV/RTMP, RTSP, MP4,
   * MPEG-TS, Matroska), `libopus` (Matroska, WebM, MP4; WebM's default), `libmp3lame` (MP4, FLV,
   * Matroska)... A codec the container refuses is ERR_UNSUPPORTED, before anything is opened.
   */
  codec?: 'aac' | 'libopus' | 'libmp3lame' | (string & {});
  /** Bits per second, or a string such as `'128k'`. Default: the encoder's. */
  bitRate?: number | string;
  /**
   * The stream's rate, 8000 to 384000 (the nearest the encoder takes: libopus makes 44100 48000).
   * Default: `from.audio`'s output rate, else 48000. AudioFrames of any rate are resampled to it.
   */
  sampleRate?: number;
  /** The stream's channels, 1 to 64 (at most what the encoder takes). Default: `from.audio`'s, else 2. */
  channels?: number;
}

/**
 * How a Server survives its server going away (the `reconnect` option; `true` for these defaults).
 * While the link is down the push goes on: pictures are paced and encoded as before, and what they
 * make is kept for the reconnect, which sends the last GOP written before the drop again (it may
 * not have arrived) and then what the outage kept, starting with a key frame, timestamps going on
 * forward. A server that refuses the publish ends the push with ERR_PUBLISH_REFUSED.
 */
export interface ReconnectOptions {
  /** Attempts per outage before the push fails with ERR_RECONNECT_FAILED. Default 30. */
  retries?: number;
  /** The wait before the first attempt, in ms, doubling (with jitter) up to `maxBackoffMs`. Default 250 and 5000. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Seconds of media kept while the link is down, sent on reconnect; older GOPs are dropped and
   * counted (`stats.droppedFrames`). Default 10; 0 keeps only the last GOP written.
   */
  outageBufferSeconds?: number;
}

/**
 * An adaptive bitrate (libx264): the target starts at `start` (default `max`), drops at once to
 * what the link really carries when it congests (the writes block, or the served timeline falls
 * behind), never below `min` (default `max / 10`), and climbs back by at most 10 % every few
 * seconds once the link keeps up, never above `max`. The encoder reconfigures in place: no new
 * stream. Bits per second, or strings such as `'6M'`. Rate control is its own: no `maxBitRate`,
 * `bufSize` or `crf` with it.
 */
export interface AdaptiveBitRateOptions {
  start?: number | string;
  min?: number | string;
  max: number | string;
}

/** The defaults of `reconnect: true`. */
export const RECONNECT_DEFAULTS: Readonly<Required<ReconnectOptions>> = Object.freeze({
  retries: 30,
  backoffMs: 250,
  maxBackoffMs: 5000,
  outageBufferSeconds: 10,
});

/** Options of `Server.open` and `Encoder.open`. */
export interface WriterOptions {
  /**
   * Take size, frame rate and pixel format from a Decoder's `info` (mpegCoder's configDict); its
   * `audio` gives the audio stream's defaults, and its `videoParameters` and `audio.parameters`
   * what a stream copy needs.
   */
  from?: Pick<StreamInfo, 'width' | 'height' | 'frameRate'> & {
    pixelFormat?: string;
    audio?: AudioInfo | null;
    videoParameters?: CodecParameters;
  };
  /**
   * `'copy'`: write the source's compressed video packets unchanged (Packets of kind
   * `video-packet`, no encoder; needs `from.videoParameters`), paced on the same clock.
   * Default `'encode'`: pictures are encoded with `codec`.
   */
  video?: 'encode' | 'copy';
  /**
   * Sound: `{ codec, bitRate, sampleRate, channels }` encodes AudioFrames (`{}` for the
   * defaults: AAC), `'copy'` writes the source's compressed audio packets (needs
   * `from.audio.parameters`), `false` (the default) makes no audio stream.
   */
  audio?: AudioOptions | 'copy' | false;
  /**
   * Every item is placed at its source `time`, relative to the first item's, so variable frame
   * rates, gaps and the offset between sound and pictures survive. A `frameRate` other than
   * `from`'s makes a constant-rate stream, dropping or duplicating pictures by their time (as
   * ffmpeg's `-r`); `retime: true` instead spaces the pictures evenly at `frameRate`, whatever
   * their times (the stream plays faster or slower). Default false.
   */
  retime?: boolean;
  /**
   * What happens when an item goes back in time (a file looped with `dec.seek(0)`, a Client
   * reconnecting at 0): `'strict'` (the default) refuses it with ERR_INVALID_ARGUMENT;
   * `'continue'` shifts the timeline so that it follows the latest item written, in every stream,
   * and the output plays on without a jump.
   */
  timeline?: 'strict' | 'continue';
  /**
   * Size of the stream, and of pictures given as bare Uint8Arrays. Required unless `from` gives
   * it. A `Frame` of another size is scaled to it (libswscale, bicubic), so one Decoder can feed
   * writers of several sizes (a rendition ladder).
   */
  width?: number;
  height?: number;
  /**
   * Frames per second: a number or `{ num, den }` (e.g. 30000/1001; integers up to 2^31 - 1).
   * From 1/60 (one frame a minute) to 1000 ({@link MIN_FRAME_RATE}, {@link MAX_FRAME_RATE}).
   * Default `from`'s, else 30.
   */
  frameRate?: number | Rational;
  /**
   * Pixel format of pictures given as bare Uint8Arrays (a `Frame` says its own, and is converted
   * when it differs). Default `from`'s when it is one of these, else `rgb24`.
   */
  pixelFormat?: PixelFormat;
  /** Any libavcodec video encoder: `libx264` (default), `libx265`, `mpeg4`, `h264_nvenc`, ... */
  codec?: string;
  /**
   * Bits per second, or a string such as `'2M'`. Or, for libx264, an adaptive bitrate (see
   * {@link AdaptiveBitRateOptions}): `{ start, min, max }`, following what the link carries.
   */
  bitRate?: number | string | AdaptiveBitRateOptions;
  /**
   * Rate control's maximum bit rate and its buffer (VBV) size, in bits (or `'3M'`); for libx264
   * and libx265 both or neither (they ignore one alone).
   */
  maxBitRate?: number | string;
  bufSize?: number | string;
  /**
   * Frames between keyframes, or `gopSeconds` of media between them (one or the other). Default for
   * network outputs (rtmp://, rtsp://, srt://, udp://...): a keyframe every 2 s, so that a viewer
   * joining waits at most that long; for files, the encoder's own (x264: 250 frames).
   */
  gopSize?: number;
  gopSeconds?: number;
  maxBFrames?: number;
  /**
   * Encoder preset and tune (x264/x265: `veryfast`, `zerolatency`, ...). For network outputs,
   * libx264 and libx265 default to `zerolatency` (no lookahead, no B-frames: nothing held back, a
   * frame goes out when it is served); files keep the encoder's defaults. For libx264 and libx265
   * they must be names those encoders know (x264 tunes may be joined by `,` or `+`): others are
   * refused with ERR_INVALID_ARGUMENT listing the valid ones, before anything is opened.
   */
  preset?: string;
  tune?: string;
  /** Constant rate factor (x264/x265). */
  crf?: number;
  /** Encoder threads; 0 (default) lets the encoder choose. */
  threads?: number;
  /** For rtsp:// outputs: `tcp` (default of FFmpeg: udp) or `udp`. */
  transport?: 'tcp' | 'udp';
  /** Force a muxer (e.g. `mpegts` for udp:// or `flv`); default: from the URL or file name. */
  format?: string;
  /** libav encoder and muxer/protocol options. */
  codecOptions?: Record<string, string | number | boolean>;
  formatOptions?: Record<string, string | number | boolean>;
  /** Bound on each blocking connect/write in ms. Default 10000 for URLs, none for files. */
  timeoutMs?: number;
  /**
   * rtmp://, rtsp://, srt:// and tcp:// outputs: reconnect when the server goes away instead of
   * failing (see {@link ReconnectOptions}); `true` for the defaults. Default false for
   * `Server.open`, true in `pipeline()` and the command line.
   */
  reconnect?: boolean | ReconnectOptions;
}

/**
 * The slowest frame rate a Server or Encoder takes: one frame a minute. Slower, a paced stream
 * would wait minutes per frame (`{ num: 1, den: 1e6 }` made `serveBlock` wait 11 days), and such
 * a rate is almost always a num/den mix-up. The native layer enforces the same bounds.
 */
export const MIN_FRAME_RATE = 1 / 60;
/** The fastest frame rate a Server or Encoder takes, in frames per second. */
export const MAX_FRAME_RATE = 1000;
/** Bounds of `gopSize`, `maxBFrames` and `crf` (the native layer enforces the same). */
export const MAX_GOP_SIZE = 100_000;
export const MAX_B_FRAMES = 16;
export const MAX_CRF = 63;

const RATE_WORDS = 'a frame rate from 1/60 (one frame a minute) to 1000 frames per second';

function rational(value: unknown, name: string): Rational {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < MIN_FRAME_RATE || value > MAX_FRAME_RATE) throw check.invalid(name, RATE_WORDS, value);
    // Integers exactly; others to 1/1000 (29.97 -> 29970/1000; 1/60 -> 17/1000, still in range).
    return Number.isInteger(value) ? { num: value, den: 1 } : { num: Math.round(value * 1000), den: 1000 };
  }
  if (typeof value === 'object' && value !== null) {
    const { num, den } = value as Rational;
    check.integer(num, `${name}.num`, 1, 2 ** 31 - 1);
    check.integer(den, `${name}.den`, 1, 2 ** 31 - 1);
    // Exact in doubles (both products are below 2^53): 1/60 <= num/den <= 1000.
    if (num * 60 < den || num > den * MAX_FRAME_RATE) throw check.refused(name, RATE_WORDS, `${num}/${den}`);
    return { num, den };
  }
  throw check.invalid(name, 'a number or { num, den }', value);
}

/**
 * The caller's codec options, and for libx265 a log level: x265 prints its banner and statistics
 * to stderr itself, whatever FFmpeg's log level, so it is kept to errors unless the caller's
 * `x265-params` choose a `log-level`.
 */
function encoderOptions(codec: string, value: unknown): Record<string, string> {
  const options = check.dictionary(value, 'codecOptions');
  const params = options['x265-params'];
  if (codec === 'libx265' && !/(^|:)log-level=/.test(params ?? '')) {
    options['x265-params'] = params ? `${params}:log-level=error` : 'log-level=error';
  }
  return options;
}

const X26X_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo'] as const;

/**
 * The presets and tunes x264 and x265 know. Given anything else, the encoder library prints its
 * own complaint to stderr (`x264 [error]: invalid preset ...`) whatever FFmpeg's log level, so
 * those names are checked here, before anything is opened. x264 takes one or more tunes joined
 * by `,` or `+`, at most one of them a psy tune (film ... ssim); x265 takes one.
 */
const ENCODER_PRESETS: Record<string, { presets: readonly string[]; tunes: readonly string[]; psyTunes?: readonly string[] }> = {
  libx264: {
    presets: X26X_PRESETS,
    tunes: ['film', 'animation', 'grain', 'stillimage', 'psnr', 'ssim', 'fastdecode', 'zerolatency'],
    psyTunes: ['film', 'animation', 'grain', 'stillimage', 'psnr', 'ssim'],
  },
  libx265: { presets: X26X_PRESETS, tunes: ['psnr', 'ssim', 'grain', 'zerolatency', 'fastdecode', 'animation'] },
};
ENCODER_PRESETS.libx264rgb = ENCODER_PRESETS.libx264;

/** `preset` and `tune` (as options or in codecOptions) checked against the codec's names. */
function checkPresetAndTune(codec: string, preset: string | undefined, tune: string | undefined, codecOptions: Record<string, string>): void {
  const known = ENCODER_PRESETS[codec];
  if (!known) return;
  const checkName = (name: string, value: string | undefined, allowed: readonly string[], list: boolean) => {
    if (value === undefined) return;
    const parts = list ? value.split(/[,+]/) : [value];
    if (parts.some((part) => !allowed.includes(part))) throw check.invalid(name, `a ${codec} ${name.replace(/^codecOptions\./, '')}: one of ${allowed.join(', ')}`, value);
    const psy = parts.filter((part) => known.psyTunes?.includes(part));
    if (psy.length > 1) throw check.invalid(name, `at most one of ${known.psyTunes!.join(', ')} (${codec} takes one psy tune)`, value);
  };
  checkName('preset', preset, known.presets, false);
  checkName('tune', tune, known.tunes, known.psyTunes !== undefined);
  checkName('codecOptions.preset', codecOptions.preset, known.presets, false);
  checkName('codecOptions.tune', codecOptions.tune, known.tunes, known.psyTunes !== undefined);
}

/**
 * x264 and x265 ignore a VBV max rate without a buffer size, and a buffer size without a max rate
 * (on FFmpeg's log only, silent by default): one without the other is refused for them. Other
 * encoders judge for themselves (mpeg4 refuses either alone when it opens).
 */
function checkVbv(codec: string, maxBitRate: number, bufSize: number): void {
  if (!ENCODER_PRESETS[codec] || (maxBitRate > 0) === (bufSize > 0)) return;
  const [missing, given] = maxBitRate > 0 ? ['bufSize', 'maxBitRate'] : ['maxBitRate', 'bufSize'];
  throw check.refused(missing, 'a bit rate', `nothing (${codec} ignores ${given} without ${missing})`);
}

/** The keys of {@link WriterOptions}: any other is refused. */
export const WRITER_OPTION_KEYS = [
  'from', 'width', 'height', 'frameRate', 'pixelFormat', 'codec', 'bitRate', 'maxBitRate', 'bufSize',
  'gopSize', 'gopSeconds', 'maxBFrames', 'preset', 'tune', 'crf', 'threads', 'transport', 'format', 'codecOptions',
  'formatOptions', 'timeoutMs', 'video', 'audio', 'retime', 'timeline', 'reconnect',
] as const satisfies readonly (keyof WriterOptions)[];

/** The keys of {@link AudioOptions}. */
export const AUDIO_OPTION_KEYS = ['codec', 'bitRate', 'sampleRate', 'channels'] as const satisfies readonly (keyof AudioOptions)[];

type FromOption = NonNullable<WriterOptions['from']>;

/** The audio part of the native options. */
function audioOptions(value: unknown, from: Partial<FromOption> | undefined, where: string): Partial<NativeWriterOptions> {
  if (value === undefined || value === false) return { audio: 'none' };
  if (value === 'copy') {
    const parameters = from?.audio?.parameters;
    if (!parameters) {
      throw check.refused('from.audio.parameters', "the source's audio (from: the info of a Decoder opened with audio: true)", "nothing (audio: 'copy' copies the source's packets)");
    }
    return { audio: 'copy', audioParameters: parameters };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw check.invalid('audio', "an object of audio options, 'copy' or false", value);
  }
  const o = value as AudioOptions;
  check.knownOptions(o, AUDIO_OPTION_KEYS, `${where} audio`);
  const output = from?.audio?.output;
  return {
    audio: 'encode',
    audioCodec: o.codec === undefined ? undefined : requireEncoder(check.string(o.codec, 'audio.codec'), 'audio', 'audio.codec'),
    audioBitRate: o.bitRate === undefined ? 0 : check.bitRate(o.bitRate, 'audio.bitRate'),
    audioSampleRate: check.integer(o.sampleRate ?? output?.sampleRate ?? from?.audio?.sampleRate ?? 48_000, 'audio.sampleRate', check.MIN_SAMPLE_RATE, check.MAX_SAMPLE_RATE),
    audioChannels: check.integer(o.channels ?? output?.channels ?? from?.audio?.channels ?? 2, 'audio.channels', 1, check.MAX_CHANNELS),
  };
}

/** `bitRate`: a fixed rate (bits per second, 0 for the encoder's default) or an adaptive range. */
function bitRateOptions(value: unknown): { bitRate: number; adaptiveBitRate?: { min: number; max: number } } {
  if (value === undefined) return { bitRate: 0 };
  if (typeof value !== 'object' || value === null) return { bitRate: check.bitRate(value as number | string, 'bitRate') };
  const o = check.optionsObject(value as AdaptiveBitRateOptions, 'bitRate');
  check.knownOptions(o, ['start', 'min', 'max'], 'adaptive bitRate');
  if (o.max === undefined) throw check.invalid('bitRate.max', 'the highest bit rate (e.g. \'6M\')', o.max);
  const max = check.bitRate(o.max, 'bitRate.max');
  const min = o.min === undefined ? Math.round(max / 10) : check.bitRate(o.min, 'bitRate.min');
  const start = o.start === undefined ? max : check.bitRate(o.start, 'bitRate.start');
  if (min > max) throw check.refused('bitRate.min', `at most bitRate.max (${max})`, String(min));
  if (start < min || start > max) throw check.refused('bitRate.start', `from bitRate.min to bitRate.max (${min} to ${max})`, String(start));
  return { bitRate: start, adaptiveBitRate: { min, max } };
}

const RECONNECT_OPTION_KEYS = ['retries', 'backoffMs', 'maxBackoffMs', 'outageBufferSeconds'] as const satisfies readonly (keyof ReconnectOptions)[];
/** The most reconnect attempts per outage, and the longest outage buffer (the native layer's bounds). */
export const MAX_RECONNECT_RETRIES = 1_000_000;
export const MAX_OUTAGE_BUFFER_SECONDS = 3600;

/** The `reconnect` option checked, with defaults filled in; undefined when off. */
function reconnectOptions(url: string, value: unknown, where: string): NativeWriterOptions['reconnect'] {
  if (value === undefined || value === false) return undefined;
  if (!isConnectedOutput(url)) throw check.invalid('reconnect', 'false for an output that is not a connection to a server (rtmp://, rtsp://, srt://, tcp://)', value);
  if (value === true) return { ...RECONNECT_DEFAULTS };
  if (value === null) throw check.invalid('reconnect', 'true, false or an object of reconnect options', value);
  const o = check.optionsObject(value as ReconnectOptions, 'reconnect');
  check.knownOptions(o, RECONNECT_OPTION_KEYS, `${where} reconnect`);
  const backoffMs = o.backoffMs === undefined ? RECONNECT_DEFAULTS.backoffMs : check.integer(o.backoffMs, 'reconnect.backoffMs', 1, check.MAX_TIMEOUT_MS);
  return {
    retries: o.retries === undefined ? RECONNECT_DEFAULTS.retries : check.integer(o.retries, 'reconnect.retries', 1, MAX_RECONNECT_RETRIES),
    backoffMs,
    maxBackoffMs: o.maxBackoffMs === undefined ? Math.max(backoffMs, RECONNECT_DEFAULTS.maxBackoffMs) : check.integer(o.maxBackoffMs, 'reconnect.maxBackoffMs', backoffMs, check.MAX_TIMEOUT_MS),
    outageBufferSeconds: o.outageBufferSeconds === undefined ? RECONNECT_DEFAULTS.outageBufferSeconds : check.number(o.outageBufferSeconds, 'reconnect.outageBufferSeconds', 0, MAX_OUTAGE_BUFFER_SECONDS),
  };
}

/** Seconds of media between keyframes of a network output when the caller sets neither gopSize nor gopSeconds. */
export const LIVE_GOP_SECONDS = 2;

/** `gopSize`, or `gopSeconds` in frames at `frameRate`, or the live default; -1: the encoder's. */
function gopSize(o: Partial<WriterOptions>, frameRate: Rational, live: boolean): number {
  if (o.gopSize !== undefined && o.gopSeconds !== undefined) throw check.invalid('gopSeconds', 'nothing when gopSize is set (one or the other)', o.gopSeconds);
  if (o.gopSize !== undefined) return check.integer(o.gopSize, 'gopSize', 0, MAX_GOP_SIZE);
  const seconds = o.gopSeconds !== undefined ? check.number(o.gopSeconds, 'gopSeconds', 0.001, 3600) : live ? LIVE_GOP_SECONDS : undefined;
  if (seconds === undefined) return -1;
  return Math.min(MAX_GOP_SIZE, Math.max(1, Math.round((seconds * frameRate.num) / frameRate.den)));
}

function sameRate(a: Rational, b: Rational): boolean {
  return a.num * b.den === b.num * a.den;
}

/**
 * `where` names the call in messages (`Server.open`, `Encoder.openSync`).
 * @internal
 */
export function normaliseWriterOptions(url: unknown, options: WriterOptions | undefined, where = 'Server.open'): NativeWriterOptions {
  check.string(url, 'url');
  const o = check.optionsObject(options);
  check.knownOptions(o, WRITER_OPTION_KEYS, where, 'libav options go in codecOptions or formatOptions');
  const from = o.from === undefined ? undefined : check.optionsObject(o.from, 'from');
  const video = o.video === undefined ? 'encode' : check.oneOf(o.video, 'video', ['encode', 'copy'] as const);
  const videoParameters = video === 'copy' ? from?.videoParameters : undefined;
  if (video === 'copy' && !videoParameters) {
    throw check.refused('from.videoParameters', "the source's video (from: a Decoder's info)", "nothing (video: 'copy' copies the source's packets)");
  }
  const width = o.width ?? from?.width ?? videoParameters?.width;
  const height = o.height ?? from?.height ?? videoParameters?.height;
  if (width === undefined || height === undefined) throw check.invalid('width and height', 'the frame size (or `from`)', width ?? height, 'ERR_DIMENSIONS');
  const fromFormat = PIXEL_FORMATS.find((f) => f === from?.pixelFormat);
  const codec = o.codec === undefined ? 'libx264' : check.string(o.codec, 'codec');
  if (o.video !== 'copy') requireEncoder(codec, 'video', 'codec');
  // A source whose rate is unknown (0/1) gives 30; one out of bounds is refused by its name.
  const fromRate = o.frameRate === undefined && from?.frameRate && from.frameRate.num > 0 ? from.frameRate : undefined;
  const frameRate = fromRate ? rational(fromRate, 'from.frameRate (set frameRate to override)') : rational(o.frameRate ?? 30, 'frameRate');
  const retime = o.retime === undefined ? false : check.boolean(o.retime, 'retime');
  // A rate other than the source's: a constant-rate stream at it, pictures dropped or duplicated by time.
  const changed = o.frameRate !== undefined && from?.frameRate !== undefined && from.frameRate.num > 0 && !sameRate(frameRate, from.frameRate);
  const timeline = o.timeline === undefined ? 'strict' : check.oneOf(o.timeline, 'timeline', ['strict', 'continue'] as const);
  const preset = o.preset === undefined ? undefined : check.string(o.preset, 'preset');
  const codecOptions = encoderOptions(codec, o.codecOptions);
  const live = check.isNetworkUrl(url as string);
  // Live outputs: nothing held back in the encoder unless the caller asks (x264's lookahead kept
  // ~47 frames, 1.9 s, and close() then took 1.95 s of paced flush).
  const tune = o.tune !== undefined ? check.string(o.tune, 'tune') : live && ENCODER_PRESETS[codec] && codecOptions.tune === undefined ? 'zerolatency' : undefined;
  checkPresetAndTune(codec, preset, tune, codecOptions);
  const maxBitRate = o.maxBitRate === undefined ? 0 : check.bitRate(o.maxBitRate, 'maxBitRate');
  const bufSize = o.bufSize === undefined ? 0 : check.bitRate(o.bufSize, 'bufSize');
  checkVbv(codec, maxBitRate, bufSize);
  const rates = bitRateOptions(o.bitRate);
  const formatOptions = formatOptionsFor(url as string, o, 'output');
  // An adaptive rate sees congestion when the writes block: a socket buffer of an eighth of a second
  // at the highest rate, not the megabytes the kernel would grow it to (a backlog of seconds).
  if (rates.adaptiveBitRate && /^rtmp/i.test(url as string)) {
    formatOptions.send_buffer_size ??= String(Math.min(1 << 20, Math.max(32_768, Math.round(rates.adaptiveBitRate.max / 64))));
  }
  return {
    url: url as string,
    format: o.format === undefined ? undefined : check.string(o.format, 'format'),
    width: check.dimension(width, 'width'),
    height: check.dimension(height, 'height'),
    frameRateNum: frameRate.num,
    frameRateDen: frameRate.den,
    pixelFormat: o.pixelFormat === undefined ? (fromFormat ?? 'rgb24') : check.oneOf(o.pixelFormat, 'pixelFormat', PIXEL_FORMATS),
    codec,
    ...rates,
    maxBitRate,
    bufSize,
    gopSize: gopSize(o, frameRate, live),
    maxBFrames: o.maxBFrames === undefined ? -1 : check.integer(o.maxBFrames, 'maxBFrames', 0, MAX_B_FRAMES),
    threads: o.threads === undefined ? 0 : check.integer(o.threads, 'threads', 0, check.MAX_THREADS),
    preset,
    tune,
    crf: o.crf === undefined ? -1 : check.number(o.crf, 'crf', 0, MAX_CRF),
    timeoutMs: timeoutFor(url as string, o.timeoutMs),
    codecOptions,
    formatOptions,
    video,
    videoParameters,
    videoSync: retime ? 'retime' : changed ? 'constant' : 'passthrough',
    timeline,
    ...audioOptions(o.audio, from, where),
    reconnect: reconnectOptions(url as string, o.reconnect, where),
  };
}

/**
 * Whether the container that `output` (or `format`) implies can hold `codec` (an FFmpeg codec
 * name): stream copy is chosen with it before anything is opened. Nothing is connected or created.
 * @internal
 */
/**
 * `name`, once FFmpeg is known to have an encoder of that name and kind: a misspelt codec is
 * refused while the options are checked, before any thread, file or connection is opened.
 */
export function requireEncoder(name: string, kind: 'video' | 'audio', option: string): string {
  const found = native.encoderType(name);
  if (found === kind) return name;
  // No such encoder is ERR_CODEC_NOT_FOUND; one of the other kind is a wrong argument.
  const a = kind === 'audio' ? 'an audio' : 'a video';
  const why = found === null ? `FFmpeg has no encoder named '${name}'` : `'${name}' is not ${a} encoder (it encodes ${found})`;
  throw new StreamcoderError(`${option}: ${why}; \`ffmpeg -encoders\` lists ${kind === 'audio' ? 'the audio' : 'the video'} encoders`, found === null ? 'ERR_CODEC_NOT_FOUND' : 'ERR_INVALID_ARGUMENT');
}

export function containerTakes(output: string, format: string | undefined, codec: string): boolean {
  return native.outputTakes(output, format ?? '', codec);
}
