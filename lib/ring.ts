// A bounded ring of media items in one SharedArrayBuffer, with one producer and one or more
// readers (a rendition ladder reads the same frames on several threads): video frames, audio
// chunks and compressed packets, in the order the producer commits them (its presentation order). Their bytes are written and read in place (slot.data is a view into the
// shared memory), so a picture crosses between worker_threads without a copy. Control words are
// Int32 atomics in the same buffer, so the ring is whole on both sides after
// `postMessage(ring.buffer)` and `FrameRing.attach`.
//
// Items differ in size (a 1080p picture is 3 MB, an AAC frame's samples 8 KB, a packet anything),
// so the data area is an arena used as a circular byte buffer rather than fixed slots: each item
// reserves its bytes (rounded up to 64) just after the previous one, or from the arena's start
// when they would not fit before its end (the bytes skipped count as the item's). Items are
// released in order, so the bytes in use are always one circular run ending at the producer's
// head, and a reservation fits when it fits in the free run after the head. A ring made for
// frames of `slotBytes` has `slots` such strides: exactly `slots` frames fit, as before, and the
// small items between them take only their own bytes and an entry.
//
// Several readers: each has its own cursor, and an item's bytes are freed once every reader has
// moved past it (the tail is the slowest active reader). A reader that falls behind either holds
// the producer back (`onSlow: 'wait'`) or, when it alone holds everyone back, is moved past the
// oldest items it has not started reading, which are counted as dropped for it (`'drop'`). A
// reader that leaves (`detach`) no longer holds anything back.
import { StreamcoderError, type ErrorCode } from './errors';
import type { AudioFrame, Frame, FrameInfo, Packet, PixelFormat, Rational, SampleFormat } from './types';
import * as check from './validate';

// ---- Layout (version 3). Everything lives in the buffer; nothing else is shared. ----
//
//   [0, 128)          header: 32 Int32 words (below)
//   [128, 1152)       reader blocks: 16 Int32 words (one cache line) for each of MAX_READERS readers
//   [1152, 2176)      error area: the UTF-8 code and message of `abort(error)`
//   [2176, +192*e)    per-entry meta: 16 Float64 + a format name (ASCII, 32 bytes), e entries
//   [dataOffset, ...) the arena: `slots` strides of slotBytes rounded up to 64 (one cache line, so
//                     the two threads never write the same line through neighbouring items)
const MAGIC = 0x53524e47; // 'SRNG'
const VERSION = 3;
const HEADER_BYTES = 128;
const READER_OFFSET = HEADER_BYTES;
const READER_WORDS = 16;
const ERROR_OFFSET = READER_OFFSET + 16 * READER_WORDS * 4;
const ERROR_BYTES = 1024;
const META_OFFSET = ERROR_OFFSET + ERROR_BYTES;
const META_BYTES = 192;
const META_FORMAT_OFFSET = 128; // the pixel or sample format name inside an entry's meta block
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
const W_WRITTEN = 7; // items committed since creation (wraps as an Int32; only differences count)
const W_READ = 8; // items freed since creation: the tail, which every active reader has passed
const W_STATE = 9;
const W_PRODUCER_WAITS = 10;
const W_CONSUMER_WAITS = 11;
const W_MAX_DEPTH = 12;
const W_PRODUCER = 13; // id of the FrameRing object that writes, 0 until one does
// (14: the single consumer's id in version 2; readers claim their own block now.)
const W_ERROR_CODE_BYTES = 15;
const W_ERROR_MESSAGE_BYTES = 16;
const W_ERROR_AVERROR = 17;
// Entry cursors, each written by one side only. Kept apart from the counts so that the entry
// sequence stays contiguous when the Int32 counts wrap (2^32 is not a multiple of every size).
const W_WRITE_SLOT = 18;
const W_READ_SLOT = 19; // the tail's entry
const W_ENTRIES = 20;
const W_ARENA_BYTES = 21; // the arena's size, in units of 64 bytes (so 1024 slots of 1 GiB fit an Int32)
const W_HEAD = 22; // arena offset of the next free byte, in units of 64 (producer only)
const W_USED = 23; // arena bytes reserved and not yet released, in units of 64 (add on commit, sub on release)
const W_SPARE = 24; // arena bytes beyond the `slots` frames (spareBytes), in units of 64
const W_READERS = 25; // readers the ring was made for
const W_TAIL_LOCK = 26; // held while one thread frees items at the tail
// Pictures (frames and video packets) committed / freed since creation: the ring holds at most
// `slots` of them, whatever room the spare bytes leave, so that `slots` means what it says.
const W_PICTURES_WRITTEN = 27;
const W_PICTURES_READ = 28;

// Reader block words (Int32 indices from the block's start), each reader's own cursor and counts.
// The cursor and `holding` change together under the block's lock: the producer moves a 'drop'
// reader past an item only while that reader does not hold it.
const R_CURSOR = 0; // items this reader has consumed or been moved past
const R_SLOT = 1; // the entry of its next item
const R_LOCK = 2;
const R_HOLDING = 3; // 1 while it holds its item (between acquireRead and release)
const R_STATE = 4; // READER_ACTIVE or READER_DETACHED
const R_POLICY = 5; // SLOW_WAIT or SLOW_DROP
const R_DROPPED = 6; // pictures (frames or video packets) it was moved past
const R_DROPPED_ITEMS = 7; // items of any kind it was moved past
const R_WAITS = 8; // times it found nothing to read and waited
const R_OWNER = 9; // id of the FrameRing object reading as this reader
const R_NEED_KEY = 10; // 1 after a drop of compressed video: it skips packets until a keyframe
const READER_ACTIVE = 0;
const READER_DETACHED = 1;
const SLOW_WAIT = 0;
const SLOW_DROP = 1;
/**
 * How long a 'drop' reader may hold the others back before it loses items: a reader late by a
 * moment (a busy core, a slower frame) catches up from the ring's slack, which at 8 slots of
 * 30 fps is far more than this.
 */
const DROP_AFTER_MS = 100;

const OPEN = 0;
const CLOSED = 1;
const ABORTED = 2;

// Meta fields (Float64 indices within an entry's block).
const M_KIND = 0; // KIND_*
const M_OFFSET = 1; // arena offset of the item's bytes
const M_RESERVED = 2; // arena bytes the item holds (padding skipped before it included)
const M_BYTES = 3; // the item's own bytes
const M_WIDTH = 4; // frames: width; audio: sample rate
const M_HEIGHT = 5; // frames: height; audio: channels
const M_PTS = 6; // NaN for null
const M_TIME = 7; // NaN for null
const M_INDEX = 8; // frames: index; audio: samples; packets: dts (NaN for null)
const M_KEY = 9;
const M_PICT = 10; // frames: char code of pictType; packets: duration
const M_TB_NUM = 11; // packets: time base
const M_TB_DEN = 12;
const M_STREAM = 13; // packets: which of the producer's streams (a pipeline's audio encodings)

const KIND_FRAME = 0;
const KIND_AUDIO = 1;
const KIND_VIDEO_PACKET = 2;
const KIND_AUDIO_PACKET = 3;

/** Most slots a ring may have. */
export const MAX_SLOTS = 1024;
/** Largest slot: 1 GiB (a 16384x16384 rgba picture is exactly that). */
export const MAX_SLOT_BYTES = 2 ** 30;
/** Most entries (items at once, of any kind) a ring may have. */
export const MAX_ENTRIES = 16384;
/** Most readers a ring may have. */
export const MAX_READERS = 16;

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
  /** Frames of `slotBytes` the ring holds. 2 to 1024; 8 is a good start. */
  slots: number;
  /** Bytes of the largest frame (see {@link frameBytes}); the arena is `slots` of them. */
  slotBytes: number;
  /**
   * Items the ring holds at once, of any kind (default: 8 per slot, at least 16): the frames
   * and, between them, audio chunks and packets, which take few bytes but an entry each.
   */
  entries?: number;
  /**
   * Bytes of room beyond the `slots` frames, for the audio chunks and packets that sit between
   * them (default 0: a ring of frames alone). About a second of the sound is plenty
   * (48000 x 2 x 4 bytes for stereo f32 at 48 kHz).
   */
  spareBytes?: number;
  /**
   * Threads that read every item (default 1). An item's room is reused once every reader has
   * moved past it, so each reader must read, be moved past by its `onSlow: 'drop'` policy, or
   * `detach()`. The creating object reads as reader 0; others `FrameRing.attach(buffer, { reader })`.
   */
  readers?: number;
}

/** How a reader attaches. */
export interface AttachOptions {
  /** Which reader this object reads as, 0 to readers - 1 (default 0). */
  reader?: number;
  /**
   * What happens when this reader falls behind while the others keep up. `'wait'` (the default):
   * the producer waits for it, and so every reader does. `'drop'`: when the ring is full and this
   * reader alone holds the others back, it is moved past the oldest items it has not started to
   * read; they are counted in its `dropped` (after a dropped compressed picture it also skips to
   * the next keyframe, so its decoder never sees a broken reference).
   */
  onSlow?: 'wait' | 'drop';
}

/**
 * What a committed item is. A video frame: the decoder's `FrameInfo` (the default kind), with
 * `byteLength` when it is not the size `info` implies. An audio chunk: `kind: 'audio'` and the
 * AudioFrame's fields. A packet: `kind: 'video-packet' | 'audio-packet'` and the Packet's fields.
 */
export type CommitInfo =
  | (Partial<FrameInfo> & { kind?: 'video'; byteLength?: number })
  | (Pick<AudioFrame, 'kind' | 'sampleFormat' | 'sampleRate' | 'channels' | 'samples' | 'pts' | 'time'>)
  | (Pick<Packet, 'kind' | 'pts' | 'dts' | 'duration' | 'timeBase' | 'time' | 'keyFrame'> & { byteLength: number; stream?: number });

/** Counters kept in the shared buffer, so both sides see the same figures. */
export interface FrameRingStats {
  slots: number;
  slotBytes: number;
  entries: number;
  /** Items committed and not yet released, now: pictures and the sound and packets between them. */
  depth: number;
  /** Pictures (frames or video packets) committed and not yet released, now: at most `slots`. */
  pictures: number;
  /** Arena bytes those items hold, now. */
  bytesInUse: number;
  /** Largest depth seen at a commit. */
  maxDepth: number;
  /** Items committed / released since the ring was made (modulo 2^31). */
  written: number;
  read: number;
  /** Times the producer found the ring full and waited. */
  producerWaits: number;
  /** Times a reader found the ring empty and waited (all readers). */
  consumerWaits: number;
  state: 'open' | 'closed' | 'aborted';
  /** Each reader's own figures. */
  readers: ReaderStats[];
}

export interface ReaderStats {
  /** Items committed that this reader has not consumed yet. */
  pending: number;
  /** Pictures (frames or video packets) this reader was moved past by its `'drop'` policy. */
  dropped: number;
  /** Items of any kind it was moved past. */
  droppedItems: number;
  /** Times it found nothing to read and waited. */
  waits: number;
  onSlow: 'wait' | 'drop';
  /** 'detached' once it left; the ring no longer waits for it. */
  state: 'active' | 'detached';
}

/**
 * Room the producer holds: fill `data` (a view straight into the shared memory), then
 * `commit(info)` it once. Until then the consumer cannot see it.
 *
 * @example
 * const slot = ring.acquireWrite();
 * const info = decoder.extractFrameInto(slot.data);
 * if (info) slot.commit(info); else ring.close();
 */
export interface WriteSlot {
  /** The bytes asked for (`slotBytes` by default). */
  readonly data: Uint8Array;
  /** Position of the item's entry in the ring, 0 to entries - 1. */
  readonly slot: number;
  /** Publishes the item to the consumer; a frame's `info.byteLength` defaults to the size `info` implies, else `data`'s. */
  commit(info?: CommitInfo): void;
  /**
   * Gives the room back unpublished: nothing reaches the consumer (the decoder had sound or a
   * packet to hand over instead of a picture, say: `ring.write` it next).
   */
  cancel(): void;
}

/** Hands an item back to the producer. Its `data` must not be used after this. */
interface Releasable {
  readonly slot: number;
  release(): void;
}

/**
 * A frame the consumer holds: it is a {@link Frame} (so it can go straight to `serveFrame`) whose
 * `data` is a view into the shared memory, valid until `release()`.
 *
 * @example
 * for (let item = ring.acquireRead(); item; item = ring.acquireRead()) {
 *   server.serveFrameBlock(item);
 *   item.release();
 * }
 */
export interface ReadSlot extends Omit<Frame, 'pixelFormat' | 'kind'>, Releasable {
  kind: 'video';
  /** The `pixelFormat` given to `commit` (any string; `''` if none was given). */
  pixelFormat: string;
}

/** An audio chunk the consumer holds: an {@link AudioFrame} whose samples are a view into the shared memory. */
export interface AudioReadSlot extends AudioFrame, Releasable {}

/** A packet the consumer holds: a {@link Packet} whose bytes are a view into the shared memory. */
export interface PacketReadSlot extends Packet, Releasable {
  /**
   * Which of the producer's streams it belongs to (0 unless the producer said): a producer may
   * put several encodings of one sound in the ring, and each reader takes the one it wants.
   */
  stream: number;
}

/** What `acquireRead` gives: tell the kinds apart by `kind`. */
export type RingItem = ReadSlot | AudioReadSlot | PacketReadSlot;

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

const aligned = (bytes: number) => Math.ceil(bytes / ALIGN) * ALIGN;

/** Bytes of the buffer for a ring of that shape. */
function layout(slots: number, slotBytes: number, entries: number, spareBytes: number): { stride: number; dataOffset: number; arena: number; total: number } {
  const stride = aligned(slotBytes);
  const dataOffset = aligned(META_OFFSET + entries * META_BYTES);
  const arena = slots * stride + aligned(spareBytes);
  return { stride, dataOffset, arena, total: dataOffset + arena };
}

const BYTES_PER_SAMPLE: Record<SampleFormat, number> = { f32: 4, s16: 2 };
const KIND_CODES: Record<string, number> = { video: KIND_FRAME, audio: KIND_AUDIO, 'video-packet': KIND_VIDEO_PACKET, 'audio-packet': KIND_AUDIO_PACKET };

/**
 * A bounded ring of media items in a SharedArrayBuffer, for one producer and one consumer on two
 * threads (or the same one): video frames, and audio chunks and compressed packets beside them,
 * in the order they were committed. The producer decodes straight into the ring and commits; the
 * consumer reads in place and releases. `acquireWrite` blocks while the ring is full,
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
 * for (let item = ring.acquireRead(); item; item = ring.acquireRead()) { server.serveFrameBlock(item); item.release(); }
 */
export class FrameRing {
  /** The shared memory: post it to another thread and `FrameRing.attach` it there. */
  readonly buffer: SharedArrayBuffer;
  readonly slots: number;
  readonly slotBytes: number;
  readonly entries: number;
  readonly #words: Int32Array;
  readonly #meta: Float64Array;
  readonly #bytes: Uint8Array;
  readonly #arena: number;
  readonly #dataOffset: number;
  readonly #readerWords: Int32Array;
  readonly #id = objectId();
  /** The reader this object reads as. */
  readonly reader: number;
  /** Readers the ring was made for. */
  readonly readers: number;
  // What this object holds: one item at a time per role (the sequence number it was acquired at).
  #writing: { sequence: number; offset: number; reserved: number; bytes: number } | null = null;
  #reading: number | null = null;
  // The producer's own: since when each reader has held the others back (NaN: it does not).
  readonly #holdingBackSince: number[] = [];

  private constructor(buffer: SharedArrayBuffer, reader = 0) {
    this.buffer = buffer;
    this.#words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#readerWords = new Int32Array(buffer, READER_OFFSET, MAX_READERS * READER_WORDS);
    this.readers = this.#words[W_READERS];
    this.reader = reader;
    this.slots = this.#words[W_SLOTS];
    this.slotBytes = this.#words[W_SLOT_BYTES];
    this.entries = this.#words[W_ENTRIES];
    this.#arena = this.#words[W_ARENA_BYTES] * ALIGN;
    this.#dataOffset = this.#words[W_DATA_OFFSET];
    this.#meta = new Float64Array(buffer, META_OFFSET, (this.entries * META_BYTES) / 8);
    this.#bytes = new Uint8Array(buffer);
  }

  /** A new ring of `slots` frames of `slotBytes` bytes each (and `entries` items of any kind). */
  static create(options: FrameRingOptions): FrameRing {
    const o = check.optionsObject(options);
    const slots = check.integer(o.slots, 'slots', 2, MAX_SLOTS);
    const slotBytes = check.integer(o.slotBytes, 'slotBytes', 1, MAX_SLOT_BYTES, 'ERR_BUFFER_SIZE');
    const entries = o.entries === undefined ? Math.min(MAX_ENTRIES, Math.max(16, slots * 8)) : check.integer(o.entries, 'entries', slots, MAX_ENTRIES);
    const spareBytes = o.spareBytes === undefined ? 0 : check.integer(o.spareBytes, 'spareBytes', 0, MAX_SLOT_BYTES, 'ERR_BUFFER_SIZE');
    const readers = o.readers === undefined ? 1 : check.integer(o.readers, 'readers', 1, MAX_READERS);
    const { stride, dataOffset, arena, total } = layout(slots, slotBytes, entries, spareBytes);
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
    words[W_ENTRIES] = entries;
    words[W_SPARE] = aligned(spareBytes) / ALIGN;
    words[W_READERS] = readers;
    // In units of 64 bytes, as the head and the bytes in use: 1024 slots of 1 GiB fit an Int32.
    words[W_ARENA_BYTES] = arena / ALIGN;
    words[W_VERSION] = VERSION;
    // The magic last: a buffer is a ring once its header is whole.
    Atomics.store(words, W_MAGIC, MAGIC);
    return new FrameRing(buffer);
  }

  /** A ring whose slots hold exactly one frame of `info` (a Decoder's `info`, or width/height/pixelFormat). */
  static forInfo(info: { width: number; height: number; pixelFormat?: string }, options: Omit<FrameRingOptions, 'slotBytes'>): FrameRing {
    if (typeof info !== 'object' || info === null) throw check.invalid('info', 'a stream info object', info);
    const o = check.optionsObject(options);
    return FrameRing.create({
      slots: o.slots as number,
      slotBytes: frameBytes(info.width, info.height, info.pixelFormat ?? 'rgb24'),
      ...(o.entries !== undefined ? { entries: o.entries as number } : {}),
      ...(o.spareBytes !== undefined ? { spareBytes: o.spareBytes as number } : {}),
      ...(o.readers !== undefined ? { readers: o.readers as number } : {}),
    });
  }

  /**
   * The ring living in `buffer`, made by `FrameRing.create` on any thread; it reads as
   * `options.reader` (one object per reader) and may also be the producer.
   *
   * @example
   * // in the worker of output 2 of 3
   * const ring = FrameRing.attach(workerData.buffer, { reader: 2, onSlow: 'drop' });
   */
  static attach(buffer: SharedArrayBuffer, options?: AttachOptions): FrameRing {
    const o = check.optionsObject(options);
    check.knownOptions(o, ['reader', 'onSlow'], 'FrameRing.attach');
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
    const entries = words[W_ENTRIES];
    const readers = words[W_READERS];
    const valid = slots >= 2 && slots <= MAX_SLOTS && slotBytes >= 1 && slotBytes <= MAX_SLOT_BYTES && entries >= slots && entries <= MAX_ENTRIES &&
      readers >= 1 && readers <= MAX_READERS;
    const expected = valid ? layout(slots, slotBytes, entries, words[W_SPARE] * ALIGN) : null;
    if (!expected || expected.total !== buffer.byteLength || expected.stride !== words[W_STRIDE] ||
        expected.dataOffset !== words[W_DATA_OFFSET] || expected.arena !== words[W_ARENA_BYTES] * ALIGN) {
      throw fail('ERR_INVALID_ARGUMENT', 'Not a FrameRing buffer: its header does not match its size');
    }
    const reader = o.reader === undefined ? 0 : check.integer(o.reader, 'reader', 0, readers - 1);
    const ring = new FrameRing(buffer, reader);
    if (o.onSlow !== undefined) ring.onSlow = check.oneOf(o.onSlow, 'onSlow', ['wait', 'drop'] as const);
    return ring;
  }

  /** This reader's policy when it falls behind (see {@link AttachOptions.onSlow}); shared, so the producer applies it. */
  get onSlow(): 'wait' | 'drop' {
    return Atomics.load(this.#readerWords, this.#r(R_POLICY)) === SLOW_DROP ? 'drop' : 'wait';
  }

  set onSlow(policy: 'wait' | 'drop') {
    check.oneOf(policy, 'onSlow', ['wait', 'drop'] as const);
    Atomics.store(this.#readerWords, this.#r(R_POLICY), policy === 'drop' ? SLOW_DROP : SLOW_WAIT);
    this.#signal();
  }

  /**
   * This reader leaves: the ring stops waiting for it and frees what only it still held (an
   * output that failed, so that the others go on). Releases the item it holds. Idempotent; a
   * detached reader's acquireRead throws ERR_CLOSED.
   */
  detach(): void {
    const rw = this.#readerWords;
    this.#lockReader(this.reader);
    Atomics.store(rw, this.#r(R_HOLDING), 0);
    Atomics.store(rw, this.#r(R_STATE), READER_DETACHED);
    this.#unlockReader(this.reader);
    this.#reading = null;
    this.#advanceTail();
    this.#signal();
  }

  /**
   * Items this reader is behind the most advanced active reader (0 when it is the most advanced,
   * or alone). A reader far behind the others is the one holding them back: it can copy its item
   * out and release it before a call that may block (a congested link), so that its `'drop'`
   * policy can move it on instead of every reader waiting for that call.
   */
  get lag(): number {
    const rw = this.#readerWords;
    const written = Atomics.load(this.#words, W_WRITTEN);
    const pending = (r: number) => (written - Atomics.load(rw, this.#r(R_CURSOR, r))) | 0;
    let least = pending(this.reader);
    for (let r = 0; r < this.readers; r++) {
      if (Atomics.load(rw, this.#r(R_STATE, r)) === READER_ACTIVE) least = Math.min(least, pending(r));
    }
    return pending(this.reader) - least;
  }

  /** Index of word `word` of this object's reader block (of `reader`'s when given). */
  #r(word: number, reader = this.reader): number {
    return reader * READER_WORDS + word;
  }

  // Spin locks guard a few loads and stores each, on any thread (the main one included, which
  // cannot block on Atomics.wait in every host); they are never held across a call that waits.
  #lockReader(reader: number): void {
    const at = this.#r(R_LOCK, reader);
    while (Atomics.compareExchange(this.#readerWords, at, 0, 1) !== 0);
  }

  #unlockReader(reader: number): void {
    Atomics.store(this.#readerWords, this.#r(R_LOCK, reader), 0);
  }

  /**
   * Frees the items every active reader has moved past: their bytes go back to the producer. Any
   * thread may call it; the tail lock makes one free each item.
   */
  #advanceTail(): void {
    const w = this.#words;
    const rw = this.#readerWords;
    while (Atomics.compareExchange(w, W_TAIL_LOCK, 0, 1) !== 0);
    try {
      for (;;) {
        const tail = Atomics.load(w, W_READ);
        if (((Atomics.load(w, W_WRITTEN) - tail) | 0) <= 0) return;
        for (let r = 0; r < this.readers; r++) {
          if (Atomics.load(rw, this.#r(R_STATE, r)) === READER_ACTIVE && ((Atomics.load(rw, this.#r(R_CURSOR, r)) - tail) | 0) <= 0) return;
        }
        const slot = Atomics.load(w, W_READ_SLOT);
        const reserved = this.#meta[slot * (META_BYTES / 8) + M_RESERVED];
        const kind = this.#meta[slot * (META_BYTES / 8) + M_KIND];
        Atomics.store(w, W_READ_SLOT, (slot + 1) % this.entries);
        // The counts first, the bytes last: a producer that finds the room must not count the
        // item still in the ring (its depth would read one too many).
        if (kind === KIND_FRAME || kind === KIND_VIDEO_PACKET) Atomics.add(w, W_PICTURES_READ, 1);
        Atomics.add(w, W_READ, 1);
        Atomics.sub(w, W_USED, reserved / ALIGN);
      }
    } finally {
      Atomics.store(w, W_TAIL_LOCK, 0);
    }
  }

  /**
   * With the ring full: moves each 'drop' reader that alone holds the others back past the
   * oldest item (never one it holds). A reader holds the others back when it is at the tail with
   * more than twice the items waiting that the most advanced reader has (readers that are all
   * behind, a producer faster than every output, are simply waited for, so an unpaced run loses
   * nothing), and has done so for DROP_AFTER_MS: a reader that is only a little late (a busy
   * core) catches up from the ring's slack instead; one that stays behind is then moved on at
   * once, item by item, as the producer needs room. True when a reader was moved on; otherwise
   * when to look again (Infinity: nobody to drop).
   */
  #dropSlowReaders(): true | number {
    const w = this.#words;
    const rw = this.#readerWords;
    const written = Atomics.load(w, W_WRITTEN);
    const tail = Atomics.load(w, W_READ);
    let fastest = Infinity;
    for (let r = 0; r < this.readers; r++) {
      if (Atomics.load(rw, this.#r(R_STATE, r)) !== READER_ACTIVE) continue;
      fastest = Math.min(fastest, (written - Atomics.load(rw, this.#r(R_CURSOR, r))) | 0);
    }
    let moved = false;
    let recheckAt = Infinity;
    const now = performance.now();
    for (let r = 0; r < this.readers; r++) {
      if (Atomics.load(rw, this.#r(R_POLICY, r)) !== SLOW_DROP) continue;
      this.#lockReader(r);
      const cursor = Atomics.load(rw, this.#r(R_CURSOR, r));
      const pending = (written - cursor) | 0;
      const holdsBack = Atomics.load(rw, this.#r(R_STATE, r)) === READER_ACTIVE && Atomics.load(rw, this.#r(R_HOLDING, r)) === 0 &&
        cursor === tail && pending > 2 * fastest;
      if (!holdsBack) this.#holdingBackSince[r] = NaN;
      else if (Number.isNaN(this.#holdingBackSince[r] ?? NaN)) this.#holdingBackSince[r] = now;
      const since = this.#holdingBackSince[r];
      if (holdsBack && now - since < DROP_AFTER_MS) recheckAt = Math.min(recheckAt, since + DROP_AFTER_MS);
      if (holdsBack && now - since >= DROP_AFTER_MS) {
        const slot = Atomics.load(rw, this.#r(R_SLOT, r));
        const kind = this.#meta[slot * (META_BYTES / 8) + M_KIND];
        if (kind === KIND_FRAME || kind === KIND_VIDEO_PACKET) Atomics.add(rw, this.#r(R_DROPPED, r), 1);
        if (kind === KIND_VIDEO_PACKET) Atomics.store(rw, this.#r(R_NEED_KEY, r), 1);
        Atomics.add(rw, this.#r(R_DROPPED_ITEMS, r), 1);
        Atomics.store(rw, this.#r(R_SLOT, r), (slot + 1) % this.entries);
        Atomics.store(rw, this.#r(R_CURSOR, r), (cursor + 1) | 0);
        moved = true;
      }
      this.#unlockReader(r);
    }
    if (moved) this.#advanceTail();
    return moved || recheckAt;
  }

  // ---- producer ----

  /**
   * Room for the next item: `bytes` of it (default `slotBytes`, one frame), waiting while the
   * ring has no room (at most `timeoutMs`, then ERR_TIMEOUT). The room of a whole slot is a
   * picture's: it also waits while the ring holds `slots` pictures. Throws ERR_CLOSED once the
   * ring is closed, and the carried error once it is aborted. Blocking: not for the main thread
   * of an application (use a worker).
   */
  acquireWrite(timeoutMs?: number, bytes?: number): WriteSlot {
    return this.#acquireWrite(timeoutMs, bytes, bytes === undefined || bytes >= this.slotBytes);
  }

  #acquireWrite(timeoutMs: number | undefined, bytes: number | undefined, picture: boolean): WriteSlot {
    const deadline = this.#deadline(timeoutMs);
    if (this.#writing !== null) throw fail('ERR_INVALID_STATE', 'acquireWrite: the previous slot was not committed yet');
    const size = bytes === undefined ? this.slotBytes : check.integer(bytes, 'bytes', 0, Number.MAX_SAFE_INTEGER, 'ERR_BUFFER_SIZE');
    if (aligned(size) > this.#arena) {
      throw fail('ERR_BUFFER_SIZE', `An item of ${size} bytes does not fit a ring of ${this.#arena} bytes (${this.slots} slots of ${this.slotBytes})`);
    }
    this.#claim(W_PRODUCER, 'producer');
    const w = this.#words;
    let waited = false;
    for (;;) {
      const events = Atomics.load(w, W_EVENTS);
      this.#throwIfEnded(true);
      const written = Atomics.load(w, W_WRITTEN);
      const room = this.#room(size);
      const pictureRoom = !picture || ((Atomics.load(w, W_PICTURES_WRITTEN) - Atomics.load(w, W_PICTURES_READ)) | 0) < this.slots;
      if (((written - Atomics.load(w, W_READ)) | 0) < this.entries && room !== null && pictureRoom) {
        this.#writing = { sequence: written, ...room, bytes: size };
        const slot = Atomics.load(w, W_WRITE_SLOT);
        const data = new Uint8Array(this.buffer, this.#dataOffset + room.offset, size);
        return { data, slot, commit: (info?: CommitInfo) => this.#commit(written, info), cancel: () => this.#cancel(written) };
      }
      // A 'drop' reader that holds the others back is moved on, once it has done so for a while.
      let recheckAt = Infinity;
      if (this.readers > 1) {
        const dropped = this.#dropSlowReaders();
        if (dropped === true) continue;
        recheckAt = dropped;
      }
      if (!waited) {
        waited = true;
        Atomics.add(w, W_PRODUCER_WAITS, 1);
      }
      if (recheckAt < deadline) Atomics.wait(w, W_EVENTS, events, Math.max(0, recheckAt - performance.now()));
      else this.#wait(events, deadline, 'acquireWrite', 'the ring stayed full');
    }
  }

  /**
   * Where `size` bytes go, or null while they do not fit: just after the head, or from the
   * arena's start when they would cross its end (the bytes skipped are reserved too). The bytes
   * in use are one circular run ending at the head, so the free ones are the run after it.
   */
  #room(size: number): { offset: number; reserved: number } | null {
    const head = Atomics.load(this.#words, W_HEAD) * ALIGN;
    const used = Atomics.load(this.#words, W_USED) * ALIGN;
    const need = aligned(size);
    const skip = head + need > this.#arena ? this.#arena - head : 0;
    if (used + skip + need > this.#arena) return null;
    return { offset: skip > 0 ? 0 : head, reserved: skip + need };
  }

  /** Commits the item held from `acquireWrite` (same as `slot.commit(info)`). */
  commit(info?: CommitInfo): void {
    if (this.#writing === null) throw fail('ERR_INVALID_STATE', 'commit: no slot is held (acquireWrite first)');
    this.#commit(this.#writing.sequence, info);
  }

  #cancel(sequence: number): void {
    if (this.#writing === null || this.#writing.sequence !== sequence) {
      throw fail('ERR_INVALID_STATE', 'cancel: this slot was already committed or cancelled');
    }
    // Nothing of the reservation is shared until a commit: forgetting it is enough.
    this.#writing = null;
  }

  /**
   * Copies an audio chunk or a packet into the ring and commits it, waiting for room as
   * `acquireWrite` does. (Frames go in without a copy: `acquireWrite`, decode into `data`, commit.)
   */
  write(item: AudioFrame | (Packet & { stream?: number }), timeoutMs?: number): void {
    if (typeof item !== 'object' || item === null || !(item.kind === 'audio' || item.kind === 'video-packet' || item.kind === 'audio-packet')) {
      throw check.invalid('item', 'an AudioFrame or a Packet', item);
    }
    const source = item.data;
    if (!ArrayBuffer.isView(source)) throw check.invalid('item.data', 'a typed array', source);
    const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    const slot = this.#acquireWrite(timeoutMs, bytes.byteLength, item.kind === 'video-packet');
    slot.data.set(bytes);
    if (item.kind === 'audio') {
      slot.commit({ kind: 'audio', sampleFormat: item.sampleFormat, sampleRate: item.sampleRate, channels: item.channels, samples: item.samples, pts: item.pts, time: item.time });
    } else {
      slot.commit({ kind: item.kind, pts: item.pts, dts: item.dts, duration: item.duration, timeBase: item.timeBase, time: item.time, keyFrame: item.keyFrame, byteLength: bytes.byteLength, stream: item.stream });
    }
  }

  #commit(sequence: number, info: CommitInfo | undefined): void {
    const held = this.#writing;
    if (held === null || held.sequence !== sequence) {
      throw fail('ERR_INVALID_STATE', 'commit: this slot was already committed (acquireWrite for the next one)');
    }
    if (info !== undefined && (typeof info !== 'object' || info === null)) throw check.invalid('info', 'a FrameInfo, audio or packet description', info);
    const kind = KIND_CODES[info?.kind ?? 'video'];
    if (kind === undefined) throw check.invalid('info.kind', "'video', 'audio', 'video-packet' or 'audio-packet'", info?.kind);
    const slot = Atomics.load(this.#words, W_WRITE_SLOT);
    const base = slot * (META_BYTES / 8);
    const m = this.#meta;
    m.fill(0, base, base + META_FORMAT_OFFSET / 8);
    let format = '';
    if (kind === KIND_FRAME) {
      const i = (info ?? {}) as Partial<FrameInfo> & { byteLength?: number };
      m[base + M_BYTES] = this.#frameBytes(i, held.bytes);
      m[base + M_WIDTH] = i.width ?? 0;
      m[base + M_HEIGHT] = i.height ?? 0;
      m[base + M_PTS] = i.pts ?? NaN;
      m[base + M_TIME] = i.time ?? NaN;
      m[base + M_INDEX] = i.index ?? sequence;
      m[base + M_KEY] = i.keyFrame ? 1 : 0;
      m[base + M_PICT] = (i.pictType ?? '?').charCodeAt(0) || 63;
      format = String(i.pixelFormat ?? '');
    } else if (kind === KIND_AUDIO) {
      const i = info as AudioFrame;
      const sampleFormat = check.oneOf(i.sampleFormat, 'info.sampleFormat', ['f32', 's16'] as const);
      const channels = check.integer(i.channels, 'info.channels', 1, 64);
      const samples = check.integer(i.samples, 'info.samples', 0, Number.MAX_SAFE_INTEGER);
      const byteLength = samples * channels * BYTES_PER_SAMPLE[sampleFormat];
      if (byteLength > held.bytes) {
        throw fail('ERR_BUFFER_SIZE', `${samples} samples of ${channels} channels in ${sampleFormat} are ${byteLength} bytes, more than the ${held.bytes} acquired`);
      }
      m[base + M_BYTES] = byteLength;
      m[base + M_WIDTH] = check.integer(i.sampleRate, 'info.sampleRate', 1, 10_000_000);
      m[base + M_HEIGHT] = channels;
      m[base + M_PTS] = check.number(i.pts, 'info.pts', -Number.MAX_VALUE, Number.MAX_VALUE);
      m[base + M_TIME] = check.number(i.time, 'info.time', -Number.MAX_VALUE, Number.MAX_VALUE);
      m[base + M_INDEX] = samples;
      format = sampleFormat;
    } else {
      const i = info as Packet & { byteLength: number; stream?: number };
      const byteLength = check.integer(i.byteLength, 'info.byteLength', 0, held.bytes, 'ERR_BUFFER_SIZE');
      m[base + M_BYTES] = byteLength;
      m[base + M_PTS] = i.pts ?? NaN;
      m[base + M_TIME] = i.time ?? NaN;
      m[base + M_INDEX] = i.dts ?? NaN;
      m[base + M_KEY] = i.keyFrame ? 1 : 0;
      m[base + M_PICT] = i.duration ?? 0;
      const timeBase = i.timeBase as Rational | undefined;
      if (typeof timeBase !== 'object' || timeBase === null) throw check.invalid('info.timeBase', 'a {num, den} object', timeBase);
      m[base + M_TB_NUM] = check.integer(timeBase.num, 'info.timeBase.num', 1, 2 ** 31 - 1);
      m[base + M_TB_DEN] = check.integer(timeBase.den, 'info.timeBase.den', 1, 2 ** 31 - 1);
      m[base + M_STREAM] = i.stream === undefined ? 0 : check.integer(i.stream, 'info.stream', 0, 2 ** 31 - 1);
    }
    m[base + M_KIND] = kind;
    m[base + M_OFFSET] = held.offset;
    m[base + M_RESERVED] = held.reserved;
    this.#writeFormat(slot, format);
    this.#writing = null;
    const w = this.#words;
    Atomics.store(w, W_WRITE_SLOT, (slot + 1) % this.entries);
    Atomics.store(w, W_HEAD, ((held.offset + aligned(held.bytes)) % this.#arena) / ALIGN);
    Atomics.add(w, W_USED, held.reserved / ALIGN);
    // Counted before it is published, so that a reader freeing it never takes it from zero.
    if (kind === KIND_FRAME || kind === KIND_VIDEO_PACKET) Atomics.add(w, W_PICTURES_WRITTEN, 1);
    // The store of W_WRITTEN publishes the item: Atomics are sequentially consistent, so the
    // consumer that sees the new count also sees the bytes and the meta written before it.
    const depth = (Atomics.add(w, W_WRITTEN, 1) + 1 - Atomics.load(w, W_READ)) | 0;
    if (depth > Atomics.load(w, W_MAX_DEPTH)) Atomics.store(w, W_MAX_DEPTH, depth);
    this.#signal();
  }

  #frameBytes(info: Partial<FrameInfo> & { byteLength?: number }, held: number): number {
    let bytes = held;
    if (info.byteLength !== undefined) {
      bytes = check.integer(info.byteLength, 'info.byteLength', 0, Number.MAX_SAFE_INTEGER, 'ERR_BUFFER_SIZE');
    } else if (info.width !== undefined && info.height !== undefined) {
      bytes = frameBytes(info.width, info.height, info.pixelFormat ?? 'rgb24');
    }
    if (bytes > held) {
      throw fail('ERR_BUFFER_SIZE', `A frame of ${bytes} bytes does not fit a ring slot of ${held} bytes`);
    }
    return bytes;
  }

  #writeFormat(slot: number, name: string): void {
    const format = name.slice(0, META_FORMAT_BYTES - 1);
    const at = META_OFFSET + slot * META_BYTES + META_FORMAT_OFFSET;
    for (let k = 0; k < META_FORMAT_BYTES; k++) this.#bytes[at + k] = k < format.length ? format.charCodeAt(k) & 0x7f : 0;
  }

  #readFormat(slot: number): string {
    const at = META_OFFSET + slot * META_BYTES + META_FORMAT_OFFSET;
    let name = '';
    for (let k = 0; k < META_FORMAT_BYTES && this.#bytes[at + k] !== 0; k++) name += String.fromCharCode(this.#bytes[at + k]);
    return name;
  }

  // ---- consumer ----

  /**
   * The oldest committed item, waiting while the ring is empty (at most `timeoutMs`, then
   * ERR_TIMEOUT); null once the ring is closed and drained. Throws the carried error once the
   * ring is aborted. Blocking: not for the main thread of an application (use `readAsync`).
   */
  acquireRead(timeoutMs?: number): RingItem | null {
    const deadline = this.#deadline(timeoutMs);
    this.#beginRead();
    let waited = false;
    for (;;) {
      const events = Atomics.load(this.#words, W_EVENTS);
      const ready = this.#tryRead();
      if (ready !== undefined) return ready;
      if (!waited) {
        waited = true;
        this.#countReaderWait();
      }
      this.#wait(events, deadline, 'acquireRead', 'no frame came');
    }
  }

  /** `acquireRead` for the main thread: waits with `Atomics.waitAsync`, never blocking the event loop. */
  async readAsync(timeoutMs?: number): Promise<RingItem | null> {
    const deadline = this.#deadline(timeoutMs);
    this.#beginRead();
    let waited = false;
    for (;;) {
      const events = Atomics.load(this.#words, W_EVENTS);
      const ready = this.#tryRead();
      if (ready !== undefined) return ready;
      if (!waited) {
        waited = true;
        this.#countReaderWait();
      }
      const remaining = deadline === Infinity ? undefined : Math.max(0, deadline - performance.now());
      const result = (Atomics as unknown as AtomicsWithWaitAsync).waitAsync(this.#words, W_EVENTS, events, remaining);
      const outcome = result.async ? await result.value : result.value;
      if (outcome === 'timed-out' && performance.now() >= deadline) this.#throwTimeout('readAsync', 'no frame came');
    }
  }

  /** Releases the item held from `acquireRead` (same as `item.release()`). */
  release(): void {
    if (this.#reading === null) throw fail('ERR_INVALID_STATE', 'release: no slot is held (acquireRead first)');
    this.#release(this.#reading);
  }

  #countReaderWait(): void {
    Atomics.add(this.#words, W_CONSUMER_WAITS, 1);
    Atomics.add(this.#readerWords, this.#r(R_WAITS), 1);
  }

  #beginRead(): void {
    if (this.#reading !== null) throw fail('ERR_INVALID_STATE', 'acquireRead: the previous slot was not released yet');
    const owner = Atomics.compareExchange(this.#readerWords, this.#r(R_OWNER), 0, this.#id);
    if (owner !== 0 && owner !== this.#id) {
      throw fail('ERR_BUSY', `Reader ${this.reader} of this ring already reads from another object (one object per reader: attach with another \`reader\`)`);
    }
    if (Atomics.load(this.#readerWords, this.#r(R_STATE)) === READER_DETACHED) throw fail('ERR_CLOSED', `Reader ${this.reader} of this ring has detached`);
  }

  /** The next item, null at the end, undefined when the reader must wait. */
  #tryRead(): RingItem | null | undefined {
    const w = this.#words;
    const rw = this.#readerWords;
    for (;;) {
      const state = Atomics.load(w, W_STATE);
      if (state === ABORTED) throw this.#carriedError();
      this.#lockReader(this.reader);
      const cursor = Atomics.load(rw, this.#r(R_CURSOR));
      if (((Atomics.load(w, W_WRITTEN) - cursor) | 0) <= 0) {
        this.#unlockReader(this.reader);
        return state === CLOSED ? null : undefined;
      }
      Atomics.store(rw, this.#r(R_HOLDING), 1);
      this.#unlockReader(this.reader);
      this.#reading = cursor;
      const item = this.#readItem(cursor);
      // After a dropped compressed picture, the pictures up to the next keyframe reference one
      // this reader never got: they go too, counted, and its decoder restarts cleanly.
      if (item.kind === 'video-packet' && Atomics.load(rw, this.#r(R_NEED_KEY)) === 1) {
        if (item.keyFrame) {
          Atomics.store(rw, this.#r(R_NEED_KEY), 0);
        } else {
          Atomics.add(rw, this.#r(R_DROPPED), 1);
          Atomics.add(rw, this.#r(R_DROPPED_ITEMS), 1);
          item.release();
          continue;
        }
      }
      return item;
    }
  }

  #readItem(sequence: number): RingItem {
    const slot = Atomics.load(this.#readerWords, this.#r(R_SLOT));
    const m = this.#meta;
    const base = slot * (META_BYTES / 8);
    const at = this.#dataOffset + m[base + M_OFFSET];
    const bytes = m[base + M_BYTES];
    const pts = m[base + M_PTS];
    const time = m[base + M_TIME];
    const orNull = (value: number) => (Number.isNaN(value) ? null : value);
    const release = () => this.#release(sequence);
    switch (m[base + M_KIND]) {
      case KIND_AUDIO: {
        const sampleFormat = this.#readFormat(slot) as SampleFormat;
        const data = sampleFormat === 's16' ? new Int16Array(this.buffer, at, bytes / 2) : new Float32Array(this.buffer, at, bytes / 4);
        return { kind: 'audio', slot, data, sampleFormat, sampleRate: m[base + M_WIDTH], channels: m[base + M_HEIGHT], samples: m[base + M_INDEX], pts, time, release };
      }
      case KIND_VIDEO_PACKET:
      case KIND_AUDIO_PACKET:
        return {
          kind: m[base + M_KIND] === KIND_VIDEO_PACKET ? 'video-packet' : 'audio-packet',
          slot,
          data: new Uint8Array(this.buffer, at, bytes),
          pts: orNull(pts),
          dts: orNull(m[base + M_INDEX]),
          duration: m[base + M_PICT],
          timeBase: { num: m[base + M_TB_NUM], den: m[base + M_TB_DEN] },
          time: orNull(time),
          keyFrame: m[base + M_KEY] === 1,
          stream: m[base + M_STREAM],
          release,
        };
      default:
        return {
          kind: 'video',
          slot,
          data: new Uint8Array(this.buffer, at, bytes),
          width: m[base + M_WIDTH],
          height: m[base + M_HEIGHT],
          pixelFormat: this.#readFormat(slot),
          pts: orNull(pts),
          time: orNull(time),
          index: m[base + M_INDEX],
          keyFrame: m[base + M_KEY] === 1,
          pictType: String.fromCharCode(m[base + M_PICT]),
          release,
        };
    }
  }

  #release(sequence: number): void {
    if (this.#reading !== sequence) {
      throw fail('ERR_INVALID_STATE', 'release: this slot was already released (acquireRead for the next one)');
    }
    this.#reading = null;
    const rw = this.#readerWords;
    this.#lockReader(this.reader);
    // A detached reader's cursor no longer matters; it only must not move.
    if (Atomics.load(rw, this.#r(R_STATE)) === READER_ACTIVE) {
      Atomics.store(rw, this.#r(R_SLOT), (Atomics.load(rw, this.#r(R_SLOT)) + 1) % this.entries);
      Atomics.store(rw, this.#r(R_CURSOR), (sequence + 1) | 0);
    }
    Atomics.store(rw, this.#r(R_HOLDING), 0);
    this.#unlockReader(this.reader);
    this.#advanceTail();
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
      entries: this.entries,
      depth: (written - read) | 0,
      pictures: (Atomics.load(w, W_PICTURES_WRITTEN) - Atomics.load(w, W_PICTURES_READ)) | 0,
      bytesInUse: Atomics.load(w, W_USED) * ALIGN,
      maxDepth: Atomics.load(w, W_MAX_DEPTH),
      written,
      read,
      producerWaits: Atomics.load(w, W_PRODUCER_WAITS),
      consumerWaits: Atomics.load(w, W_CONSUMER_WAITS),
      state: state === OPEN ? 'open' : state === CLOSED ? 'closed' : 'aborted',
      readers: Array.from({ length: this.readers }, (_, r) => {
        const rw = this.#readerWords;
        return {
          pending: Math.max(0, (written - Atomics.load(rw, this.#r(R_CURSOR, r))) | 0),
          dropped: Atomics.load(rw, this.#r(R_DROPPED, r)),
          droppedItems: Atomics.load(rw, this.#r(R_DROPPED_ITEMS, r)),
          waits: Atomics.load(rw, this.#r(R_WAITS, r)),
          onSlow: Atomics.load(rw, this.#r(R_POLICY, r)) === SLOW_DROP ? 'drop' as const : 'wait' as const,
          state: Atomics.load(rw, this.#r(R_STATE, r)) === READER_ACTIVE ? 'active' as const : 'detached' as const,
        };
      }),
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
