// What a FrameRing holds and gives, as its users see it: the options it is made and attached with,
// the descriptions committed with an item, the items read back, its counters; and frameBytes, the
// size of one packed picture, which sizes its slots.
import type { AudioFrame, Frame, FrameInfo, Packet, PixelFormat } from '../types';
import * as check from '../validate';

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
