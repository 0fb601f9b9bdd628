// The state both sides of a FrameRing share, over the views of its SharedArrayBuffer: the
// reader blocks and their locks, the wake-ups, freeing the items every reader has passed, moving a
// slow 'drop' reader on, the error an abort carries, and the counters. Each FrameRing object
// holds one; what only one object knows (the item it holds, its role) stays in FrameRing.
import { StreamcoderError, type ErrorCode } from '../errors';
import * as check from '../validate';
import {
  ABORTED, ALIGN, CLOSED, DROP_AFTER_MS, ERROR_BYTES, ERROR_OFFSET, HEADER_BYTES, KIND_VIDEO_PACKET, MAX_READERS, isPicture,
  META_BYTES, META_OFFSET, M_KIND, M_RESERVED, OPEN, READER_ACTIVE, READER_DETACHED, READER_OFFSET, READER_WORDS, R_CURSOR, R_DROPPED,
  R_DROPPED_ITEMS, R_HOLDING, R_LEFT_AT, R_LOCK, R_NEED_KEY, R_OWNER, R_POLICY, R_SLOT, R_STATE, R_WAITS, SLOW_DROP, W_ARENA_BYTES,
  W_CONSUMER_WAITS, W_DATA_OFFSET, W_ENTRIES, W_ERROR_AVERROR, W_ERROR_CODE_BYTES, W_ERROR_MESSAGE_BYTES, W_EVENTS,
  W_MAX_DEPTH, W_PICTURES_READ, W_PICTURES_WRITTEN, W_PRODUCER_WAITS, W_READ, W_READERS, W_READ_SLOT, W_SLOTS,
  W_SLOT_BYTES, W_STATE, W_TAIL_LOCK, W_USED, W_WRITTEN,
} from './layout';
import type { FrameRingStats } from './types';

export function fail(code: ErrorCode, message: string): StreamcoderError {
  return new StreamcoderError(message, code);
}

export class RingMemory {
  readonly buffer: SharedArrayBuffer;
  readonly words: Int32Array;
  readonly readerWords: Int32Array;
  readonly meta: Float64Array;
  readonly bytes: Uint8Array;
  readonly slots: number;
  readonly slotBytes: number;
  readonly entries: number;
  readonly readers: number;
  /** The arena's bytes, and where it begins in the buffer. */
  readonly arena: number;
  readonly dataOffset: number;

  /** The views of a ring's buffer whose header is whole (made by `FrameRing.create`, or checked by `attach`). */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.words = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.readerWords = new Int32Array(buffer, READER_OFFSET, MAX_READERS * READER_WORDS);
    this.readers = this.words[W_READERS];
    this.slots = this.words[W_SLOTS];
    this.slotBytes = this.words[W_SLOT_BYTES];
    this.entries = this.words[W_ENTRIES];
    this.arena = this.words[W_ARENA_BYTES] * ALIGN;
    this.dataOffset = this.words[W_DATA_OFFSET];
    this.meta = new Float64Array(buffer, META_OFFSET, (this.entries * META_BYTES) / 8);
    this.bytes = new Uint8Array(buffer);
  }

  /** Index of word `word` of `reader`'s block. */
  r(word: number, reader: number): number {
    return reader * READER_WORDS + word;
  }

  // Spin locks guard a few loads and stores each, on any thread (the main one included, which
  // cannot block on Atomics.wait in every host); they are never held across a call that waits.
  lockReader(reader: number): void {
    const at = this.r(R_LOCK, reader);
    while (Atomics.compareExchange(this.readerWords, at, 0, 1) !== 0);
  }

  unlockReader(reader: number): void {
    Atomics.store(this.readerWords, this.r(R_LOCK, reader), 0);
  }

  // The tail lock: the tail, its entry and the count of pictures freed move only under it. Taken
  // before a reader's lock, never after one.
  lockTail(): void {
    while (Atomics.compareExchange(this.words, W_TAIL_LOCK, 0, 1) !== 0);
  }

  unlockTail(): void {
    Atomics.store(this.words, W_TAIL_LOCK, 0);
  }

  /**
   * `reader` leaves: the ring stops waiting for it. The pictures before its cursor are kept in its
   * block, so that a rejoin can count those it missed. Under the tail lock: the pictures before
   * the tail are W_PICTURES_READ, and those from the tail to its cursor are still in their entries.
   */
  leave(reader: number): void {
    const w = this.words;
    const rw = this.readerWords;
    this.lockTail();
    this.lockReader(reader);
    if (Atomics.load(rw, this.r(R_STATE, reader)) === READER_ACTIVE) {
      const tail = Atomics.load(w, W_READ);
      const cursor = Atomics.load(rw, this.r(R_CURSOR, reader));
      let before = Atomics.load(w, W_PICTURES_READ);
      let slot = Atomics.load(w, W_READ_SLOT);
      for (let item = tail; ((cursor - item) | 0) > 0; item = (item + 1) | 0) {
        if (isPicture(this.meta[slot * (META_BYTES / 8) + M_KIND])) before++;
        slot = (slot + 1) % this.entries;
      }
      Atomics.store(rw, this.r(R_LEFT_AT, reader), before);
    }
    Atomics.store(rw, this.r(R_HOLDING, reader), 0);
    Atomics.store(rw, this.r(R_STATE, reader), READER_DETACHED);
    this.unlockReader(reader);
    this.unlockTail();
  }

  /**
   * A detached `reader` becomes active again where it left off if that is still in the ring,
   * else at the tail, the oldest item the others still hold (never ahead of them, which would make
   * them look slow to a 'drop' policy). The pictures between are counted as dropped. Under the
   * tail lock, which the tail and the count of pictures freed move under.
   */
  rejoin(reader: number): void {
    const w = this.words;
    const rw = this.readerWords;
    this.lockTail();
    this.lockReader(reader);
    try {
      if (Atomics.load(rw, this.r(R_STATE, reader)) !== READER_DETACHED) return;
      const tail = Atomics.load(w, W_READ);
      if (((Atomics.load(rw, this.r(R_CURSOR, reader)) - tail) | 0) < 0) {
        const missed = (Atomics.load(w, W_PICTURES_READ) - Atomics.load(rw, this.r(R_LEFT_AT, reader))) | 0;
        Atomics.add(rw, this.r(R_DROPPED, reader), Math.max(0, missed));
        Atomics.store(rw, this.r(R_CURSOR, reader), tail);
        Atomics.store(rw, this.r(R_SLOT, reader), Atomics.load(w, W_READ_SLOT));
        // Compressed video resumes at a keyframe.
        Atomics.store(rw, this.r(R_NEED_KEY, reader), 1);
      }
      Atomics.store(rw, this.r(R_HOLDING, reader), 0);
      Atomics.store(rw, this.r(R_OWNER, reader), 0);
      Atomics.store(rw, this.r(R_STATE, reader), READER_ACTIVE);
    } finally {
      this.unlockReader(reader);
      this.unlockTail();
    }
  }

  /** Pictures (frames and video packets) committed and not yet freed. */
  pictures(): number {
    return (Atomics.load(this.words, W_PICTURES_WRITTEN) - Atomics.load(this.words, W_PICTURES_READ)) | 0;
  }

  /** Wakes whoever waits on the ring: every change of state goes through here. */
  signal(): void {
    Atomics.add(this.words, W_EVENTS, 1);
    Atomics.notify(this.words, W_EVENTS);
  }

  /** The moment `timeoutMs` from now (Infinity without one). */
  deadline(timeoutMs: number | undefined): number {
    if (timeoutMs === undefined) return Infinity;
    return performance.now() + check.number(timeoutMs, 'timeoutMs', 0, 2 ** 31);
  }

  /** Blocks until the events word moves from `events`, or throws ERR_TIMEOUT past `deadline`. */
  wait(events: number, deadline: number, what: string, why: string): void {
    const remaining = deadline === Infinity ? Infinity : deadline - performance.now();
    if (remaining <= 0) throwTimeout(what, why);
    Atomics.wait(this.words, W_EVENTS, events, remaining);
  }

  /**
   * Frees the items every active reader has moved past: their bytes go back to the producer. Any
   * thread may call it; the tail lock makes one free each item.
   */
  advanceTail(): void {
    const w = this.words;
    const rw = this.readerWords;
    this.lockTail();
    try {
      for (;;) {
        const tail = Atomics.load(w, W_READ);
        if (((Atomics.load(w, W_WRITTEN) - tail) | 0) <= 0) return;
        for (let r = 0; r < this.readers; r++) {
          if (Atomics.load(rw, this.r(R_STATE, r)) === READER_ACTIVE && ((Atomics.load(rw, this.r(R_CURSOR, r)) - tail) | 0) <= 0) return;
        }
        const slot = Atomics.load(w, W_READ_SLOT);
        const reserved = this.meta[slot * (META_BYTES / 8) + M_RESERVED];
        const kind = this.meta[slot * (META_BYTES / 8) + M_KIND];
        Atomics.store(w, W_READ_SLOT, (slot + 1) % this.entries);
        // The counts first, the bytes last: a producer that finds the room must not count the
        // item still in the ring (its depth would read one too many).
        if (isPicture(kind)) Atomics.add(w, W_PICTURES_READ, 1);
        Atomics.add(w, W_READ, 1);
        Atomics.sub(w, W_USED, reserved / ALIGN);
      }
    } finally {
      this.unlockTail();
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
  dropSlowReaders(holdingBackSince: number[]): true | number {
    const w = this.words;
    const rw = this.readerWords;
    const written = Atomics.load(w, W_WRITTEN);
    const tail = Atomics.load(w, W_READ);
    let fastest = Infinity;
    for (let r = 0; r < this.readers; r++) {
      if (Atomics.load(rw, this.r(R_STATE, r)) !== READER_ACTIVE) continue;
      fastest = Math.min(fastest, (written - Atomics.load(rw, this.r(R_CURSOR, r))) | 0);
    }
    let moved = false;
    let recheckAt = Infinity;
    const now = performance.now();
    for (let r = 0; r < this.readers; r++) {
      if (Atomics.load(rw, this.r(R_POLICY, r)) !== SLOW_DROP) continue;
      this.lockReader(r);
      const cursor = Atomics.load(rw, this.r(R_CURSOR, r));
      const pending = (written - cursor) | 0;
      const holdsBack = Atomics.load(rw, this.r(R_STATE, r)) === READER_ACTIVE && Atomics.load(rw, this.r(R_HOLDING, r)) === 0 &&
        cursor === tail && pending > 2 * fastest;
      if (!holdsBack) holdingBackSince[r] = NaN;
      else if (Number.isNaN(holdingBackSince[r] ?? NaN)) holdingBackSince[r] = now;
      const since = holdingBackSince[r];
      if (holdsBack && now - since < DROP_AFTER_MS) recheckAt = Math.min(recheckAt, since + DROP_AFTER_MS);
      if (holdsBack && now - since >= DROP_AFTER_MS) {
        const slot = Atomics.load(rw, this.r(R_SLOT, r));
        const kind = this.meta[slot * (META_BYTES / 8) + M_KIND];
        if (isPicture(kind)) Atomics.add(rw, this.r(R_DROPPED, r), 1);
        if (kind === KIND_VIDEO_PACKET) Atomics.store(rw, this.r(R_NEED_KEY, r), 1);
        Atomics.add(rw, this.r(R_DROPPED_ITEMS, r), 1);
        Atomics.store(rw, this.r(R_SLOT, r), (slot + 1) % this.entries);
        Atomics.store(rw, this.r(R_CURSOR, r), (cursor + 1) | 0);
        moved = true;
      }
      this.unlockReader(r);
    }
    if (moved) this.advanceTail();
    return moved || recheckAt;
  }

  /** Writes the error an abort carries into the error area; false when another abort wrote first. */
  writeError(code: string, message: string, averror: number): boolean {
    const w = this.words;
    // One abort writes the error area: the first to move the code length from 0 claims it. The
    // other side reads the area only after it sees ABORTED, stored last.
    if (Atomics.compareExchange(w, W_ERROR_CODE_BYTES, 0, -1) !== 0) return false;
    const encoder = new TextEncoder();
    const codeBytes = encoder.encode(code).subarray(0, 64);
    const messageBytes = encoder.encode(message).subarray(0, ERROR_BYTES - codeBytes.length);
    this.bytes.set(codeBytes, ERROR_OFFSET);
    this.bytes.set(messageBytes, ERROR_OFFSET + codeBytes.length);
    Atomics.store(w, W_ERROR_MESSAGE_BYTES, messageBytes.length);
    Atomics.store(w, W_ERROR_AVERROR, averror);
    Atomics.store(w, W_ERROR_CODE_BYTES, codeBytes.length);
    Atomics.store(w, W_STATE, ABORTED);
    this.signal();
    return true;
  }

  /** The error an abort carried. */
  carriedError(): StreamcoderError {
    const w = this.words;
    const codeBytes = Atomics.load(w, W_ERROR_CODE_BYTES);
    const messageBytes = Atomics.load(w, W_ERROR_MESSAGE_BYTES);
    const averror = Atomics.load(w, W_ERROR_AVERROR);
    // Copy out of shared memory first: TextDecoder refuses views of a SharedArrayBuffer.
    const text = this.bytes.slice(ERROR_OFFSET, ERROR_OFFSET + Math.max(0, codeBytes) + messageBytes);
    const decoder = new TextDecoder();
    const code = decoder.decode(text.subarray(0, Math.max(0, codeBytes))) || 'ERR_ABORTED';
    const message = decoder.decode(text.subarray(Math.max(0, codeBytes)));
    return new StreamcoderError(message, code, averror === 0 ? undefined : averror);
  }

  stats(): FrameRingStats {
    const w = this.words;
    const written = Atomics.load(w, W_WRITTEN);
    const read = Atomics.load(w, W_READ);
    const state = Atomics.load(w, W_STATE);
    return {
      slots: this.slots,
      slotBytes: this.slotBytes,
      entries: this.entries,
      depth: (written - read) | 0,
      pictures: this.pictures(),
      bytesInUse: Atomics.load(w, W_USED) * ALIGN,
      maxDepth: Atomics.load(w, W_MAX_DEPTH),
      written,
      read,
      producerWaits: Atomics.load(w, W_PRODUCER_WAITS),
      consumerWaits: Atomics.load(w, W_CONSUMER_WAITS),
      state: state === OPEN ? 'open' : state === CLOSED ? 'closed' : 'aborted',
      readers: Array.from({ length: this.readers }, (_, r) => {
        const rw = this.readerWords;
        return {
          pending: Math.max(0, (written - Atomics.load(rw, this.r(R_CURSOR, r))) | 0),
          dropped: Atomics.load(rw, this.r(R_DROPPED, r)),
          droppedItems: Atomics.load(rw, this.r(R_DROPPED_ITEMS, r)),
          waits: Atomics.load(rw, this.r(R_WAITS, r)),
          onSlow: Atomics.load(rw, this.r(R_POLICY, r)) === SLOW_DROP ? 'drop' as const : 'wait' as const,
          state: Atomics.load(rw, this.r(R_STATE, r)) === READER_ACTIVE ? 'active' as const : 'detached' as const,
        };
      }),
    };
  }
}

export function throwTimeout(what: string, why: string): never {
  throw fail('ERR_TIMEOUT', `${what}: ${why} within the timeout`);
}
