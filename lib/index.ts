export { Decoder, type DecoderOptions } from './decoder';
export { StreamcoderError, type ErrorCode } from './errors';
export { setLogLevel, onLog, ffmpegVersions, LOG_LEVELS, type LogLevel } from './log';
export { PIXEL_FORMATS, type PixelFormat, type Frame, type FrameInfo, type StreamInfo, type Rational } from './types';
export { redactUrl } from './redact';
