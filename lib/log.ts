// FFmpeg's log: its level, and a callback that receives its lines (masked) instead of stderr.
import { native } from './binding';
import * as check from './validate';

/** FFmpeg's log levels, from silent to the most verbose. */
export const LOG_LEVELS = ['quiet', 'panic', 'fatal', 'error', 'warning', 'info', 'verbose', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// FFmpeg's AV_LOG_* numbers.
const AV_LOG: Record<LogLevel, number> = {
  quiet: -8, panic: 0, fatal: 8, error: 16, warning: 24, info: 32, verbose: 40, debug: 48, trace: 56,
};

/**
 * How much of FFmpeg's own log is printed to stderr: `quiet`, `panic`, `fatal`, `error`, `warning`,
 * `info`, `verbose`, `debug` or `trace` (FFmpeg's AV_LOG_* levels). Default `quiet`: errors reach you as
 * StreamcoderError messages (which quote FFmpeg's last error line) instead.
 *
 * @example
 * setLogLevel('warning');
 */
export function setLogLevel(level: LogLevel): void {
  native.setLogLevel(AV_LOG[check.oneOf(level, 'level', LOG_LEVELS)]);
}

// The levels a line can have (all but quiet), most severe first.
const REPORTED = LOG_LEVELS.filter((name) => name !== 'quiet');

/**
 * Names FFmpeg's numeric level: each AV_LOG_* number is its own name (0 panic, 8 fatal, 16 error,
 * 24 warning, 32 info, 40 verbose, 48 debug, 56 trace). A number between two is named by the
 * first level that prints it (20: warning); the colour bits above the low byte are ignored.
 */
export function levelName(level: number): LogLevel {
  const value = level < 0 ? 0 : level & 0xff;
  return REPORTED.find((name) => value <= AV_LOG[name]) ?? 'trace';
}

/**
 * Receives FFmpeg's log lines (those at or above the level set with {@link setLogLevel}) instead
 * of stderr; `null` restores stderr. `level` names FFmpeg's level exactly (`panic` ... `trace`).
 * Lines logged on FFmpeg's own threads arrive on this thread's event loop. The secrets of URLs are already masked (see `redactUrl`), and so are the stream names
 * and tokens of the URLs a Server or Client has open, where FFmpeg prints them alone.
 *
 * @example
 * setLogLevel('info');
 * onLog((level, line) => myLogger[level === 'error' ? 'error' : 'info'](line));
 */
export function onLog(callback: ((level: LogLevel, line: string) => void) | null): void {
  if (callback !== null && typeof callback !== 'function') throw check.invalid('callback', 'a function or null', callback);
  native.setLogCallback(callback === null ? null : (level, line) => callback(levelName(level), line));
}
