// Client: reads a live stream (rtsp, rtmp, srt, ...) on a native thread into a bounded cache of
// frames that JavaScript takes at its own pace, reconnecting when the source goes away.
// Kept in the .d.ts: the published types compile whatever the user's `types` and `lib` say.
/// <reference lib="esnext.disposable" preserve="true" />
import type { NativeClient, NativeClientOptions } from '../binding';
import { native } from './binding';
import { StreamcoderError, withCallerStack } from './errors';
import { DEFAULT_MAX_PIXELS, LIBAV_OPTIONS_HINT, MAX_PIXELS, normaliseAudio, type DecoderAudioOptions } from './decoder';
import { DEFAULT_NETWORK_TIMEOUT_MS, formatOptionsFor, isLiveUrl } from './network-options';
import { openHandle, openHandleSync } from './open-handle';
import { TypedEventEmitter } from './typed-emitter';
import { PIXEL_FORMATS, type AudioFrame, type Frame, type PixelFormat, type StreamInfo } from './types';
import * as check from './validate';

export interface ClientOptions {
  /** Frames kept for JS (default 8); when full, the oldest is dropped and counted. */
  cacheSize?: number;
  pixelFormat?: PixelFormat;
  width?: number;
  height?: number;
  /** Keep at most this many frames per second (by stream time); default: every frame. */
  frameRate?: number;
  /** For rtsp:// sources. */
  transport?: 'tcp' | 'udp';
  /** Bound on connecting and on a stalled read, in ms (default 10000). */
  timeoutMs?: number;
  /** After a drop, reconnect with backoff and keep going. Off by default. */
  reconnect?: { retries?: number; backoffMs?: number };
  /**
   * Little probing (32 kB, 0.2 s) and slice threads: the client opens in well under a second and
   * starts near the live edge, with no backlog of the seconds probing read. Default true for live
   * sources (rtmp://, rtsp://, srt://, udp://...) read without `audio`, false otherwise (then
   * live sources probe up to 1 s: so little can miss a stream that shows up late).
   */
  lowLatency?: boolean;
  threads?: number;
  /** The largest picture decoded, in pixels, as for {@link DecoderOptions.maxPixels}. */
  maxPixels?: number;
  /**
   * Bytes of pictures the cache may hold (default 1 GiB): past it, as past `cacheSize`, the
   * oldest frames are dropped and counted in `stats.dropped`.
   */
  maxCacheBytes?: number;
  formatOptions?: Record<string, string | number | boolean>;
  codecOptions?: Record<string, string | number | boolean>;
  /**
   * Keep the stream's sound too (default: pictures only), decoded and converted as for
   * {@link DecoderOptions.audio} (no `copy`): AudioFrames come from `next`/`read`/async iteration
   * in the order they were read, beside the frames, in the same cache under a bound of their own
   * (256 chunks, about 5 s of AAC); when full, the oldest chunk is dropped and counted in
   * `stats.audioDropped`. `extractFrame(n)` stays pictures only.
   */
  audio?: boolean | Omit<DecoderAudioOptions, 'copy'>;
}

/** What a Client yields for options of type `O`: `Frame`s, and `AudioFrame`s too when the options say `audio` (other than `false`). */
export type ClientItem<O> = O extends { audio: true | object } ? Frame | AudioFrame : Frame;

/** What a Client has read so far; a snapshot, taken when `stats` is read. */
export interface ClientStats {
  /** Frames decoded and put in the cache. */
  received: number;
  /** Frames the decoder produced, including ones skipped by `fps` thinning. */
  decoded: number;
  /**
   * Frames lost to a full cache (`cacheSize`, `maxCacheBytes`) while JS reads in order
   * (`next`/`read`/iteration) and was too slow: frames that JS never got.
   */
  dropped: number;
  /**
   * Every frame a full cache let go, those counted in `dropped` and those let go before JS read
   * in order: read only for its newest frames (`extractFrame(n)`), the cache turns over by design.
   */
  evicted: number;
  /** Audio chunks decoded and put in the cache (0 without `audio`). */
  audioReceived: number;
  /** Audio chunks dropped from a full cache before JS read them. */
  audioDropped: number;
  reconnects: number;
  /** Frames waiting in the cache now. */
  cached: number;
  /**
   * How far behind the live edge the newest frame was read, in ms, as the stream's own timing
   * tells: the edge is where frames arrived earliest against their stream times since the
   * (re)connection, so a backlog read in a burst shows as lateness falling to 0, and a reader that
   * falls behind makes it grow. How old the stream already was when it reached the server (the
   * publisher's and server's delay) no stream time can tell.
   */
  latencyMs: number;
  /** Frames received per second of wall time since the first. */
  fps: number;
  /** Bits read per second of stream time. */
  bitRate: number;
}

/** The events a Client emits and their listeners' arguments. Frames are read, not emitted. */
export interface ClientEvents {
  error: [error: StreamcoderError];
  end: [];
  reconnect: [attempt: number, cause: StreamcoderError];
}

/** The keys of {@link ClientOptions}: any other is refused. */
const CLIENT_OPTION_KEYS = [
  'cacheSize', 'pixelFormat', 'width', 'height', 'frameRate', 'transport', 'timeoutMs', 'reconnect',
  'lowLatency', 'threads', 'maxPixels', 'maxCacheBytes', 'formatOptions', 'codecOptions', 'audio',
] as const satisfies readonly (keyof ClientOptions)[];

function normalise(url: unknown, options: ClientOptions | undefined, where: string): NativeClientOptions {
  check.string(url, 'url');
  const o = check.optionsObject(options);
  check.knownOptions(o, CLIENT_OPTION_KEYS, where, LIBAV_OPTIONS_HINT);
  // Not by default with sound: 32 kB of a live FLV can end before its video has shown up (nginx
  // sends the sound's packets as they come), and the open fails with "no video stream".
  const lowLatency = o.lowLatency === undefined ? isLiveUrl(url as string) && (o.audio === undefined || o.audio === false) : check.boolean(o.lowLatency, 'lowLatency');
  // The caller's own probing, if any, before the defaults for live sources fill theirs in.
  const formatOptions = formatOptionsFor(url as string, lowLatency ? { ...o, formatOptions: { analyzeduration: '200000', ...o.formatOptions } } : o, 'source');
  if (lowLatency) {
    // Not `fflags nobuffer`: it throws away the packets read while probing, keyframe included,
    // so the first picture waited for the next keyframe (RTMP, GOP of 1 s: open took 1.4-1.9 s
    // instead of 0.6-0.9 s). The probed packets are decoded in a burst, then the reader is live.
    // analyzeduration 0.2 s (set above; 0 would mean FFmpeg's default, 5 s) is enough to find the
    // video's parameters.
    formatOptions.probesize ??= '32768';
  }
  const codecOptions = check.dictionary(o.codecOptions, 'codecOptions');
  // Frame threading holds back (threads - 1) frames; slices add no delay.
  if (lowLatency) codecOptions.thread_type ??= 'slice';
  const reconnect = o.reconnect === undefined ? {} : check.optionsObject(o.reconnect, 'reconnect');
  check.knownOptions(reconnect, ['retries', 'backoffMs'], `${where} reconnect`);
  return {
    source: url as string,
    pixelFormat: o.pixelFormat === undefined ? 'rgb24' : check.oneOf(o.pixelFormat, 'pixelFormat', PIXEL_FORMATS),
    width: o.width === undefined ? 0 : check.dimension(o.width, 'width'),
    height: o.height === undefined ? 0 : check.dimension(o.height, 'height'),
    threads: o.threads === undefined ? 0 : check.integer(o.threads, 'threads', 0, 64),
    timeoutMs: o.timeoutMs === undefined ? DEFAULT_NETWORK_TIMEOUT_MS : check.integer(o.timeoutMs, 'timeoutMs', 1, 86_400_000),
    maxPixels: o.maxPixels === undefined ? DEFAULT_MAX_PIXELS : check.integer(o.maxPixels, 'maxPixels', 1, MAX_PIXELS),
    maxCacheBytes: o.maxCacheBytes === undefined ? 2 ** 30 : check.integer(o.maxCacheBytes, 'maxCacheBytes', 1, Number.MAX_SAFE_INTEGER),
    formatOptions,
    codecOptions,
    cacheSize: o.cacheSize === undefined ? 8 : check.integer(o.cacheSize, 'cacheSize', 1, 1024),
    frameRate: o.frameRate === undefined ? 0 : check.number(o.frameRate, 'frameRate', 0.001, 1000),
    retries: reconnect.retries === undefined ? (o.reconnect ? 5 : 0) : check.integer(reconnect.retries, 'reconnect.retries', 0, 1_000_000),
    backoffMs: reconnect.backoffMs === undefined ? 1000 : check.integer(reconnect.backoffMs, 'reconnect.backoffMs', 0, 600_000),
    audio: clientAudio(o.audio, where),
  };
}

function clientAudio(value: unknown, where: string): NativeClientOptions['audio'] {
  if (value === 'copy' || (typeof value === 'object' && value !== null && 'copy' in value)) {
    throw new StreamcoderError(`${where}: a Client decodes what it keeps; stream copy ('copy') is for Decoder`, 'ERR_INVALID_ARGUMENT');
  }
  return normaliseAudio(value, where);
}

/**
 * Reads a live stream (`rtsp://`, `rtmp://`, `http(s)://`, `udp://`, `srt://`...) on a native
 * thread into a bounded cache of decoded frames. Take the newest frames whenever you want
 * (`extractFrame(n)`, mpegCoder's semantics) or every frame in order (`next`, `read`, async
 * iteration); when JS falls behind, the oldest frames are dropped and counted in `stats.dropped`.
 *
 * @example
 * const cli = await Client.open('rtsp://127.0.0.1:8554/cam', { transport: 'tcp', lowLatency: true });
 * cli.on('error', (e) => console.error(e.code, e.message));
 * cli.start();
 * for await (const frame of cli) console.log(frame.index, cli.stats.latencyMs);
 */
export class Client<T extends Frame | AudioFrame = Frame> extends TypedEventEmitter<ClientEvents> implements AsyncIterable<T>, Disposable {
  readonly #native: NativeClient;
  readonly #timeoutMs: number;
  readonly #cacheSize: number;

  private constructor(url: string, options: NativeClientOptions) {
    super();
    // A read waits a little longer than the reading thread's own stall detection, so that a
    // stall is reported as the thread saw it, after the frames it drained.
    this.#timeoutMs = options.timeoutMs + 1000;
    this.#cacheSize = options.cacheSize;
    this.#native = new native.Client(options, (type, error, attempt) => {
      if (type === 'error') {
        // An 'error' event nobody listens to would throw from nowhere: the failure is also
        // what next()/read() report, so it is only emitted to listeners.
        if (this.listenerCount('error') > 0) this.emit('error', error as StreamcoderError);
      } else if (type === 'end') this.emit('end');
      else this.emit('reconnect', attempt, error as StreamcoderError);
    });
  }

  /** Connects off the event loop (bounded by `timeoutMs`). */
  static async open<const O extends ClientOptions = {}>(url: string, options?: O): Promise<Client<ClientItem<O>>> {
    const client = new Client<ClientItem<O>>(url, normalise(url, options, 'Client.open'));
    await openHandle(client.#native, (h) => h.close());
    return client;
  }

  /** `open` on this thread (blocking), for worker_threads and scripts. */
  static openSync<const O extends ClientOptions = {}>(url: string, options?: O): Client<ClientItem<O>> {
    const client = new Client<ClientItem<O>>(url, normalise(url, options, 'Client.openSync'));
    openHandleSync(client.#native, (h) => h.close());
    return client;
  }

  get info(): StreamInfo {
    return this.#native.info;
  }

  get stats(): ClientStats {
    return this.#native.stats;
  }

  /** Whether the reading thread runs. */
  get running(): boolean {
    return this.#native.running;
  }

  /** Starts the reading thread; idempotent. After stop() (or the end), connects again. */
  start(): this {
    this.#native.start();
    return this;
  }

  /** Stops the reading thread (interrupting a blocked read); idempotent. */
  stop(): this {
    this.#native.stop();
    return this;
  }

  /** The newest `n` frames, oldest first (fewer if fewer are cached). They stay cached. */
  extractFrame(n = 1): Frame[] {
    return this.#native.newest(check.integer(n, 'n', 1, Number.MAX_SAFE_INTEGER));
  }

  /**
   * The next frame in order, waiting up to `timeoutMs` (default: the client's `timeoutMs` + 1 s);
   * null at the end of the stream. Blocking.
   */
  next(timeoutMs = this.#timeoutMs): T | null {
    return <T | null>this.#native.next(check.integer(timeoutMs, 'timeoutMs', 0, 86_400_000));
  }

  /** `next` off the event loop. */
  read(timeoutMs = this.#timeoutMs): Promise<T | null> {
    return withCallerStack(() => <Promise<T | null>>this.#native.nextAsync(check.integer(timeoutMs, 'timeoutMs', 0, 86_400_000)));
  }

  /** Frames the cache holds at most. */
  get cacheSize(): number {
    return this.#cacheSize;
  }

  /** Stops the thread and frees everything; returns promptly even during a blocked read. */
  close(): void {
    this.#native.close();
  }

  /**
   * Frames in order until the end. A wait longer than `timeoutMs` while the reading thread still
   * runs (reconnecting) goes on waiting; the thread's own failure, or out of retries, ends it.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      let frame: T | null;
      try {
        frame = await this.read();
      } catch (error) {
        if (error instanceof StreamcoderError && error.code === 'ERR_TIMEOUT' && this.running) continue;
        throw error;
      }
      if (frame === null) return;
      yield frame;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
