export { Decoder, type DecoderOptions } from './decoder';
export { StreamcoderError, type ErrorCode } from './errors';
export { setLogLevel, ffmpegVersions, LOG_LEVELS, type LogLevel } from './log';
export { PIXEL_FORMATS, type PixelFormat, type Frame, type FrameInfo, type StreamInfo, type Rational } from './types';
export { FrameRing, frameBytes, MAX_SLOTS, MAX_SLOT_BYTES, type FrameRingOptions, type FrameRingStats, type WriteSlot, type ReadSlot, type CommitInfo } from './ring';
export { pipeline, type PipelineOptions, type PipelineProgress, type PipelineStats } from './pipeline';
