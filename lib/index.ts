// The package's entry: every public name, from the modules that hold them.
export { Decoder, DEFAULT_MAX_GOP_BYTES, DEFAULT_MAX_PIXELS, MAX_PIXELS, type DecoderOptions } from './decoder';
export type { DecoderAudioOptions, DecoderItem, ItemInfo } from './decoder';
export { Server } from './writer/server';
export { Encoder } from './writer/encoder';
export { AudioEncoder, type AudioEncoderOptions } from './audio-encoder';
export { Client, type ClientOptions, type ClientStats, type ClientEvents } from './client';
export { MIN_FRAME_RATE, MAX_FRAME_RATE, RECONNECT_DEFAULTS, type WriterOptions, type AudioOptions, type ReconnectOptions, type AdaptiveBitRateOptions } from './writer/options';
export { MAX_TIMELINE_SECONDS, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, MAX_CHANNELS } from './validate';
export type { WriterStats, WriterEvents, FrameInput, WriterInput, NamedFormatFrame } from './writer/frame-writer';
export { StreamcoderError, type ErrorCode } from './errors';
export { setLogLevel, onLog, LOG_LEVELS, type LogLevel } from './log';
export { ffmpegVersions, type FfmpegVersions, type FfmpegLibrary } from './versions';
export type { AddonKind } from './load-native';
export {
  PIXEL_FORMATS, SAMPLE_FORMATS, type PixelFormat, type SampleFormat, type Frame, type FrameInfo, type StreamInfo, type Rational,
  type AudioInfo, type AudioFrame, type Packet, type CodecParameters, type MediaItem,
} from './types';
export { redactUrl } from './redact';
export {
  FrameRing, frameBytes, MAX_SLOTS, MAX_SLOT_BYTES, MAX_ENTRIES, MAX_READERS, type FrameRingOptions, type FrameRingStats, type WriteSlot, type ReadSlot,
  type AudioReadSlot, type PacketReadSlot, type RingItem, type CommitInfo, type AttachOptions, type ReaderStats,
} from './ring';
export {
  pipeline, type PipelineAbortError, type PipelineOptions, type PipelineOutput, type PipelineProgress, type PipelineStats, type PipelineAudio,
  type PipelineServerOptions, type OutputProgress, type OutputStats,
} from './pipeline';
export type { FailoverOptions, FailoverStats, InputSwitchEvent } from './pipeline/failover';
export type { ThumbnailOptions } from './pipeline/thumbnails';
