// Argument checks with one message shape: "Expected <what> for <name> but received <value>".
// Everything is checked here, before the native layer sees it.
import { StreamcoderError, type ErrorCode } from './errors';

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of ${value.byteLength} bytes`;
  return Array.isArray(value) ? 'an array' : `a ${typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value}`;
}

export function invalid(name: string, expected: string, value: unknown, code: ErrorCode = 'ERR_INVALID_ARGUMENT'): StreamcoderError {
  return new StreamcoderError(`Expected ${expected} for ${name} but received ${describe(value)}`, code);
}

export function optionsObject<T extends object>(value: T | undefined, name = 'options'): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(name, 'an object', value);
  return value;
}

export function string(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(name, 'a non-empty string', value);
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

/** libav option dictionaries: values may be strings, numbers or booleans; all become strings. */
export function dictionary(value: unknown, name: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(name, 'an object of option names to values', value);
  }
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
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

/** Largest side the library accepts for any picture (the native layer enforces the same). */
export const MAX_DIMENSION = 16384;

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
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > 1e11) {
    throw invalid(name, "a bit rate in bits per second (or a string such as '2M')", value);
  }
  return bits;
}
