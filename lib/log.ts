import { native } from './binding';
import * as check from './validate';

export const LOG_LEVELS = ['quiet', 'error', 'warning', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// FFmpeg's AV_LOG_* numbers.
const AV_LOG: Record<LogLevel, number> = { quiet: -8, error: 16, warning: 24, info: 32, debug: 48 };

/**
 * How much of FFmpeg's own log is printed to stderr. Default `quiet`: errors reach you as
 * StreamcoderError messages (which quote FFmpeg's last error line) instead.
 *
 * @example
 * setLogLevel('warning');
 */
export function setLogLevel(level: LogLevel): void {
  native.setLogLevel(AV_LOG[check.oneOf(level, 'level', LOG_LEVELS)]);
}

/** Versions of the FFmpeg libraries the addon runs with. */
export function ffmpegVersions(): Record<string, string> {
  return native.versions();
}
