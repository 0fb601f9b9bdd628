export { Decoder, type DecoderOptions } from './decoder';
export { Server } from './server';
export { Encoder } from './encoder';
export type { WriterOptions } from './writer-options';
export type { WriterStats, FrameInput } from './frame-writer';
export { StreamcoderError, type ErrorCode } from './errors';
export { setLogLevel, onLog, ffmpegVersions, LOG_LEVELS, type LogLevel } from './log';
export { PIXEL_FORMATS, type PixelFormat, type Frame, type FrameInfo, type StreamInfo, type Rational } from './types';
export { redactUrl } from './redact';
