// FrameWriter: what Server and Encoder share: items in (pictures, sound, packets), checked and
// handed to the native writer, events, stats, closing.
// Kept in the .d.ts: the published types compile whatever the user's `types` and `lib` say.
/// <reference lib="esnext.disposable" preserve="true" />
import type { NativeItem, NativeWriter, NativeWriterEvent, NativeWriterOptions } from '../../binding';
import { native } from '../binding';
import { StreamcoderError, withCallerStack } from '../errors';
import { openHandle, openHandleSync } from '../open-handle';
import { frameBytes } from '../ring';
import { TypedEventEmitter } from '../typed-emitter';
import { PIXEL_FORMATS, SAMPLE_FORMATS, type AudioFrame, type Frame, type MediaItem, type Packet, type Rational } from '../types';
import * as check from '../validate';
import { MAX_PIXELS, MAX_TIMELINE_SECONDS } from '../validate';

/** Counters of a Server or Encoder; readable during and after the push. */
export interface WriterStats {
  /**
   * Pictures given to the video encoder (copies that fill a constant-rate stream's gaps
   * included), or video packets copied.
   */
  frames: number;
  /** Video packets written and their bytes. */
  packets: number;
  bytes: number;
  keyFrames: number;
  /** Video bits per second of media time. */
  bitRate: number;
  /** With an adaptive `bitRate`: the encoder's target now (0 otherwise). */
  targetBitRate: number;
  /** Pictures per wall-clock second since the first item. */
  fps: number;
  /** Seconds the served timeline (sound and pictures) runs ahead of the wall clock (negative: behind). */
  lead: number;
  /** Items (pictures, AudioFrames, packets) that reached a paced serve more than half a frame after their deadline. */
  lateFrames: number;
  /**
   * Pictures served that never went out: a frame-rate change left them out (two in one frame
   * slot), or an outage did not keep them (`outageDroppedFrames`). Every picture served either
   * reached the output or is counted here.
   */
  droppedFrames: number;
  /** Of `droppedFrames`, those an outage dropped (a reconnecting Server). */
  outageDroppedFrames: number;
  /** Copies of pictures that filled a frame-rate change's gaps. */
  duplicatedFrames: number;
  /** Audio samples (per channel) taken from AudioFrames. */
  audioSamples: number;
  /** Audio packets written (encoded or copied) and their bytes. */
  audioPackets: number;
  audioBytes: number;
  /** Audio packets an outage did not keep. */
  droppedAudioPackets: number;
  /**
   * `connecting`, `live`, `reconnecting` (the server went away; the push goes on into the outage
   * buffer), `closed`, or `failed` (refused, or out of retries: the next serve throws why).
   */
  state: 'connecting' | 'live' | 'reconnecting' | 'closed' | 'failed';
  /** Times the link dropped, and came back. */
  disconnects: number;
  reconnects: number;
  /** Milliseconds the link has been down in all, the current outage included. */
  downtimeMs: number;
}

/** The events a Server emits (from its reconnect thread) and their listeners' arguments. */
export interface WriterEvents {
  /** The server went away; the push goes on and reconnects. */
  disconnect: [cause: StreamcoderError];
  /** Back: the attempt that made it, and how long the link was down. */
  reconnect: [info: { attempt: number; downtimeMs: number }];
  /**
   * An adaptive bitRate changed: down at once to what the link carried (`throughput`, bits per
   * second) on congestion, or back up a step (at most 10 %) once it keeps up.
   */
  bitrate: [info: { bitRate: number; throughput: number; reason: 'congestion' | 'recovery' }];
  /**
   * The push ended for good: refused (ERR_PUBLISH_REFUSED) or out of retries
   * (ERR_RECONNECT_FAILED). Emitted only when someone listens; the next serve throws it anyway.
   */
  error: [error: StreamcoderError];
}

/**
 * The native writer's events reach the FrameWriter made after it opened (none come before).
 * @internal
 */
export class WriterEventRelay {
  target: FrameWriter | null = null;
  readonly listener: NativeWriterEvent = (type, info) => {
    const target = this.target;
    if (!target) return;
    if (type === 'disconnect') target.emit('disconnect', info.error as StreamcoderError);
    else if (type === 'reconnect') target.emit('reconnect', { attempt: info.attempt, downtimeMs: info.downtimeMs });
    else if (type === 'bitrate') target.emit('bitrate', { bitRate: info.bitRate!, throughput: info.throughput!, reason: info.reason! });
    else if (target.listenerCount('error') > 0) target.emit('error', info.error as StreamcoderError);
  };
}

/**
 * A picture to write: a Decoder `Frame` (any size and pixel format: scaled to the writer's), or
 * the packed bytes of one picture of the writer's size and format.
 */
export type FrameInput = Frame | Uint8Array;

/**
 * What Server and Encoder take: a picture (a `Frame`, or packed bytes), an `AudioFrame`, or a
 * compressed `Packet` of a copied stream.
 */
export type WriterInput = MediaItem | Uint8Array | NamedFormatFrame;

/**
 * A frame whose pixel format is any string, checked when it is served: a FrameRing slot (the ring
 * carries the format by name), so a reader serves its item as it is, timeline and all.
 */
export type NamedFormatFrame = Omit<Frame, 'pixelFormat'> & { pixelFormat: string };

/** A time in seconds (or null) within the timeline's bounds. */
function time(value: unknown, name: string, nullable: boolean): number | null {
  if (nullable && (value === null || value === undefined)) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_TIMELINE_SECONDS) {
    throw check.invalid(name, `a number of seconds within ${MAX_TIMELINE_SECONDS}${nullable ? ' (or null)' : ''}`, value);
  }
  return value;
}

function timestamp(value: unknown, name: string): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw check.invalid(name, 'a safe integer or null', value);
  return value;
}

/**
 * @internal An AudioFrame's fields checked (the Writer's and the AudioEncoder's one check): data of
 * the type its sampleFormat says, whole samples of its channels (else ERR_BUFFER_SIZE), a time.
 */
export function checkAudioFrame(frame: AudioFrame): Omit<Extract<NativeItem, { kind: 'audio' }>, 'kind'> {
  if (typeof frame !== 'object' || frame === null) throw check.invalid('audioFrame', 'an AudioFrame', frame);
  const sampleFormat = check.oneOf(frame.sampleFormat, 'audioFrame.sampleFormat', SAMPLE_FORMATS);
  const expected = sampleFormat === 'f32' ? Float32Array : Int16Array;
  if (!(frame.data instanceof expected)) {
    throw check.invalid('audioFrame.data', `${sampleFormat === 'f32' ? 'a Float32Array' : 'an Int16Array'} (sampleFormat '${sampleFormat}')`, frame.data);
  }
  const sampleRate = check.integer(frame.sampleRate, 'audioFrame.sampleRate', check.MIN_SAMPLE_RATE, check.MAX_SAMPLE_RATE);
  const channels = check.integer(frame.channels, 'audioFrame.channels', 1, check.MAX_CHANNELS);
  if (frame.data.length % channels !== 0) {
    throw check.refused('audioFrame.data', `whole samples of ${channels} channels`, `${frame.data.length} values`, 'ERR_BUFFER_SIZE');
  }
  if (frame.samples !== undefined && frame.samples !== frame.data.length / channels) {
    throw check.refused('audioFrame.samples', `data.length / channels (${frame.data.length / channels})`, String(frame.samples), 'ERR_BUFFER_SIZE');
  }
  return { data: frame.data, sampleFormat, sampleRate, channels, time: time(frame.time, 'audioFrame.time', false) };
}

/**
 * What Server and Encoder share: checking items and handing them to the native writer, which
 * places each at its source time on one timeline (native/media/media_writer.h), stats, closing.
 */
export abstract class FrameWriter extends TypedEventEmitter<WriterEvents> implements Disposable, AsyncDisposable {
  /** @internal */
  protected readonly native: NativeWriter;
  /**
   * Size and pixel format of the stream (and of bare Uint8Array pictures; Frames of any other
   * size and format are scaled to them), and its frame rate.
   */
  readonly width: number;
  readonly height: number;
  readonly pixelFormat: string;
  readonly frameRate: Rational;

  /** @internal */
  protected constructor(handle: NativeWriter, options: NativeWriterOptions, events?: WriterEventRelay) {
    super();
    this.native = handle;
    if (events) events.target = this;
    this.width = options.width;
    this.height = options.height;
    this.pixelFormat = options.pixelFormat;
    this.frameRate = { num: options.frameRateNum, den: options.frameRateDen };
  }

  /** @internal */
  protected static openHandle(options: NativeWriterOptions, events?: WriterEventRelay): Promise<NativeWriter> {
    return openHandle(new native.Writer(options, events?.listener), (h) => h.closeSync());
  }

  /** @internal */
  protected static openHandleSync(options: NativeWriterOptions, events?: WriterEventRelay): NativeWriter {
    return openHandleSync(new native.Writer(options, events?.listener), (h) => h.closeSync());
  }

  /** Bytes of one packed picture in the declared size and pixel format (0 when the video is copied). */
  get frameBytes(): number {
    return this.native.frameBytes;
  }

  get stats(): WriterStats {
    return this.native.stats;
  }

  get closed(): boolean {
    return this.native.closed;
  }

  /**
   * The item checked and in the native layer's shape. Nothing is committed here.
   * @internal
   */
  protected prepare(item: WriterInput): NativeItem {
    if (item instanceof Uint8Array) return { kind: 'video', data: item, time: null };
    if (typeof item !== 'object' || item === null) throw check.invalid('frame', 'a Frame, an AudioFrame, a Packet or a Uint8Array', item);
    switch (item.kind) {
      case 'audio':
        return this.#audio(item);
      case 'video-packet':
      case 'audio-packet':
        return this.#packet(item);
      case undefined:
      case 'video':
        return this.#picture(item);
      default:
        throw check.invalid('item.kind', "'video', 'audio', 'video-packet' or 'audio-packet'", (item as { kind: unknown }).kind);
    }
  }

  #picture(frame: Frame | NamedFormatFrame): NativeItem {
    if (!(frame.data instanceof Uint8Array)) throw check.invalid('frame', 'a Frame or a Uint8Array', frame);
    // A Frame of any valid size and pixel format is scaled natively to this writer's: everything
    // that decides how many bytes are read is checked here, before native code sees it.
    const width = check.dimension(frame.width, 'frame.width');
    const height = check.dimension(frame.height, 'frame.height');
    if (width * height > MAX_PIXELS) {
      throw check.refused('frame.width x frame.height', `at most ${MAX_PIXELS} pixels`, `${width}x${height}`, 'ERR_DIMENSIONS');
    }
    if (!(PIXEL_FORMATS as readonly unknown[]).includes(frame.pixelFormat)) {
      throw check.invalid('frame.pixelFormat', `one of ${PIXEL_FORMATS.join(', ')}`, frame.pixelFormat, 'ERR_PIXEL_FORMAT');
    }
    const pixelFormat = frame.pixelFormat;
    const expected = frameBytes(width, height, pixelFormat);
    if (frame.data.byteLength !== expected) {
      throw check.refused('frame.data', `${expected} bytes (a packed ${width}x${height} ${pixelFormat} picture)`, `${frame.data.byteLength} bytes`, 'ERR_BUFFER_SIZE');
    }
    return { kind: 'video', data: frame.data, time: time(frame.time, 'frame.time', true), width, height, pixelFormat };
  }

  #audio(frame: AudioFrame): NativeItem {
    return { kind: 'audio', ...checkAudioFrame(frame) };
  }

  #packet(packet: Packet): NativeItem {
    const data = check.bytes(packet.data, 'packet.data');
    const pts = timestamp(packet.pts, 'packet.pts');
    const dts = timestamp(packet.dts, 'packet.dts');
    if (pts === null && dts === null) throw check.refused('packet.pts', 'a timestamp (a copy keeps the source\'s times)', 'null (and no dts)');
    const duration = packet.duration === undefined ? 0 : check.integer(packet.duration, 'packet.duration', 0, Number.MAX_SAFE_INTEGER);
    const tb = check.optionsObject(packet.timeBase, 'packet.timeBase');
    const timeBase = { num: check.integer(tb.num, 'packet.timeBase.num', 1, 2 ** 31 - 1), den: check.integer(tb.den, 'packet.timeBase.den', 1, 2 ** 31 - 1) };
    return { kind: packet.kind, data, pts, dts, duration, timeBase, keyFrame: packet.keyFrame === true };
  }

  /** Writes synchronously; `block` first waits for the item's deadline. Returns the lateness (s). */
  protected writeSync(item: WriterInput, block: boolean): number {
    return this.native.send(this.prepare(item), block);
  }

  protected writeAsync(item: WriterInput, block: boolean): Promise<number> {
    const prepared = this.prepare(item);
    return withCallerStack(() => this.native.sendAsync(prepared, block));
  }

  /** Queues the item to be written off the event loop, unpaced (see NativeWriter.enqueueAsync). */
  protected enqueue(item: WriterInput): Promise<void> {
    // Without withCallerStack, whose stack capture costs more than queueing the item: what this
    // call refuses is thrown inside it (so its stack is the caller's), and becomes a rejection
    // here, as from any async method; an earlier item's refusal is rethrown by the native call.
    try {
      return this.native.enqueueAsync(this.prepare(item));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Flushes the encoder, writes the trailer and closes the output, off the event loop. */
  close(): Promise<void> {
    return withCallerStack(() => this.native.close());
  }

  /** `close` on this thread (blocking), for worker_threads and scripts. */
  closeSync(): void {
    this.native.closeSync();
  }

  [Symbol.dispose](): void {
    this.closeSync();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
