// Argument checks with one message shape: "Expected <what> for <name> but received <value>".
// Everything is checked here, before the native layer sees it.
import { StreamcoderError, type ErrorCode } from './errors';
import { redactUrl } from './redact';

/** Control characters shown as escapes (`\0`, `\x1b`), so a message never carries them raw. */
function escapeControls(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\0' ? '\\0' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

function describe(value: unknown): string {
  // Escaped first (a raw NUL or newline would end a URL early, leaving what follows unmasked),
  // then the URL's secrets masked, then cut: no part of a key survives.
  if (typeof value === 'string') {
    const shown = redactUrl(escapeControls(value));
    return `'${shown.length > 40 ? `${shown.slice(0, 40)}...` : shown}'`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of ${value.byteLength} bytes`;
  return Array.isArray(value) ? 'an array' : `a ${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`;
}

export function invalid(name: string, expected: string, value: unknown, code: ErrorCode = 'ERR_INVALID_ARGUMENT'): StreamcoderError {
  return refused(name, expected, describe(value), code);
}

/** `invalid` with the received value already put in words (`'1/1000000'`, `a string of 12 characters`). */
export function refused(name: string, expected: string, received: string, code: ErrorCode = 'ERR_INVALID_ARGUMENT'): StreamcoderError {
  return new StreamcoderError(`Expected ${expected} for ${name} but received ${received}`, code);
}

export function optionsObject<T extends object>(value: T | undefined, name = 'options'): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(name, 'an object', value);
  return value;
}

/**
 * A non-empty string for FFmpeg (a path, URL, codec, preset, format name...). FFmpeg reads C
 * strings, so an embedded NUL would silently cut it (`'libx264\0evil'` would open libx264):
 * refused. The native layer refuses the same.
 */
export function string(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(name, 'a non-empty string', value);
  if (value.includes('\0')) throw invalid(name, 'a string without NUL characters', value);
  return value;
}

export function integer(value: unknown, name: string, min: number, max: number, code?: ErrorCode): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `an integer from ${min} to ${max}`, value, code);
  }
  return value;
}

export function number(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(name, `a number from ${min} to ${max}`, value);
  }
  return value;
}

export function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalid(name, 'a boolean', value);
  return value;
}

export function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw invalid(name, `one of ${allowed.join(', ')}`, value);
  }
  return value as T;
}

/**
 * libav option dictionaries: values may be strings, numbers or booleans; all become strings.
 * Names and values with an embedded NUL are refused (see {@link string}); a refused value is not
 * echoed, as option values are often secrets (a passphrase, an Authorization header).
 */
export function dictionary(value: unknown, name: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(name, 'an object of option names to values', value);
  }
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (key.length === 0 || key.includes('\0')) throw invalid(`an option name of ${name}`, 'a non-empty name without NUL characters', key);
    if (typeof entry === 'string' && entry.includes('\0')) {
      throw refused(`${name}.${key}`, 'a value without NUL characters', `a string of ${entry.length} characters with a NUL at ${entry.indexOf('\0')}`);
    }
    if (typeof entry === 'string') out[key] = entry;
    else if (typeof entry === 'number' && Number.isFinite(entry)) out[key] = String(entry);
    else if (typeof entry === 'boolean') out[key] = entry ? '1' : '0';
    else throw invalid(`${name}.${key}`, 'a string, number or boolean', entry);
  }
  return out;
}

export function bytes(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(name, 'a Uint8Array', value);
  return value;
}

/**
 * The latest time on any timeline, in seconds: 10^9 (about 31.7 years), beyond any stream's life,
 * so that no deadline or timestamp arithmetic can overflow (in nanoseconds it stays below 10^18;
 * int64 holds 9.2 x 10^18). A Frame whose `index` would put it later on a writer's timeline is
 * refused, and so are a `startTime` or `seek` beyond it. The native layer enforces the same.
 */
export const MAX_TIMELINE_SECONDS = 1e9;

/** Largest side the library accepts for any picture (the native layer enforces the same). */
export const MAX_DIMENSION = 16384;
/** Most pixels of any picture: 2^27 (native/base/bounds.h kMaxPixels). */
export const MAX_PIXELS = 2 ** 27;

/** Bounds of the numbers the native layer also enforces: bit rates (100 Gbit/s), threads, timeouts (a day). */
export const MAX_BIT_RATE = 1e11;
export const MAX_THREADS = 64;
export const MAX_TIMEOUT_MS = 86_400_000;

/**
 * Bounds of audio the library delivers or takes (the native layer enforces the same): sample
 * rates from 8 kHz to 384 kHz, 1 to 64 channels (libswresample's own limit).
 */
export const MIN_SAMPLE_RATE = 8000;
export const MAX_SAMPLE_RATE = 384_000;
export const MAX_CHANNELS = 64;

export function dimension(value: unknown, name: string): number {
  return integer(value, name, 1, MAX_DIMENSION, 'ERR_DIMENSIONS');
}

/** True for URLs of network protocols (everything but plain paths and file:). */
export function isNetworkUrl(source: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(source);
  return scheme !== null && scheme[1].toLowerCase() !== 'file';
}

/** "2M" -> 2000000, "500k" -> 500000, "1.5M" -> 1500000, "800000" -> 800000; null if not one. */
export function parseBitRate(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(text);
  if (!match) return null;
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[match[2].toLowerCase()]!;
  return Math.round(Number(match[1]) * scale);
}

/** A bit rate as bits per second, or a string such as '2M' or '800k'. */
export function bitRate(value: unknown, name: string): number {
  const bits = typeof value === 'string' ? parseBitRate(value) : value;
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > MAX_BIT_RATE) {
    throw invalid(name, "a bit rate in bits per second (or a string such as '2M')", value);
  }
  return bits;
}

/** Names users reach for (FFmpeg's flags, the CLI's options) and the option they mean. */
const OPTION_ALIASES: Record<string, string> = {
  gop: 'gopSize', g: 'gopSize', keyint: 'gopSize',
  fps: 'frameRate', r: 'frameRate', rate: 'frameRate', framerate: 'frameRate',
  bframes: 'maxBFrames', bf: 'maxBFrames',
  b: 'bitRate', bitrate: 'bitRate', 'b:v': 'bitRate',
  maxrate: 'maxBitRate', bufsize: 'bufSize',
  pix_fmt: 'pixelFormat', pixfmt: 'pixelFormat',
  vcodec: 'codec', 'c:v': 'codec', encoder: 'codec',
  timeout: 'timeoutMs', ss: 'startTime', start: 'startTime', seek: 'startTime',
  w: 'width', h: 'height', cache: 'cacheSize', buffer: 'cacheSize',
  frames: 'maxFrames', ring: 'slots', retry: 'retries', backoff: 'backoffMs',
};

/** Edits (insertion, deletion, substitution, swap of neighbours) from `a` to `b`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known option `key` most likely stands for, or undefined. */
export function suggestOption(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameCase = known.find((k) => k.toLowerCase() === lower);
  if (sameCase) return sameCase;
  const alias = OPTION_ALIASES[lower];
  if (alias !== undefined && known.includes(alias)) return alias;
  // A name cut short (`retry` for `retries`), when only one known name starts so.
  const longer = lower.length >= 3 ? known.filter((k) => k.toLowerCase().startsWith(lower)) : [];
  if (longer.length === 1) return longer[0];
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  // Close enough to be a typo: at most 2 edits, and fewer than a third of the name.
  return bestDistance <= Math.min(2, Math.floor(lower.length / 3)) ? best : undefined;
}

/**
 * Refuses keys of `options` that are not in `known` (a misspelt option would otherwise do nothing
 * at all), naming the closest known one: "Unknown option 'bitrate' for Server.open; did you mean
 * 'bitRate'?". `hint` ends the message when nothing is close.
 */
export function knownOptions(options: object, known: readonly string[], where: string, hint?: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const suggestion = suggestOption(key, known);
    const shown = describe(key);
    const tail = suggestion ? `; did you mean '${suggestion}'?` : hint ? ` (${hint})` : ` (known: ${known.join(', ')})`;
    throw new StreamcoderError(`Unknown option ${shown} for ${where}${tail}`, 'ERR_INVALID_ARGUMENT');
  }
}
