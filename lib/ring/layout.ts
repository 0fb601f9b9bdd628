// The FrameRing's shared memory, word by word: where the header, the reader blocks, the error
// area, the entries' meta blocks and the arena lie in the SharedArrayBuffer, what each control word
// means, and the bounds a ring's shape is held to. Both sides of a ring read the same layout; a
// change to it changes VERSION.

// ---- Layout (version 4). Everything lives in the buffer; nothing else is shared. ----
//
//   [0, 128)          header: 32 Int32 words (below)
//   [128, 1152)       reader blocks: 16 Int32 words (one cache line) for each of MAX_READERS readers
//   [1152, 2176)      error area: the UTF-8 code and message of `abort(error)`
//   [2176, +192*e)    per-entry meta: 16 Float64 + a format name (ASCII, 32 bytes), e entries
//   [dataOffset, ...) the arena: `slots` strides of slotBytes rounded up to 64 (one cache line, so
//                     the two threads never write the same line through neighbouring items)
export const MAGIC = 0x53524e47; // 'SRNG'
export const VERSION = 4;
export const HEADER_BYTES = 128;
export const READER_OFFSET = HEADER_BYTES;
export const READER_WORDS = 16;
export const ERROR_OFFSET = READER_OFFSET + 16 * READER_WORDS * 4;
export const ERROR_BYTES = 1024;
export const META_OFFSET = ERROR_OFFSET + ERROR_BYTES;
export const META_BYTES = 192;
export const META_FORMAT_OFFSET = 128; // the pixel or sample format name inside an entry's meta block
export const META_FORMAT_BYTES = 32;
export const ALIGN = 64;

// Header words.
export const W_MAGIC = 0;
export const W_VERSION = 1;
export const W_SLOTS = 2;
export const W_SLOT_BYTES = 3;
export const W_STRIDE = 4;
export const W_DATA_OFFSET = 5;
// The one futex word: bumped on every commit, release, close and abort, and the only word anyone
// waits on. A waiter reads it, checks its condition, then waits for it to change: whatever
// happens between the check and the wait changes it, so no wake-up is ever lost.
export const W_EVENTS = 6;
export const W_WRITTEN = 7; // items committed since creation (wraps as an Int32; only differences count)
export const W_READ = 8; // items freed since creation: the tail, which every active reader has passed
export const W_STATE = 9;
export const W_PRODUCER_WAITS = 10;
export const W_CONSUMER_WAITS = 11;
export const W_MAX_DEPTH = 12;
export const W_PRODUCER = 13; // id of the FrameRing object that writes, 0 until one does
// (14: the single consumer's id in version 2; readers claim their own block now.)
export const W_ERROR_CODE_BYTES = 15;
export const W_ERROR_MESSAGE_BYTES = 16;
export const W_ERROR_AVERROR = 17;
// Entry cursors, each written by one side only. Kept apart from the counts so that the entry
// sequence stays contiguous when the Int32 counts wrap (2^32 is not a multiple of every size).
export const W_WRITE_SLOT = 18;
export const W_READ_SLOT = 19; // the tail's entry
export const W_ENTRIES = 20;
export const W_ARENA_BYTES = 21; // the arena's size, in units of 64 bytes (so 1024 slots of 1 GiB fit an Int32)
export const W_HEAD = 22; // arena offset of the next free byte, in units of 64 (producer only)
export const W_USED = 23; // arena bytes reserved and not yet released, in units of 64 (add on commit, sub on release)
export const W_SPARE = 24; // arena bytes beyond the `slots` frames (spareBytes), in units of 64
export const W_READERS = 25; // readers the ring was made for
export const W_TAIL_LOCK = 26; // held while one thread frees items at the tail
// Pictures (frames and video packets) committed / freed since creation: the ring holds at most
// `slots` of them, whatever room the spare bytes leave, so that `slots` means what it says.
export const W_PICTURES_WRITTEN = 27;
export const W_PICTURES_READ = 28;

// Reader block words (Int32 indices from the block's start), each reader's own cursor and counts.
// The cursor and `holding` change together under the block's lock: the producer moves a 'drop'
// reader past an item only while that reader does not hold it.
export const R_CURSOR = 0; // items this reader has consumed or been moved past
export const R_SLOT = 1; // the entry of its next item
export const R_LOCK = 2;
export const R_HOLDING = 3; // 1 while it holds its item (between acquireRead and release)
export const R_STATE = 4; // READER_ACTIVE or READER_DETACHED
export const R_POLICY = 5; // SLOW_WAIT or SLOW_DROP
export const R_DROPPED = 6; // pictures (frames or video packets) it was moved past
export const R_DROPPED_ITEMS = 7; // items of any kind it was moved past
export const R_WAITS = 8; // times it found nothing to read and waited
export const R_OWNER = 9; // id of the FrameRing object reading as this reader
export const R_NEED_KEY = 10; // 1 after a drop of compressed video: it skips packets until a keyframe
export const R_LEFT_AT = 11; // pictures before its cursor when it detached: what it missed is counted when it rejoins
export const READER_ACTIVE = 0;
export const READER_DETACHED = 1;
export const SLOW_WAIT = 0;
export const SLOW_DROP = 1;
/**
 * How long a 'drop' reader may hold the others back before it loses items: a reader late by a
 * moment (a busy core, a slower frame) catches up from the ring's slack, which at 8 slots of
 * 30 fps is far more than this.
 */
export const DROP_AFTER_MS = 100;

export const OPEN = 0;
export const CLOSED = 1;
export const ABORTED = 2;

// Meta fields (Float64 indices within an entry's block).
export const M_KIND = 0; // KIND_*
export const M_OFFSET = 1; // arena offset of the item's bytes
export const M_RESERVED = 2; // arena bytes the item holds (padding skipped before it included)
export const M_BYTES = 3; // the item's own bytes
export const M_WIDTH = 4; // frames: width; audio: sample rate
export const M_HEIGHT = 5; // frames: height; audio: channels
export const M_PTS = 6; // NaN for null
export const M_TIME = 7; // NaN for null
export const M_INDEX = 8; // frames: index; audio: samples; packets: dts (NaN for null)
export const M_KEY = 9;
export const M_PICT = 10; // frames: char code of pictType; packets: duration
export const M_TB_NUM = 11; // packets: time base
export const M_TB_DEN = 12;
export const M_STREAM = 13; // packets: which of the producer's streams (a pipeline's audio encodings)

export const KIND_FRAME = 0;
export const KIND_AUDIO = 1;
export const KIND_VIDEO_PACKET = 2;
export const KIND_AUDIO_PACKET = 3;

/** True for the kinds that take a picture's place (at most `slots` of them are in the ring). */
export function isPicture(kind: number): boolean {
  return kind === KIND_FRAME || kind === KIND_VIDEO_PACKET;
}

/** Most slots a ring may have. */
export const MAX_SLOTS = 1024;
/** Largest slot: 1 GiB (a 16384x16384 rgba picture is exactly that). */
export const MAX_SLOT_BYTES = 2 ** 30;
/** Most entries (items at once, of any kind) a ring may have. */
export const MAX_ENTRIES = 16384;
/** Most readers a ring may have. */
export const MAX_READERS = 16;

export const aligned = (bytes: number) => Math.ceil(bytes / ALIGN) * ALIGN;

/** Bytes of the buffer for a ring of that shape. */
export function layout(slots: number, slotBytes: number, entries: number, spareBytes: number): { stride: number; dataOffset: number; arena: number; total: number } {
  const stride = aligned(slotBytes);
  const dataOffset = aligned(META_OFFSET + entries * META_BYTES);
  const arena = slots * stride + aligned(spareBytes);
  return { stride, dataOffset, arena, total: dataOffset + arena };
}
