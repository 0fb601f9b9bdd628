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
//
// This file holds the FrameRing object each side uses; the memory's layout is in layout.ts, the
// state both sides share in memory.ts, an item's description in meta.ts, the public types in types.ts.
import { StreamcoderError } from '../errors';
import type { AudioFrame, Packet } from '../types';
import * as check from '../validate';
import {
  ABORTED, ALIGN, CLOSED, HEADER_BYTES, MAGIC, MAX_ENTRIES, MAX_READERS, MAX_SLOTS, MAX_SLOT_BYTES, OPEN, READER_ACTIVE,
  READER_DETACHED, R_CURSOR, R_HOLDING, R_NEED_KEY, R_DROPPED, R_DROPPED_ITEMS, R_OWNER, R_POLICY, R_SLOT, R_STATE, R_WAITS,
  SLOW_DROP, SLOW_WAIT, VERSION, W_ARENA_BYTES, W_CONSUMER_WAITS, W_DATA_OFFSET, W_ENTRIES, W_EVENTS, W_HEAD, W_MAGIC,
  W_MAX_DEPTH, W_PICTURES_WRITTEN, W_PRODUCER, W_PRODUCER_WAITS, W_READ, W_READERS, W_SLOTS, W_SLOT_BYTES, W_SPARE,
  W_STATE, W_STRIDE, W_USED, W_VERSION, W_WRITE_SLOT, W_WRITTEN, aligned, isPicture, layout,
} from './layout';
import { fail, RingMemory, throwTimeout } from './memory';
import { readMeta, writeMeta, type Held } from './meta';
import { frameBytes, type AttachOptions, type CommitInfo, type FrameRingOptions, type FrameRingStats, type RingItem, type WriteSlot } from './types';

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
  /** The reader this object reads as. */
  readonly reader: number;
  /** Readers the ring was made for. */
  readonly readers: number;
  readonly #m: RingMemory;
  readonly #id = objectId();
  // What this object holds: one item at a time per role (the sequence number it was acquired at).
  #writing: ({ sequence: number } & Held) | null = null;
  #reading: number | null = null;
  // The producer's own: since when each reader has held the others back (NaN: it does not).
  readonly #holdingBackSince: number[] = [];

  private constructor(buffer: SharedArrayBuffer, reader = 0) {
    this.#m = new RingMemory(buffer);
    this.buffer = buffer;
    this.reader = reader;
    this.readers = this.#m.readers;
    this.slots = this.#m.slots;
    this.slotBytes = this.#m.slotBytes;
    this.entries = this.#m.entries;
  }

  /** Index of word `word` of this object's reader block. */
  #r(word: number): number {
    return this.#m.r(word, this.reader);
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
    return Atomics.load(this.#m.readerWords, this.#r(R_POLICY)) === SLOW_DROP ? 'drop' : 'wait';
  }

  set onSlow(policy: 'wait' | 'drop') {
    check.oneOf(policy, 'onSlow', ['wait', 'drop'] as const);
    Atomics.store(this.#m.readerWords, this.#r(R_POLICY), policy === 'drop' ? SLOW_DROP : SLOW_WAIT);
    this.#m.signal();
  }

  /**
   * This reader leaves: the ring stops waiting for it and frees what only it still held (an
   * output that failed, so that the others go on). Releases the item it holds. Idempotent; a
   * detached reader's acquireRead throws ERR_CLOSED.
   */
  detach(): void {
    this.#m.leave(this.reader);
    this.#reading = null;
    this.#m.advanceTail();
    this.#m.signal();
  }

  /**
   * A detached reader comes back (an output retried after a failure): where it left off if the
   * ring still holds that, else from the oldest item the other readers still hold. The pictures
   * it missed meanwhile count in its `dropped`; compressed video resumes at a keyframe.
   * Whichever object read as this reader before must be gone; this one reads as it from now on.
   * Does nothing on an active reader.
   */
  rejoin(): void {
    this.#m.rejoin(this.reader);
    this.#reading = null;
    this.#m.signal();
  }

  /**
   * Items this reader is behind the most advanced active reader (0 when it is the most advanced,
   * or alone). A reader far behind the others is the one holding them back: it can copy its item
   * out and release it before a call that may block (a congested link), so that its `'drop'`
   * policy can move it on instead of every reader waiting for that call.
   */
  get lag(): number {
    const rw = this.#m.readerWords;
    const written = Atomics.load(this.#m.words, W_WRITTEN);
    const pending = (r: number) => (written - Atomics.load(rw, this.#m.r(R_CURSOR, r))) | 0;
    let least = pending(this.reader);
    for (let r = 0; r < this.readers; r++) {
      if (Atomics.load(rw, this.#m.r(R_STATE, r)) === READER_ACTIVE) least = Math.min(least, pending(r));
    }
    return pending(this.reader) - least;
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
    const deadline = this.#m.deadline(timeoutMs);
    if (this.#writing !== null) throw fail('ERR_INVALID_STATE', 'acquireWrite: the previous slot was not committed yet');
    const size = bytes === undefined ? this.slotBytes : check.integer(bytes, 'bytes', 0, Number.MAX_SAFE_INTEGER, 'ERR_BUFFER_SIZE');
    if (aligned(size) > this.#m.arena) {
      throw fail('ERR_BUFFER_SIZE', `An item of ${size} bytes does not fit a ring of ${this.#m.arena} bytes (${this.slots} slots of ${this.slotBytes})`);
    }
    this.#claim(W_PRODUCER, 'producer');
    const w = this.#m.words;
    let waited = false;
    for (;;) {
      const events = Atomics.load(w, W_EVENTS);
      this.#throwIfEnded(true);
      const written = Atomics.load(w, W_WRITTEN);
      const room = this.#room(size);
      const pictureRoom = !picture || this.#m.pictures() < this.slots;
      if (((written - Atomics.load(w, W_READ)) | 0) < this.entries && room !== null && pictureRoom) {
        this.#writing = { sequence: written, ...room, bytes: size };
        const slot = Atomics.load(w, W_WRITE_SLOT);
        const data = new Uint8Array(this.buffer, this.#m.dataOffset + room.offset, size);
        return { data, slot, commit: (info?: CommitInfo) => this.#commit(written, info), cancel: () => this.#cancel(written) };
      }
      // A 'drop' reader that holds the others back is moved on, once it has done so for a while.
      let recheckAt = Infinity;
      if (this.readers > 1) {
        const dropped = this.#m.dropSlowReaders(this.#holdingBackSince);
        if (dropped === true) continue;
        recheckAt = dropped;
      }
      if (!waited) {
        waited = true;
        Atomics.add(w, W_PRODUCER_WAITS, 1);
      }
      if (recheckAt < deadline) Atomics.wait(w, W_EVENTS, events, Math.max(0, recheckAt - performance.now()));
      else this.#m.wait(events, deadline, 'acquireWrite', 'the ring stayed full');
    }
  }

  /**
   * Where `size` bytes go, or null while they do not fit: just after the head, or from the
   * arena's start when they would cross its end (the bytes skipped are reserved too). The bytes
   * in use are one circular run ending at the head, so the free ones are the run after it.
   */
  #room(size: number): { offset: number; reserved: number } | null {
    const head = Atomics.load(this.#m.words, W_HEAD) * ALIGN;
    const used = Atomics.load(this.#m.words, W_USED) * ALIGN;
    const need = aligned(size);
    const skip = head + need > this.#m.arena ? this.#m.arena - head : 0;
    if (used + skip + need > this.#m.arena) return null;
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
    const m = this.#m;
    const w = m.words;
    const slot = Atomics.load(w, W_WRITE_SLOT);
    const kind = writeMeta(m, slot, info, held, sequence);
    this.#writing = null;
    Atomics.store(w, W_WRITE_SLOT, (slot + 1) % this.entries);
    Atomics.store(w, W_HEAD, ((held.offset + aligned(held.bytes)) % m.arena) / ALIGN);
    Atomics.add(w, W_USED, held.reserved / ALIGN);
    // Counted before it is published, so that a reader freeing it never takes it from zero.
    if (isPicture(kind)) Atomics.add(w, W_PICTURES_WRITTEN, 1);
    // The store of W_WRITTEN publishes the item: Atomics are sequentially consistent, so the
    // consumer that sees the new count also sees the bytes and the meta written before it.
    const depth = (Atomics.add(w, W_WRITTEN, 1) + 1 - Atomics.load(w, W_READ)) | 0;
    if (depth > Atomics.load(w, W_MAX_DEPTH)) Atomics.store(w, W_MAX_DEPTH, depth);
    m.signal();
  }

  // ---- consumer ----

  /**
   * The oldest committed item, waiting while the ring is empty (at most `timeoutMs`, then
   * ERR_TIMEOUT); null once the ring is closed and drained. Throws the carried error once the
   * ring is aborted. Blocking: not for the main thread of an application (use `readAsync`).
   */
  acquireRead(timeoutMs?: number): RingItem | null {
    const deadline = this.#m.deadline(timeoutMs);
    this.#beginRead();
    let waited = false;
    for (;;) {
      const events = Atomics.load(this.#m.words, W_EVENTS);
      const ready = this.#tryRead();
      if (ready !== undefined) return ready;
      if (!waited) {
        waited = true;
        this.#countReaderWait();
      }
      this.#m.wait(events, deadline, 'acquireRead', 'no frame came');
    }
  }

  /** `acquireRead` for the main thread: waits with `Atomics.waitAsync`, never blocking the event loop. */
  async readAsync(timeoutMs?: number): Promise<RingItem | null> {
    const deadline = this.#m.deadline(timeoutMs);
    this.#beginRead();
    let waited = false;
    for (;;) {
      const events = Atomics.load(this.#m.words, W_EVENTS);
      const ready = this.#tryRead();
      if (ready !== undefined) return ready;
      if (!waited) {
        waited = true;
        this.#countReaderWait();
      }
      const remaining = deadline === Infinity ? undefined : Math.max(0, deadline - performance.now());
      const result = (Atomics as unknown as AtomicsWithWaitAsync).waitAsync(this.#m.words, W_EVENTS, events, remaining);
      const outcome = result.async ? await result.value : result.value;
      if (outcome === 'timed-out' && performance.now() >= deadline) throwTimeout('readAsync', 'no frame came');
    }
  }

  /** Releases the item held from `acquireRead` (same as `item.release()`). */
  release(): void {
    if (this.#reading === null) throw fail('ERR_INVALID_STATE', 'release: no slot is held (acquireRead first)');
    this.#release(this.#reading);
  }

  #countReaderWait(): void {
    Atomics.add(this.#m.words, W_CONSUMER_WAITS, 1);
    Atomics.add(this.#m.readerWords, this.#r(R_WAITS), 1);
  }

  #beginRead(): void {
    if (this.#reading !== null) throw fail('ERR_INVALID_STATE', 'acquireRead: the previous slot was not released yet');
    const owner = Atomics.compareExchange(this.#m.readerWords, this.#r(R_OWNER), 0, this.#id);
    if (owner !== 0 && owner !== this.#id) {
      throw fail('ERR_BUSY', `Reader ${this.reader} of this ring already reads from another object (one object per reader: attach with another \`reader\`)`);
    }
    if (Atomics.load(this.#m.readerWords, this.#r(R_STATE)) === READER_DETACHED) throw fail('ERR_CLOSED', `Reader ${this.reader} of this ring has detached`);
  }

  /** The next item, null at the end, undefined when the reader must wait. */
  #tryRead(): RingItem | null | undefined {
    const w = this.#m.words;
    const rw = this.#m.readerWords;
    for (;;) {
      const state = Atomics.load(w, W_STATE);
      if (state === ABORTED) throw this.#m.carriedError();
      this.#m.lockReader(this.reader);
      const cursor = Atomics.load(rw, this.#r(R_CURSOR));
      if (((Atomics.load(w, W_WRITTEN) - cursor) | 0) <= 0) {
        this.#m.unlockReader(this.reader);
        return state === CLOSED ? null : undefined;
      }
      Atomics.store(rw, this.#r(R_HOLDING), 1);
      this.#m.unlockReader(this.reader);
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
    return readMeta(this.#m, Atomics.load(this.#m.readerWords, this.#r(R_SLOT)), () => this.#release(sequence));
  }

  #release(sequence: number): void {
    if (this.#reading !== sequence) {
      throw fail('ERR_INVALID_STATE', 'release: this slot was already released (acquireRead for the next one)');
    }
    this.#reading = null;
    const rw = this.#m.readerWords;
    this.#m.lockReader(this.reader);
    // A detached reader's cursor no longer matters; it only must not move.
    if (Atomics.load(rw, this.#r(R_STATE)) === READER_ACTIVE) {
      Atomics.store(rw, this.#r(R_SLOT), (Atomics.load(rw, this.#r(R_SLOT)) + 1) % this.entries);
      Atomics.store(rw, this.#r(R_CURSOR), (sequence + 1) | 0);
    }
    Atomics.store(rw, this.#r(R_HOLDING), 0);
    this.#m.unlockReader(this.reader);
    this.#m.advanceTail();
    this.#m.signal();
  }

  // ---- both sides ----

  /**
   * Ends the stream: the consumer gets the frames already committed, then null; the producer's
   * next `acquireWrite` throws ERR_CLOSED. Either side may close. Idempotent; no effect after abort.
   */
  close(): void {
    if (Atomics.compareExchange(this.#m.words, W_STATE, OPEN, CLOSED) === OPEN) this.#m.signal();
  }

  /**
   * Stops both sides now: their next (or current, waiting) acquire throws `error`'s code and
   * message as a StreamcoderError (ERR_ABORTED without one). Frames not yet read are dropped.
   * The first abort wins; later ones do nothing. An abort after `close()` still stops both sides.
   */
  abort(error?: unknown): void {
    const code = error instanceof StreamcoderError ? error.code : typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'ERR_ABORTED';
    const message = error instanceof Error ? error.message : error === undefined ? 'The frame ring was aborted' : String(error);
    const averror = error instanceof StreamcoderError && error.averror !== undefined ? error.averror : 0;
    this.#m.writeError(code || 'ERR_ABORTED', message, averror);
  }

  /** True once `close()` or `abort()` ran on either side. */
  get ended(): boolean {
    return Atomics.load(this.#m.words, W_STATE) !== OPEN;
  }

  /** The error carried by `abort`, or null. */
  get error(): StreamcoderError | null {
    return Atomics.load(this.#m.words, W_STATE) === ABORTED ? this.#m.carriedError() : null;
  }

  get stats(): FrameRingStats {
    return this.#m.stats();
  }

  #claim(word: number, role: string): void {
    const owner = Atomics.compareExchange(this.#m.words, word, 0, this.#id);
    if (owner !== 0 && owner !== this.#id) {
      throw fail('ERR_BUSY', `This ring already has a ${role} (one ${role} per ring: attach a second ring for a second stream)`);
    }
  }

  #throwIfEnded(writing: boolean): void {
    const state = Atomics.load(this.#m.words, W_STATE);
    if (state === ABORTED) throw this.#m.carriedError();
    if (state === CLOSED && writing) throw fail('ERR_CLOSED', 'The frame ring is closed');
  }
}
