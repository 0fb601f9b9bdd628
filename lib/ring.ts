// A bounded single-producer/single-consumer ring of frames in one SharedArrayBuffer: the pixels
// are written and read in place (slot.data is a view into the shared memory), so a frame crosses
// between worker_threads without a copy. Control words are Int32 atomics in the same buffer, so
// the ring is whole on both sides after `postMessage(ring.buffer)` and `FrameRing.attach`.
import { StreamcoderError, type ErrorCode } from './errors';
import type { Frame, FrameInfo, PixelFormat } from './types';
import * as check from './validate';

// ---- Layout (version 1). Everything lives in the buffer; nothing else is shared. ----
//
//   [0, 128)          header: 32 Int32 words (below)
//   [128, 1152)       error area: the UTF-8 code and message of `abort(error)`
//   [1152, +128*n)    per-slot FrameInfo: 8 Float64 + the pixel format name (ASCII, 32 bytes)
//   [dataOffset, ...) n slots of `stride` bytes (slotBytes rounded up to 64: one cache line, so
//                     the two threads never write the same line through neighbouring slots)
const MAGIC = 0x53524e47; // 'SRNG'
const VERSION = 1;
const HEADER_BYTES = 128;
const ERROR_OFFSET = HEADER_BYTES;
const ERROR_BYTES = 1024;
const META_OFFSET = ERROR_OFFSET + ERROR_BYTES;
const META_BYTES = 128;
const META_FORMAT_OFFSET = 64; // the pixel format name inside a slot's meta block
const META_FORMAT_BYTES = 32;
const ALIGN = 64;

// Header words.
const W_MAGIC = 0;
const W_VERSION = 1;
const W_SLOTS = 2;
const W_SLOT_BYTES = 3;
const W_STRIDE = 4;
const W_DATA_OFFSET = 5;
// The one futex word: bumped on every commit, release, close and abort, and the only word anyone
// waits on. A waiter reads it, checks its condition, then waits for it to change: whatever
// happens between the check and the wait changes it, so no wake-up is ever lost.
const W_EVENTS = 6;
const W_WRITTEN = 7; // frames committed since creation (wraps as an Int32; only differences count)
const W_READ = 8; // frames released since creation
const W_STATE = 9;
const W_PRODUCER_WAITS = 10;
const W_CONSUMER_WAITS = 11;
const W_MAX_DEPTH = 12;
const W_PRODUCER = 13; // id of the FrameRing object that writes, 0 until one does
const W_CONSUMER = 14; // id of the FrameRing object that reads
const W_ERROR_CODE_BYTES = 15;
const W_ERROR_MESSAGE_BYTES = 16;
const W_ERROR_AVERROR = 17;
// Slot cursors, each written by one side only. Kept apart from the counts so that the slot
// sequence stays contiguous when the Int32 counts wrap (2^32 is not a multiple of every size).
const W_WRITE_SLOT = 18;
const W_READ_SLOT = 19;

const OPEN = 0;
const CLOSED = 1;
const ABORTED = 2;

// Meta fields (Float64 indices within a slot's block).
const M_WIDTH = 0;
const M_HEIGHT = 1;
const M_PTS = 2; // NaN for null
const M_TIME = 3; // NaN for null
const M_INDEX = 4;
const M_KEY = 5;
const M_BYTES = 6;
const M_PICT = 7; // char code of pictType

/** Most slots a ring may have. */
export const MAX_SLOTS = 1024;
/** Largest slot: 1 GiB (a 16384x16384 rgba picture is exactly that). */
export const MAX_SLOT_BYTES = 2 ** 30;

/**
 * Bytes of one tightly packed picture, as the Decoder delivers and the Server takes them.
 *
 * @example
 * frameBytes(1920, 1080, 'rgb24')   // 6220800
 * FrameRing.create({ slots: 8, slotBytes: frameBytes(1280, 720, 'yuv420p') })
 */
export function frameBytes(width: number, height: number, pixelFormat: PixelFormat | string = 'rgb24'): number {
  check.dimension(width, 'width');
  check.dimension(height, 'height');
  switch (pixelFormat) {
    case 'rgb24':
    case 'bgr24':
      return width * height * 3;
    case 'rgba':
    case 'bgra':
      return width * height * 4;
    case 'gray':
      return width * height;
    case 'yuv420p':
      return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
    default:
      throw check.invalid('pixelFormat', 'one of rgb24, bgr24, rgba, bgra, gray, yuv420p', pixelFormat);
  }
}

export interface FrameRingOptions {
  /** Number of frames the ring holds. 2 to 1024; 8 is a good start. */
  slots: number;
  /** Bytes of each slot: at least one frame (see {@link frameBytes}). */
  slotBytes: number;
}

/** What a slot's frame is: the decoder's `FrameInfo`, with `byteLength` when not the slot size. */
export type CommitInfo = Partial<FrameInfo> & { byteLength?: number };

/** Counters kept in the shared buffer, so both sides see the same figures. */
export interface FrameRingStats {
  slots: number;
  slotBytes: number;
  /** Frames committed and not yet released, now. */
  depth: number;
  /** Largest depth seen at a commit. */
  maxDepth: number;
  /** Frames committed / released since the ring was made (modulo 2^31). */
  written: number;
  read: number;
  /** Times the producer found the ring full and waited. */
  producerWaits: number;
  /** Times the consumer found the ring empty and waited. */
  consumerWaits: number;
  state: 'open' | 'closed' | 'aborted';
}

/**
 * A slot the producer holds: fill `data` (a view straight into the shared memory), then
 * `commit(info)` it once. Until then the consumer cannot see it.
 *
 * @example
 * const slot = ring.acquireWrite();
 * const info = decoder.extractFrameInto(slot.data);
 * if (info) slot.commit(info); else ring.close();
 */
export interface WriteSlot {
  /** All `slotBytes` of the slot. */
  readonly data: Uint8Array;
  /** Position of the slot in the ring, 0 to slots - 1. */
  readonly slot: number;
  /** Publishes the frame to the consumer; `info.byteLength` defaults to the size `info` implies, else the slot. */
  commit(info?: CommitInfo): void;
}

/**
 * A frame the consumer holds: it is a {@link Frame} (so it can go straight to `serveFrame`) whose
 * `data` is a view into the shared memory, valid until `release()`.
 *
 * @example
 * for (let slot = ring.acquireRead(); slot; slot = ring.acquireRead()) {
 *   server.serveFrameBlock(slot.data);
 *   slot.release();
 * }
 */
export interface ReadSlot extends Omit<Frame, 'pixelFormat'> {
  /** The `pixelFormat` given to `commit` (any string; `''` if none was given). */
  pixelFormat: string;
  readonly slot: number;
  /** Hands the slot back to the producer. `data` must not be used after this. */
  release(): void;
}

// Atomics.waitAsync is in Node 16+, but only in TypeScript's ES2024 lib.
interface AtomicsWithWaitAsync {
  waitAsync(array: Int32Array, index: number, value: number, timeout?: number):
    | { async: false; value: 'not-equal' | 'timed-out' }
    | { async: true; value: Promise<'ok' | 'timed-out'> };
}

let nextId = 1;
function objectId(): number {
  // Unique enough across threads: a random high part, a per-thread counter in the low bits.
  return ((Math.random() * 0x7fff) << 16 | (nextId++ & 0xffff)) || 1;
}

function isSharedArrayBuffer(value: unknown): value is SharedArrayBuffer {
  // toString, not instanceof: a buffer made in another realm (vm context) is still shared memory.
  return Object.prototype.toString.call(value) === '[object SharedArrayBuffer]';
}

function fail(code: ErrorCode, message: string): StreamcoderError {
  return new StreamcoderError(message, code);
}

/** Bytes of the buffer for a ring of that shape. */
function layout(slots: number, slotBytes: number): { stride: number; dataOffset: number; total: number } {
  const stride = Math.ceil(slotBytes / ALIGN) * ALIGN;
  const dataOffset = Math.ceil((META_OFFSET + slots * META_BYTES) / ALIGN) * ALIGN;
  return { stride, dataOffset, total: dataOffset + slots * stride };
}

/**
 * A bounded ring of frames in a SharedArrayBuffer, for one producer and one consumer on two
 * threads (or the same one). The producer decodes straight into a slot and commits it; the
 * consumer reads the slot in place and releases it. `acquireWrite` blocks while the ring is full,
 * `acquireRead` while it is empty (with `Atomics.wait`: use them in worker_threads); the main
 * thread uses `readAsync`, which never blocks the event loop. `close()` ends the stream (the
 * consumer drains what is left, then gets null); `abort(error)` carries an error to the other side.
 *
 * @example
 * // main thread
 * const ring = FrameRing.forInfo(decoder.info, { slots: 8 });
 * new Worker('./push.js', { workerData: ring.buffer });
 * for (;;) {
 *   const slot = ring.acquireWrite();
 *   const info = decoder.extractFrameInto(slot.data);
 *   if (!info) { ring.close(); break; }
 *   slot.commit(info);
 * }
 * // push.js
 * const ring = FrameRing.attach(workerData);
 * for (let f = ring.acquireRead(); f; f = ring.acquireRead()) { server.serveFrameBlock(f.data); f.release(); }
 */
export class FrameRing {
  /** The shared memory: post it to another thread and `FrameRing.attach` it there. */
  readonly buffer: SharedArrayBuffer;
  readonly slots: number;
  readonly slotBytes: number;
  readonly #words: Int32Array;
  readonly #meta: Float64Array;
  readonly #bytes: Uint8Array;
  readonly #stride: number;
  readonly #dataOffset: number;
  readonly #id = objectId();
  // What this object holds: one slot at a time per role (the sequence number it was acquired at).
  #writing: number | null = null;
  #reading: number | null = null;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.slots = this.#words[W_SLOTS];
    this.slotBytes = this.#words[W_SLOT_BYTES];
    this.#stride = this.#words[W_STRIDE];
    this.#dataOffset = this.#words[W_DATA_OFFSET];
    this.#meta = new Float64Array(buffer, META_OFFSET, (this.slots * META_BYTES) / 8);
    this.#bytes = new Uint8Array(buffer);
  }

  /** A new ring of `slots` slots of `slotBytes` bytes each. */
  static create(options: FrameRingOptions): FrameRing {
    const o = check.optionsObject(options);
    const slots = check.integer(o.slots, 'slots', 2, MAX_SLOTS);
    const slotBytes = check.integer(o.slotBytes, 'slotBytes', 1, MAX_SLOT_BYTES, 'ERR_BUFFER_SIZE');
    const { stride, dataOffset, total } = layout(slots, slotBytes);
    let buffer: SharedArrayBuffer;
    try {
      buffer = new SharedArrayBuffer(total);
    } catch (error) {
      throw fail('ERR_NO_MEMORY', `Cannot allocate a ring of ${slots} x ${slotBytes} bytes: ${(error as Error).message}`);
    }
    const words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    words[W_SLOTS] = slots;
    words[W_SLOT_BYTES] = slotBytes;
    words[W_STRIDE] = stride;
    words[W_DATA_OFFSET] = dataOffset;
    words[W_VERSION] = VERSION;
    // The magic last: a buffer is a ring once its header is whole.
    Atomics.store(words, W_MAGIC, MAGIC);
    return new FrameRing(buffer);
  }

  /** A ring whose slots hold exactly one frame of `info` (a Decoder's `info`, or width/height/pixelFormat). */
  static forInfo(info: { width: number; height: number; pixelFormat?: string }, options: { slots: number }): FrameRing {
    if (typeof info !== 'object' || info === null) throw check.invalid('info', 'a stream info object', info);
    const o = check.optionsObject(options);
    return FrameRing.create({ slots: o.slots as number, slotBytes: frameBytes(info.width, info.height, info.pixelFormat ?? 'rgb24') });
  }

  /** The ring living in `buffer`, made by `FrameRing.create` on any thread. */
  static attach(buffer: SharedArrayBuffer): FrameRing {
    if (!isSharedArrayBuffer(buffer)) throw check.invalid('buffer', 'a SharedArrayBuffer', buffer);
    if (buffer.byteLength < HEADER_BYTES) {
      throw fail('ERR_INVALID_ARGUMENT', `Not a FrameRing buffer: ${buffer.byteLength} bytes is smaller than a ring header`);
    }
    const words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    if (Atomics.load(words, W_MAGIC) !== MAGIC) {
      throw fail('ERR_INVALID_ARGUMENT', 'Not a FrameRing buffer: its header does not carry the ring magic number');
    }
    if (words[W_VERSION] !== VERSION) {
      throw fail('ERR_UNSUPPORTED', `FrameRing layout version ${words[W_VERSION]} is not ${VERSION}: both sides must run the same streamcoder`);
    }
    const slots = words[W_SLOTS];
    const slotBytes = words[W_SLOT_BYTES];
    const expected = slots >= 2 && slots <= MAX_SLOTS && slotBytes >= 1 ? layout(slots, slotBytes) : null;
    if (!expected || expected.total !== buffer.byteLength || expected.stride !== words[W_STRIDE] || expected.dataOffset !== words[W_DATA_OFFSET]) {
      throw fail('ERR_INVALID_ARGUMENT', 'Not a FrameRing buffer: its header does not match its size');
    }
    return new FrameRing(buffer);
  }

  // ---- producer ----

  /**
   * The next free slot, waiting while the ring is full (at most `timeoutMs`, then ERR_TIMEOUT).
   * Throws ERR_CLOSED once the ring is closed, and the carried error once it is aborted.
   * Blocking: not for the main thread of an application (use a worker).
   */
  acquireWrite(timeoutMs?: number): WriteSlot {
    const deadline = this.#deadline(timeoutMs);
    if (this.#writing !== null) throw fail('ERR_INVALID_STATE', 'acquireWrite: the previous slot was not committed yet');
    this.#claim(W_PRODUCER, 'producer');
    const w = this.#words;
    let waited = false;
    for (;;) {
      const events = Atomics.load(w, W_EVENTS);
      this.#throwIfEnded(true);
      const written = Atomics.load(w, W_WRITTEN);
      if (((written - Atomics.load(w, W_READ)) | 0) < this.slots) {
        this.#writing = written;
        const slot = Atomics.load(w, W_WRITE_SLOT);
        const data = new Uint8Array(this.buffer, this.#dataOffset + slot * this.#stride, this.slotBytes);
        return { data, slot, commit: (info?: CommitInfo) => this.#commit(written, info) };
      }
      if (!waited) {
        waited = true;
        Atomics.add(w, W_PRODUCER_WAITS, 1);
      }
      this.#wait(events, deadline, 'acquireWrite', 'the ring stayed full');
    }
  }

  /** Commits the slot held from `acquireWrite` (same as `slot.commit(info)`). */
  commit(info?: CommitInfo): void {
    if (this.#writing === null) throw fail('ERR_INVALID_STATE', 'commit: no slot is held (acquireWrite first)');
    this.#commit(this.#writing, info);
  }

  #commit(sequence: number, info: CommitInfo | undefined): void {
    if (this.#writing !== sequence) {
      throw fail('ERR_INVALID_STATE', 'commit: this slot was already committed (acquireWrite for the next one)');
    }
    const byteLength = this.#byteLength(info);
    const slot = Atomics.load(this.#words, W_WRITE_SLOT);
    const base = slot * (META_BYTES / 8);
    const m = this.#meta;
    const i = info ?? {};
    m[base + M_WIDTH] = i.width ?? 0;
    m[base + M_HEIGHT] = i.height ?? 0;
    m[base + M_PTS] = i.pts ?? NaN;
    m[base + M_TIME] = i.time ?? NaN;
    m[base + M_INDEX] = i.index ?? sequence;
    m[base + M_KEY] = i.keyFrame ? 1 : 0;
    m[base + M_BYTES] = byteLength;
    m[base + M_PICT] = (i.pictType ?? '?').charCodeAt(0) || 63;
    const format = String(i.pixelFormat ?? '').slice(0, META_FORMAT_BYTES - 1);
    const at = META_OFFSET + slot * META_BYTES + META_FORMAT_OFFSET;
    for (let k = 0; k < META_FORMAT_BYTES; k++) this.#bytes[at + k] = k < format.length ? format.charCodeAt(k) & 0x7f : 0;
    this.#writing = null;
    const w = this.#words;
    Atomics.store(w, W_WRITE_SLOT, (slot + 1) % this.slots);
    // The store of W_WRITTEN publishes the slot: Atomics are sequentially consistent, so the
    // consumer that sees the new count also sees the pixels and the meta written before it.
    const depth = (Atomics.add(w, W_WRITTEN, 1) + 1 - Atomics.load(w, W_READ)) | 0;
    if (depth > Atomics.load(w, W_MAX_DEPTH)) Atomics.store(w, W_MAX_DEPTH, depth);
    this.#signal();
  }

  #byteLength(info: CommitInfo | undefined): number {
    if (info !== undefined && (typeof info !== 'object' || info === null)) throw check.invalid('info', 'a FrameInfo object', info);
    let bytes = this.slotBytes;
    if (info?.byteLength !== undefined) {
      bytes = check.integer(info.byteLength, 'info.byteLength', 0, Number.MAX_SAFE_INTEGER, 'ERR_BUFFER_SIZE');
    } else if (info?.width !== undefined && info.height !== undefined) {
      bytes = frameBytes(info.width, info.height, info.pixelFormat ?? 'rgb24');
    }
    if (bytes > this.slotBytes) {
      throw fail('ERR_BUFFER_SIZE', `A frame of ${bytes} bytes does not fit a ring slot of ${this.slotBytes} bytes`);
    }
    return bytes;
  }

  // ---- consumer ----

  /**
   * The oldest committed frame, waiting while the ring is empty (at most `timeoutMs`, then
   * ERR_TIMEOUT); null once the ring is closed and drained. Throws the carried error once the
   * ring is aborted. Blocking: not for the main thread of an application (use `readAsync`).
   */
  acquireRead(timeoutMs?: number): ReadSlot | null {
    const deadline = this.#deadline(timeoutMs);
    this.#beginRead();
    let waited = false;
    for (;;) {
      const events = Atomics.load(this.#words, W_EVENTS);
      const ready = this.#tryRead();
      if (ready !== undefined) return ready;
      if (!waited) {
        waited = true;
        Atomics.add(this.#words, W_CONSUMER_WAITS, 1);
      }
      this.#wait(events, deadline, 'acquireRead', 'no frame came');
    }
  }

  /** `acquireRead` for the main thread: waits with `Atomics.waitAsync`, never blocking the event loop. */
  async readAsync(timeoutMs?: number): Promise<ReadSlot | null> {
    const deadline = this.#deadline(timeoutMs);
    this.#beginRead();
    let waited = false;
    for (;;) {
      const events = Atomics.load(this.#words, W_EVENTS);
      const ready = this.#tryRead();
      if (ready !== undefined) return ready;
      if (!waited) {
        waited = true;
        Atomics.add(this.#words, W_CONSUMER_WAITS, 1);
      }
      const remaining = deadline === Infinity ? undefined : Math.max(0, deadline - performance.now());
      const result = (Atomics as unknown as AtomicsWithWaitAsync).waitAsync(this.#words, W_EVENTS, events, remaining);
      const outcome = result.async ? await result.value : result.value;
      if (outcome === 'timed-out' && performance.now() >= deadline) this.#throwTimeout('readAsync', 'no frame came');
    }
  }

  /** Releases the slot held from `acquireRead` (same as `slot.release()`). */
  release(): void {
    if (this.#reading === null) throw fail('ERR_INVALID_STATE', 'release: no slot is held (acquireRead first)');
    this.#release(this.#reading);
  }

  #beginRead(): void {
    if (this.#reading !== null) throw fail('ERR_INVALID_STATE', 'acquireRead: the previous slot was not released yet');
    this.#claim(W_CONSUMER, 'consumer');
  }

  /** The next frame, null at the end, undefined when the consumer must wait. */
  #tryRead(): ReadSlot | null | undefined {
    const w = this.#words;
    const state = Atomics.load(w, W_STATE);
    if (state === ABORTED) throw this.#carriedError();
    const read = Atomics.load(w, W_READ);
    if (((Atomics.load(w, W_WRITTEN) - read) | 0) > 0) {
      this.#reading = read;
      return this.#readSlot(read);
    }
    return state === CLOSED ? null : undefined;
  }

  #readSlot(sequence: number): ReadSlot {
    const slot = Atomics.load(this.#words, W_READ_SLOT);
    const m = this.#meta;
    const base = slot * (META_BYTES / 8);
    const at = META_OFFSET + slot * META_BYTES + META_FORMAT_OFFSET;
    let pixelFormat = '';
    for (let k = 0; k < META_FORMAT_BYTES && this.#bytes[at + k] !== 0; k++) pixelFormat += String.fromCharCode(this.#bytes[at + k]);
    const pts = m[base + M_PTS];
    const time = m[base + M_TIME];
    return {
      slot,
      data: new Uint8Array(this.buffer, this.#dataOffset + slot * this.#stride, m[base + M_BYTES]),
      width: m[base + M_WIDTH],
      height: m[base + M_HEIGHT],
      pixelFormat,
      pts: Number.isNaN(pts) ? null : pts,
      time: Number.isNaN(time) ? null : time,
      index: m[base + M_INDEX],
      keyFrame: m[base + M_KEY] === 1,
      pictType: String.fromCharCode(m[base + M_PICT]),
      release: () => this.#release(sequence),
    };
  }

  #release(sequence: number): void {
    if (this.#reading !== sequence) {
      throw fail('ERR_INVALID_STATE', 'release: this slot was already released (acquireRead for the next one)');
    }
    this.#reading = null;
    Atomics.store(this.#words, W_READ_SLOT, (Atomics.load(this.#words, W_READ_SLOT) + 1) % this.slots);
    Atomics.add(this.#words, W_READ, 1);
    this.#signal();
  }

  // ---- both sides ----

  /**
   * Ends the stream: the consumer gets the frames already committed, then null; the producer's
   * next `acquireWrite` throws ERR_CLOSED. Either side may close. Idempotent; no effect after abort.
   */
  close(): void {
    if (Atomics.compareExchange(this.#words, W_STATE, OPEN, CLOSED) === OPEN) this.#signal();
  }

  /**
   * Stops both sides now: their next (or current, waiting) acquire throws `error`'s code and
   * message as a StreamcoderError (ERR_ABORTED without one). Frames not yet read are dropped.
   * The first abort wins; later ones do nothing. An abort after `close()` still stops both sides.
   */
  abort(error?: unknown): void {
    const w = this.#words;
    const code = error instanceof StreamcoderError ? error.code : typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'ERR_ABORTED';
    const codeText = code || 'ERR_ABORTED';
    const message = error instanceof Error ? error.message : error === undefined ? 'The frame ring was aborted' : String(error);
    const averror = error instanceof StreamcoderError && error.averror !== undefined ? error.averror : 0;
    // One abort writes the error area: the first to move the code length from 0 claims it. The
    // other side reads the area only after it sees ABORTED, stored last.
    if (Atomics.compareExchange(w, W_ERROR_CODE_BYTES, 0, -1) !== 0) return;
    const encoder = new TextEncoder();
    const codeBytes = encoder.encode(codeText).subarray(0, 64);
    const messageBytes = encoder.encode(message).subarray(0, ERROR_BYTES - codeBytes.length);
    this.#bytes.set(codeBytes, ERROR_OFFSET);
    this.#bytes.set(messageBytes, ERROR_OFFSET + codeBytes.length);
    Atomics.store(w, W_ERROR_MESSAGE_BYTES, messageBytes.length);
    Atomics.store(w, W_ERROR_AVERROR, averror);
    Atomics.store(w, W_ERROR_CODE_BYTES, codeBytes.length);
    Atomics.store(w, W_STATE, ABORTED);
    this.#signal();
  }

  /** True once `close()` or `abort()` ran on either side. */
  get ended(): boolean {
    return Atomics.load(this.#words, W_STATE) !== OPEN;
  }

  /** The error carried by `abort`, or null. */
  get error(): StreamcoderError | null {
    return Atomics.load(this.#words, W_STATE) === ABORTED ? this.#carriedError() : null;
  }

  get stats(): FrameRingStats {
    const w = this.#words;
    const written = Atomics.load(w, W_WRITTEN);
    const read = Atomics.load(w, W_READ);
    const state = Atomics.load(w, W_STATE);
    return {
      slots: this.slots,
      slotBytes: this.slotBytes,
      depth: (written - read) | 0,
      maxDepth: Atomics.load(w, W_MAX_DEPTH),
      written,
      read,
      producerWaits: Atomics.load(w, W_PRODUCER_WAITS),
      consumerWaits: Atomics.load(w, W_CONSUMER_WAITS),
      state: state === OPEN ? 'open' : state === CLOSED ? 'closed' : 'aborted',
    };
  }

  #claim(word: number, role: string): void {
    const owner = Atomics.compareExchange(this.#words, word, 0, this.#id);
    if (owner !== 0 && owner !== this.#id) {
      throw fail('ERR_BUSY', `This ring already has a ${role} (one ${role} per ring: attach a second ring for a second stream)`);
    }
  }

  #throwIfEnded(writing: boolean): void {
    const state = Atomics.load(this.#words, W_STATE);
    if (state === ABORTED) throw this.#carriedError();
    if (state === CLOSED && writing) throw fail('ERR_CLOSED', 'The frame ring is closed');
  }

  #carriedError(): StreamcoderError {
    const w = this.#words;
    const codeBytes = Atomics.load(w, W_ERROR_CODE_BYTES);
    const messageBytes = Atomics.load(w, W_ERROR_MESSAGE_BYTES);
    const averror = Atomics.load(w, W_ERROR_AVERROR);
    // Copy out of shared memory first: TextDecoder refuses views of a SharedArrayBuffer.
    const text = this.#bytes.slice(ERROR_OFFSET, ERROR_OFFSET + Math.max(0, codeBytes) + messageBytes);
    const decoder = new TextDecoder();
    const code = decoder.decode(text.subarray(0, Math.max(0, codeBytes))) || 'ERR_ABORTED';
    const message = decoder.decode(text.subarray(Math.max(0, codeBytes)));
    return new StreamcoderError(message, code, averror === 0 ? undefined : averror);
  }

  #deadline(timeoutMs: number | undefined): number {
    if (timeoutMs === undefined) return Infinity;
    return performance.now() + check.number(timeoutMs, 'timeoutMs', 0, 2 ** 31);
  }

  #wait(events: number, deadline: number, what: string, why: string): void {
    const remaining = deadline === Infinity ? Infinity : deadline - performance.now();
    if (remaining <= 0) this.#throwTimeout(what, why);
    Atomics.wait(this.#words, W_EVENTS, events, remaining);
  }

  #throwTimeout(what: string, why: string): never {
    throw fail('ERR_TIMEOUT', `${what}: ${why} within the timeout`);
  }

  #signal(): void {
    Atomics.add(this.#words, W_EVENTS, 1);
    Atomics.notify(this.#words, W_EVENTS);
  }
}
