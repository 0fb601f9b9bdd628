import type { NativeDecoder, NativeDecoderOptions } from '../binding';
import { native } from './binding';
import { withCallerStack } from './errors';
import { formatOptionsFor, timeoutFor } from './network-options';
import { openHandle, openHandleSync } from './open-handle';
import { PIXEL_FORMATS, type Frame, type FrameInfo, type PixelFormat, type StreamInfo } from './types';
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
   * (a stream without further keyframes would otherwise grow it without end). Default 2 GiB:
   * a 250-frame GOP of 1080p rgb24 is 1.55 GB. Larger GOPs: raise it, or read frame by frame.
   */
  maxGopBytes?: number;
}

/** See {@link DecoderOptions.maxPixels}. */
export const DEFAULT_MAX_PIXELS = 8192 * 4320;
/** The hard bound on any picture: 2^27 pixels (and 16384 on a side). */
export const MAX_PIXELS = 2 ** 27;

/** The keys of {@link DecoderOptions}: any other is refused. */
export const DECODER_OPTION_KEYS = [
  'pixelFormat', 'width', 'height', 'startTime', 'threads', 'transport', 'format', 'formatOptions',
  'codecOptions', 'timeoutMs', 'maxPixels', 'maxGopBytes',
] as const satisfies readonly (keyof DecoderOptions)[];

/** What ends an unknown-option message when no known name is close. */
export const LIBAV_OPTIONS_HINT = 'libav options go in codecOptions or formatOptions';

function normalise(source: unknown, options: DecoderOptions | undefined, where: string): NativeDecoderOptions {
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
    maxGopBytes: o.maxGopBytes === undefined ? 2 ** 31 : check.integer(o.maxGopBytes, 'maxGopBytes', 1, Number.MAX_SAFE_INTEGER),
    inputFormat: o.format === undefined ? undefined : check.string(o.format, 'format'),
    formatOptions: formatOptionsFor(url, o, 'source'),
    codecOptions: check.dictionary(o.codecOptions, 'codecOptions'),
  };
}

/**
 * Reads a video file or stream URL and delivers its frames, in presentation order, each exactly
 * once, as tightly packed pixels.
 *
 * Synchronous methods (`extract*`) block the calling thread: use them in worker_threads and
 * scripts. Their Promise forms (`read`, `readGOP`, `readInto`, async iteration) decode on the
 * libuv thread pool. One operation runs at a time per decoder; overlapping calls fail with
 * `ERR_BUSY`.
 *
 * @example
 * await using dec = await Decoder.open('clip.mp4', { pixelFormat: 'rgb24', width: 640 });
 * for await (const frame of dec) console.log(frame.index, frame.time, frame.data.length);
 */
export class Decoder implements AsyncIterable<Frame>, Disposable, AsyncDisposable {
  readonly #native: NativeDecoder;
  #info: StreamInfo;

  private constructor(handle: NativeDecoder) {
    this.#native = handle;
    this.#info = handle.info;
  }

  /** Opens `source` (a path or URL) off the event loop. */
  static async open(source: string, options?: DecoderOptions): Promise<Decoder> {
    return new Decoder(await openHandle(new native.Decoder(normalise(source, options, 'Decoder.open')), (h) => h.close()));
  }

  /** Opens `source` on this thread (blocking): for worker_threads and scripts. */
  static openSync(source: string, options?: DecoderOptions): Decoder {
    return new Decoder(openHandleSync(new native.Decoder(normalise(source, options, 'Decoder.openSync')), (h) => h.close()));
  }

  /** What is known about the video; `width`/`height`/`pixelFormat` describe delivered frames. */
  get info(): StreamInfo {
    return this.#info;
  }

  /** Bytes of one delivered frame: the size `extractFrameInto` needs. */
  get frameBytes(): number {
    return this.#native.frameBytes;
  }

  /** Packets or frames the decoder found corrupt and skipped so far. */
  get corruptPackets(): number {
    return this.#native.corruptPackets;
  }

  get closed(): boolean {
    return this.#native.closed;
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
   * 0 to 10^9, `MAX_TIMELINE_SECONDS`).
   */
  seek(seconds: number): void {
    this.#native.seek(check.number(seconds, 'seconds', 0, check.MAX_TIMELINE_SECONDS));
  }

  /** Frees everything; stops and waits for a read in flight. Idempotent. */
  close(): void {
    this.#native.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    for (let frame = await this.read(); frame !== null; frame = await this.read()) yield frame;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}


