// Decoder: frames (and sound, and packets for a stream copy) out of a file or URL: sync methods
// for workers and scripts, async ones off the event loop, seeking, scaling, and the bounds a hostile
// input is held to (maxPixels, maxGopBytes).
// Kept in the .d.ts: the published types compile whatever the user's `types` and `lib` say.
/// <reference lib="esnext.disposable" preserve="true" />
import type { NativeAudioOptions, NativeDecoder, NativeDecoderOptions } from '../binding';
import { native } from './binding';
import { StreamcoderError, withCallerStack } from './errors';
import { formatOptionsFor, timeoutFor } from './network-options';
import { openHandle, openHandleSync } from './open-handle';
import {
  PIXEL_FORMATS, SAMPLE_FORMATS, type AudioFrame, type Frame, type FrameInfo, type MediaItem, type Packet, type PixelFormat,
  type SampleFormat, type StreamInfo,
} from './types';
import type { FrameRing, WriteSlot } from './ring';
import * as check from './validate';

export interface DecoderOptions {
  /** Pixel format of the frames delivered. Default `rgb24`. */
  pixelFormat?: PixelFormat;
  /**
   * Output width; with only one of width/height set, the other keeps the aspect ratio, rounded to
   * an even number (at least 2) as ffmpeg's `scale=W:-2` does, so that 4:2:0 encoders take it.
   */
  width?: number;
  height?: number;
  /** Seconds: the first frame delivered is the first at or after this time (at most 10^9). */
  startTime?: number;
  /** Decoding threads; 0 (default) lets FFmpeg choose. */
  threads?: number;
  /** For RTSP sources: `tcp` or `udp` (sets `rtsp_transport`). */
  transport?: 'tcp' | 'udp';
  /** Force a demuxer by name (e.g. `mpegts`) instead of probing. */
  format?: string;
  /**
   * An absolute directory that the input and everything it names (an HLS playlist's segments
   * and keys, a DASH manifest's pieces) must lie in, symbolic links followed: anything else fails
   * with ERR_ACCESS, the same whether it exists or not. For a service that opens files named by
   * others. Other protocols (http, pipe, ...) are refused under it too.
   */
  confineTo?: string;
  /** libav demuxer/protocol options, e.g. `{ rtsp_flags: 'prefer_tcp' }`. */
  formatOptions?: Record<string, string | number | boolean>;
  /** libav decoder options. */
  codecOptions?: Record<string, string | number | boolean>;
  /** Bound on each blocking open or read, in ms. Default 10000 for URLs, none for files. */
  timeoutMs?: number;
  /**
   * The largest picture decoded or delivered, in pixels: a source (or a requested size) beyond
   * it is refused with `ERR_LIMIT` before anything large is allocated, and a larger picture met
   * mid-stream is skipped and counted in `corruptPackets`. Default 35389440 (8192x4320, DCI 8K),
   * at most 134217728 (2^27), so a small crafted file cannot make the decoder take gigabytes.
   */
  maxPixels?: number;
  /**
   * What one `extractGOP()`/`readGOP()` may hold, in bytes, before it fails with `ERR_LIMIT`
   * (a stream without further keyframes would otherwise grow it without end). Default 1 GiB
   * ({@link DEFAULT_MAX_GOP_BYTES}): 170 frames of 1080p rgb24, 345 of yuv420p, so that a few KB
   * of crafted pictures near `maxPixels` cannot make one call take gigabytes. Longer GOPs (x264's
   * default is 250 frames): raise it, or read frame by frame.
   */
  maxGopBytes?: number;
  /**
   * The audio too (default: video only). `true` decodes FFmpeg's best audio stream to
   * interleaved `f32` at the source's rate and channel count; an object picks the stream and
   * converts (libswresample); `'copy'` delivers its compressed {@link Packet}s instead. The
   * items then come from `extractItem`/`readItem`/async iteration, in time order. A source
   * without audio gives `info.audio === null` (a source without video is `ERR_NO_VIDEO_STREAM`).
   */
  audio?: boolean | 'copy' | DecoderAudioOptions;
  /**
   * `'copy'`: deliver the video's compressed {@link Packet}s (no decoder opened, so the
   * frame methods refuse with `ERR_INVALID_STATE`); `'decode'` (default) decodes it.
   */
  video?: 'decode' | 'copy';
}

/** How {@link DecoderOptions.audio} is read and delivered. */
export interface DecoderAudioOptions {
  /**
   * The Nth audio stream of the source (0-based, among audio streams only); default FFmpeg's
   * best (`av_find_best_stream`, normally the first). Out of range: `ERR_INVALID_ARGUMENT`
   * naming the streams there are.
   */
  stream?: number;
  /** Samples per second delivered, 8000 to 384000; default the source's. */
  sampleRate?: number;
  /** Channels delivered (FFmpeg's default layout for the count), 1 to 64; default the source's. */
  channels?: number;
  /** `f32` (default, a Float32Array) or `s16` (an Int16Array), interleaved. */
  sampleFormat?: SampleFormat;
  /** Deliver the stream's compressed packets (as `audio: 'copy'`); no conversion options then. */
  copy?: boolean;
}

/** The values option `K` may take in options type `O` (never when `O` has no such key). */
type OptionValue<O, K extends PropertyKey> = K extends keyof O ? Exclude<O[K], undefined> : never;
/** Whether options of type `O` may ask for sound (an `audio` other than `false`). */
type MayAskAudio<O> = [OptionValue<O, 'audio'>] extends [false] ? false : true;
/** Whether options of type `O` may ask to copy the video. */
type MayCopyVideo<O> = [OptionValue<O, 'video'>] extends ['decode'] ? false : true;

/**
 * What the item methods yield for a Decoder opened with options of type `O`: `Frame`s unless the
 * options may say `audio` (other than `false`) or `video: 'copy'`, then any {@link MediaItem}.
 * Options of the wide type `DecoderOptions` (built at run time) may say either, so their items
 * are `MediaItem`s: narrow them by `kind`.
 */
export type DecoderItem<O> = MayAskAudio<O> extends true ? MediaItem : MayCopyVideo<O> extends true ? MediaItem : Frame;

/** What `extractItemInto` returns: the description of a video frame decoded into the buffer, or an audio or packet item. */
export type ItemInfo = (FrameInfo & { kind: 'video' }) | AudioFrame | Packet;

/** See {@link DecoderOptions.maxPixels}. */
export const DEFAULT_MAX_PIXELS = 8192 * 4320;
/** The default `maxGopBytes`: 1 GiB. */
export const DEFAULT_MAX_GOP_BYTES = 2 ** 30;
/** The hard bound on any picture: 2^27 pixels (and 16384 on a side). */
export const MAX_PIXELS = check.MAX_PIXELS;

/** The keys of {@link DecoderOptions}: any other is refused. */
export const DECODER_OPTION_KEYS = [
  'pixelFormat', 'width', 'height', 'startTime', 'threads', 'transport', 'format', 'confineTo', 'formatOptions',
  'codecOptions', 'timeoutMs', 'maxPixels', 'maxGopBytes', 'audio', 'video',
] as const satisfies readonly (keyof DecoderOptions)[];

/** The keys of {@link DecoderAudioOptions}. */
const AUDIO_OPTION_KEYS = ['stream', 'sampleRate', 'channels', 'sampleFormat', 'copy'] as const satisfies readonly (keyof DecoderAudioOptions)[];

/** @internal The audio options as the native layer takes them (Decoder and Client). */
export function normaliseAudio(value: unknown, where: string): NativeAudioOptions | undefined {
  if (value === undefined || value === false) return undefined;
  const plain: NativeAudioOptions = { stream: -1, copy: false, sampleRate: 0, channels: 0, sampleFormat: 'f32' };
  if (value === true) return plain;
  if (value === 'copy') return { ...plain, copy: true };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw check.invalid('audio', "true, false, 'copy' or an object of audio options", value);
  }
  const o = value as DecoderAudioOptions;
  check.knownOptions(o, AUDIO_OPTION_KEYS, `${where} audio`);
  const copy = o.copy === undefined ? false : check.boolean(o.copy, 'audio.copy');
  if (copy && (o.sampleRate !== undefined || o.channels !== undefined || o.sampleFormat !== undefined)) {
    throw new StreamcoderError('audio.copy delivers the compressed packets: sampleRate, channels and sampleFormat do not apply', 'ERR_INVALID_ARGUMENT');
  }
  return {
    stream: o.stream === undefined ? -1 : check.integer(o.stream, 'audio.stream', 0, 65535),
    copy,
    sampleRate: o.sampleRate === undefined ? 0 : check.integer(o.sampleRate, 'audio.sampleRate', check.MIN_SAMPLE_RATE, check.MAX_SAMPLE_RATE),
    channels: o.channels === undefined ? 0 : check.integer(o.channels, 'audio.channels', 1, check.MAX_CHANNELS),
    sampleFormat: o.sampleFormat === undefined ? 'f32' : check.oneOf(o.sampleFormat, 'audio.sampleFormat', SAMPLE_FORMATS),
  };
}

function absoluteDirectory(value: unknown): string {
  const dir = check.string(value, 'confineTo');
  if (!dir.startsWith('/')) throw check.invalid('confineTo', 'an absolute directory', dir);
  return dir;
}

/** What ends an unknown-option message when no known name is close. */
export const LIBAV_OPTIONS_HINT = 'libav options go in codecOptions or formatOptions';

/** @internal A Decoder's options as the native layer takes them (Decoder, and pipeline()'s relay). */
export function normaliseDecoderOptions(source: unknown, options: DecoderOptions | undefined, where: string): NativeDecoderOptions {
  check.string(source, 'source');
  const o = check.optionsObject(options);
  check.knownOptions(o, DECODER_OPTION_KEYS, where, LIBAV_OPTIONS_HINT);
  const url = source as string;
  return {
    source: url,
    pixelFormat: o.pixelFormat === undefined ? 'rgb24' : check.oneOf(o.pixelFormat, 'pixelFormat', PIXEL_FORMATS),
    width: o.width === undefined ? 0 : check.dimension(o.width, 'width'),
    height: o.height === undefined ? 0 : check.dimension(o.height, 'height'),
    startTime: o.startTime === undefined ? 0 : check.number(o.startTime, 'startTime', 0, check.MAX_TIMELINE_SECONDS),
    threads: o.threads === undefined ? 0 : check.integer(o.threads, 'threads', 0, check.MAX_THREADS),
    timeoutMs: timeoutFor(url, o.timeoutMs),
    maxPixels: o.maxPixels === undefined ? DEFAULT_MAX_PIXELS : check.integer(o.maxPixels, 'maxPixels', 1, MAX_PIXELS),
    maxGopBytes: o.maxGopBytes === undefined ? DEFAULT_MAX_GOP_BYTES : check.integer(o.maxGopBytes, 'maxGopBytes', 1, Number.MAX_SAFE_INTEGER),
    inputFormat: o.format === undefined ? undefined : check.string(o.format, 'format'),
    confineTo: o.confineTo === undefined ? undefined : absoluteDirectory(o.confineTo),
    formatOptions: formatOptionsFor(url, o, 'source'),
    codecOptions: check.dictionary(o.codecOptions, 'codecOptions'),
    audio: normaliseAudio(o.audio, where),
    videoCopy: o.video === undefined ? false : check.oneOf(o.video, 'video', ['decode', 'copy'] as const) === 'copy',
  };
}

/**
 * Reads a video file or stream URL and delivers its frames, in presentation order, each exactly
 * once, as tightly packed pixels; with `audio` (or a stream copy) asked for, also its sound as
 * {@link AudioFrame}s (or compressed {@link Packet}s), merged with the pictures in time order.
 *
 * Synchronous methods (`extract*`) block the calling thread: use them in worker_threads and
 * scripts. Their Promise forms (`read`, `readGOP`, `readInto`, `readItem`, async iteration)
 * decode on the libuv thread pool. One operation runs at a time per decoder; overlapping calls
 * fail with `ERR_BUSY`.
 *
 * The frame methods (`extractFrame`, `extractGOP`, `extractFrameInto`, `read`, `readGOP`,
 * `readInto`) deliver video only, also when audio is on: the audio they pass over is dropped,
 * not kept for later, and counted in {@link Decoder.audioSkipped}. To get both, read items.
 *
 * @example
 * await using dec = await Decoder.open('clip.mp4', { pixelFormat: 'rgb24', width: 640 });
 * for await (const frame of dec) console.log(frame.index, frame.time, frame.data.length);
 *
 * @example
 * await using show = await Decoder.open('show.mp4', { audio: { sampleRate: 48000, sampleFormat: 's16' } });
 * for await (const item of show) {
 *   if (item.kind === 'audio') console.log('audio', item.time, item.samples);
 *   else if (item.kind !== 'video-packet' && item.kind !== 'audio-packet') console.log('video', item.time);
 * }
 */
export class Decoder<T extends MediaItem = Frame> implements AsyncIterable<T>, Disposable, AsyncDisposable {
  readonly #native: NativeDecoder;
  #info: StreamInfo;

  private constructor(handle: NativeDecoder) {
    this.#native = handle;
    this.#info = handle.info;
  }

  /** Opens `source` (a path or URL) off the event loop. */
  static async open<const O extends DecoderOptions = {}>(source: string, options?: O): Promise<Decoder<DecoderItem<O>>> {
    return new Decoder(await openHandle(new native.Decoder(normaliseDecoderOptions(source, options, 'Decoder.open')), (h) => h.close()));
  }

  /** Opens `source` on this thread (blocking): for worker_threads and scripts. */
  static openSync<const O extends DecoderOptions = {}>(source: string, options?: O): Decoder<DecoderItem<O>> {
    return new Decoder(openHandleSync(new native.Decoder(normaliseDecoderOptions(source, options, 'Decoder.openSync')), (h) => h.close()));
  }

  /**
   * What is known about the video (and `audio`, when asked for); `width`/`height`/`pixelFormat`
   * describe delivered frames.
   */
  get info(): StreamInfo {
    return this.#info;
  }

  /** Bytes of one delivered frame: the size `extractFrameInto` needs (0 with `video: 'copy'`). */
  get frameBytes(): number {
    return this.#native.frameBytes;
  }

  /** Packets or frames the decoder found corrupt and skipped so far. */
  get corruptPackets(): number {
    return this.#native.corruptPackets;
  }

  /**
   * Audio packets or frames the audio decoder found corrupt (or could not convert) and skipped
   * so far; the video goes on regardless.
   */
  get audioCorruptPackets(): number {
    return this.#native.audioCorruptPackets;
  }

  /**
   * Audio packets (and decoded chunks) dropped unread: passed over by the frame methods, which
   * deliver video only, or (rarely) audio muxed so far ahead of the first picture that it
   * outgrew the reader's queue.
   */
  get audioSkipped(): number {
    return this.#native.audioSkipped;
  }

  get closed(): boolean {
    return this.#native.closed;
  }

  /**
   * The next item in time order (a video Frame, an AudioFrame, or a Packet of a copied stream),
   * or null at the end. Blocking. Without audio or copy, the same frames as `extractFrame`.
   */
  extractItem(): T | null {
    return this.#native.readItem() as T | null;
  }

  /**
   * `extractItem`, but a video frame is decoded straight into `target` (at least `frameBytes`
   * long; a ring slot works) and only its description returned; audio and packets come back as
   * objects and leave `target` untouched. A `target` too small is `ERR_BUFFER_SIZE` with the
   * frame kept for the next call.
   */
  extractItemInto(target: Uint8Array): ItemInfo | null {
    return this.#native.readItemInto(check.bytes(target, 'target'));
  }

  /** `extractItem` off the event loop. */
  readItem(): Promise<T | null> {
    return withCallerStack(() => this.#native.readItemAsync() as Promise<T | null>);
  }

  /** The next frame, or null at the end of the stream. Blocking. */
  extractFrame(): Frame | null {
    return this.#native.readFrame();
  }

  /**
   * Decodes the next frame straight into `target` (at least `frameBytes` long; a view of a
   * SharedArrayBuffer works too) and returns its description, or null at the end. No copy.
   */
  extractFrameInto(target: Uint8Array): FrameInfo | null {
    return this.#native.readFrameInto(check.bytes(target, 'target'));
  }

  /**
   * The next group of pictures: a keyframe and every frame up to the next keyframe, or null at
   * the end. A loop of calls returns every frame once.
   */
  extractGOP(): Frame[] | null {
    return this.#native.readGop();
  }

  /**
   * The next group of pictures decoded straight into `ring`'s slots (no copy), each committed
   * with its FrameInfo, so its place on the timeline (pts, time, keyFrame) travels with it: the
   * GOP-at-a-time way to feed a ring. Returns the GOP's frames' descriptions, or null at the end.
   * The keyframe that begins the next GOP is found by decoding it, into a slot held back
   * uncommitted until the next call commits it first: feed one ring from one decoder with this
   * method alone, and `ring.close()` after the null.
   *
   * @example
   * const ring = FrameRing.forInfo(decoder.info, { slots: 8 });   // a reader takes the frames as they come
   * while (decoder.extractGOPInto(ring)) {}
   * ring.close();
   */
  extractGOPInto(ring: FrameRing, timeoutMs?: number): FrameInfo[] | null {
    if (typeof ring !== 'object' || ring === null || typeof ring.acquireWrite !== 'function') throw check.invalid('ring', 'a FrameRing', ring);
    const gop: FrameInfo[] = [];
    let held = this.#gopHeld;
    this.#gopHeld = null;
    if (held && held.ring !== ring) {
      held.slot.cancel();
      throw check.invalid('ring', 'the ring the previous extractGOPInto filled', 'another ring');
    }
    for (;;) {
      if (held) {
        held.slot.commit(held.info);
        gop.push(held.info);
        held = null;
      }
      const slot = ring.acquireWrite(timeoutMs, this.frameBytes);
      let info: FrameInfo | null;
      try {
        info = this.extractFrameInto(slot.data);
      } catch (error) {
        slot.cancel();
        throw error;
      }
      if (info === null) {
        slot.cancel();
        return gop.length > 0 ? gop : null;
      }
      if (info.keyFrame && gop.length > 0) {
        this.#gopHeld = { ring, slot, info };
        return gop;
      }
      held = { ring, slot, info };
    }
  }

  #gopHeld: { ring: FrameRing; slot: WriteSlot; info: FrameInfo } | null = null;

  /** `extractFrame` off the event loop. */
  read(): Promise<Frame | null> {
    return withCallerStack(() => this.#native.readFrameAsync());
  }

  /** `extractFrameInto` off the event loop; `target` must not be touched until it settles. */
  readInto(target: Uint8Array): Promise<FrameInfo | null> {
    return withCallerStack(() => this.#native.readFrameIntoAsync(check.bytes(target, 'target')));
  }

  /** `extractGOP` off the event loop. */
  readGOP(): Promise<Frame[] | null> {
    return withCallerStack(() => this.#native.readGopAsync());
  }

  /**
   * After this, the next frame delivered is the first whose time is at or after `seconds` (from
   * 0 to 10^9, `MAX_TIMELINE_SECONDS`); audio resumes at the same time (the chunk across it cut).
   * A copied video stream resumes at the keyframe at or before it.
   */
  seek(seconds: number): void {
    this.#native.seek(check.number(seconds, 'seconds', 0, check.MAX_TIMELINE_SECONDS));
  }

  /** Frees everything; stops and waits for a read in flight. Idempotent. */
  close(): void {
    this.#native.close();
  }

  /** Every item in time order: video Frames, and AudioFrames or Packets when asked for. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    // The native call directly: most items were read ahead and come at once, and a stack
    // captured per item (readItem's) would cost more than the item (its frames would only
    // name this generator anyway).
    const next = () => this.#native.readItemAsync() as Promise<T | null>;
    for (let item = await next(); item !== null; item = await next()) yield item;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
