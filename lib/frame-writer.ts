import type { NativeWriter, NativeWriterOptions } from '../binding';
import { native } from './binding';
import { StreamcoderError, withCallerStack } from './errors';
import { openHandle, openHandleSync } from './open-handle';
import type { Frame, Rational } from './types';
import * as check from './validate';
import { MAX_TIMELINE_SECONDS } from './validate';

/** Counters of a Server or Encoder; readable during and after the push. */
export interface WriterStats {
  /** Frames given to the encoder. */
  frames: number;
  /** Packets written and their bytes. */
  packets: number;
  bytes: number;
  keyFrames: number;
  /** Bits per second of media time. */
  bitRate: number;
  /** Frames per wall-clock second since the first frame. */
  fps: number;
  /** Seconds the served timeline runs ahead of the wall clock (negative: behind). */
  lead: number;
  /** Frames that reached `serveFrameBlock` more than half a frame after their deadline. */
  lateFrames: number;
}

/** A picture to write: a Decoder `Frame`, or the packed bytes of one picture. */
export type FrameInput = Frame | Uint8Array;

/**
 * What Server and Encoder share: turning frames into (bytes, pts), timestamps, stats, closing.
 * Frame k has pts k in 1/frameRate; a Decoder `Frame` keeps its place on the timeline (its
 * `index`), so gaps in the input stay gaps in the output.
 */
export abstract class FrameWriter implements Disposable, AsyncDisposable {
  /** @internal */
  protected readonly native: NativeWriter;
  /** Size and pixel format of the frames this writer takes, and its frame rate. */
  readonly width: number;
  readonly height: number;
  readonly pixelFormat: string;
  readonly frameRate: Rational;
  #indexBase: number | null = null;
  #lastPts = -1;
  /** The largest pts: MAX_TIMELINE_SECONDS at this frame rate, rounded down (as natively). */
  readonly #maxPts: number;

  /** @internal */
  protected constructor(handle: NativeWriter, options: NativeWriterOptions) {
    this.native = handle;
    this.width = options.width;
    this.height = options.height;
    this.pixelFormat = options.pixelFormat;
    this.frameRate = { num: options.frameRateNum, den: options.frameRateDen };
    // In BigInt: 10^9 * num exceeds 2^53 for num above ~9 million.
    this.#maxPts = Number((BigInt(MAX_TIMELINE_SECONDS) * BigInt(options.frameRateNum)) / BigInt(options.frameRateDen));
  }

  /** @internal */
  protected static openHandle(options: NativeWriterOptions): Promise<NativeWriter> {
    return openHandle(new native.Writer(options), (h) => h.closeSync());
  }

  /** @internal */
  protected static openHandleSync(options: NativeWriterOptions): NativeWriter {
    return openHandleSync(new native.Writer(options), (h) => h.closeSync());
  }

  /** Bytes of one packed picture in the declared size and pixel format. */
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
   * The bytes and pts of `frame`, and the index base it implies. Nothing is committed here: the
   * pts and the base only once the write succeeded, so a refused frame leaves the writer as it was.
   */
  protected prepare(frame: FrameInput): { data: Uint8Array; pts: number; indexBase: number | null } {
    if (frame instanceof Uint8Array) return { data: frame, pts: this.#checkPts(this.#lastPts + 1, null), indexBase: this.#indexBase };
    if (typeof frame !== 'object' || frame === null || !(frame.data instanceof Uint8Array)) {
      throw check.invalid('frame', 'a Frame or a Uint8Array', frame);
    }
    if (frame.width !== this.width || frame.height !== this.height) {
      throw new StreamcoderError(`Expected a ${this.width}x${this.height} frame but received ${frame.width}x${frame.height}`, 'ERR_DIMENSIONS');
    }
    if (frame.pixelFormat !== this.pixelFormat) {
      throw new StreamcoderError(`Expected a ${this.pixelFormat} frame but received ${frame.pixelFormat}`, 'ERR_PIXEL_FORMAT');
    }
    if (frame.index === undefined || frame.index === null) {
      return { data: frame.data, pts: this.#checkPts(this.#lastPts + 1, null), indexBase: this.#indexBase };
    }
    // NaN, Infinity or a fraction would become the base of every later frame's pts.
    if (!Number.isSafeInteger(frame.index)) throw check.invalid('frame.index', 'a safe integer', frame.index);
    const indexBase = this.#indexBase ?? frame.index - (this.#lastPts + 1);
    return { data: frame.data, pts: this.#checkPts(frame.index - indexBase, indexBase), indexBase };
  }

  /**
   * Refuses a pts past MAX_TIMELINE_SECONDS, by the index it came from. (One that does not
   * increase is the native layer's to refuse, after it checked the writer is open.)
   */
  #checkPts(pts: number, indexBase: number | null): number {
    const name = indexBase === null ? 'the frame count' : 'frame.index';
    const base = indexBase ?? 0;
    if (pts > this.#maxPts) {
      const rate = `${this.frameRate.num}/${this.frameRate.den} fps`;
      throw check.invalid(name, `at most ${this.#maxPts + base} (${MAX_TIMELINE_SECONDS} s into the stream at ${rate})`, pts + base);
    }
    return pts;
  }

  /** Writes synchronously; `block` first waits for the frame's deadline. Returns the lateness (s). */
  protected writeSync(frame: FrameInput, block: boolean): number {
    const { data, pts, indexBase } = this.prepare(frame);
    const late = this.native.write(data, pts, block);
    this.#lastPts = pts;
    this.#indexBase = indexBase;
    return late;
  }

  protected async writeAsync(frame: FrameInput, block: boolean): Promise<number> {
    const { data, pts, indexBase } = this.prepare(frame);
    const late = await withCallerStack(() => this.native.writeAsync(data, pts, block));
    this.#lastPts = pts;
    this.#indexBase = indexBase;
    return late;
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
