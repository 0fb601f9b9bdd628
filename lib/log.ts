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

const LEVEL_NAMES = new Map<number, LogLevel>(Object.entries(AV_LOG).map(([name, level]) => [level, name as LogLevel]));

/** Names FFmpeg's numeric levels (panic and fatal count as error, verbose and trace as debug). */
function levelName(level: number): LogLevel {
  if (LEVEL_NAMES.has(level)) return LEVEL_NAMES.get(level)!;
  return level <= AV_LOG.error ? 'error' : level <= AV_LOG.info ? 'info' : 'debug';
}

/**
 * Receives FFmpeg's log lines (those at or above the level set with {@link setLogLevel}) instead
 * of stderr; `null` restores stderr. Lines logged on FFmpeg's own threads arrive on this thread's
 * event loop. The secrets of URLs are already masked (see `redactUrl`), and so are the stream names
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

/** Versions of the FFmpeg libraries the addon runs with. */
export function ffmpegVersions(): Record<string, string> {
  return native.versions();
}
