// FrameRing: a bounded ring of media items in one SharedArrayBuffer, between worker_threads (see
// frame-ring.ts), and what goes with it.
export { FrameRing } from './frame-ring';
export { MAX_ENTRIES, MAX_READERS, MAX_SLOTS, MAX_SLOT_BYTES } from './layout';
export {
  frameBytes,
  type AttachOptions, type AudioReadSlot, type CommitInfo, type FrameRingOptions, type FrameRingStats, type PacketReadSlot,
  type ReaderStats, type ReadSlot, type RingItem, type WriteSlot,
} from './types';
