// A small, strict command-line parser: every option is declared with its type, unknown options
// and bad values are usage errors (exit code 2) with one clear line.

import { MAX_BIT_RATE, MAX_DIMENSION, parseBitRate } from '../validate';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type OptionType = 'string' | 'integer' | 'number' | 'time' | 'bitrate' | 'size' | 'flag';

export interface OptionSpec {
  type: OptionType;
  description: string;
  /** One of these values only (for strings). */
  choices?: readonly string[];
  /** Shown in help; also the value when the option is absent (flags default to false). */
  default?: string | number | boolean;
  /**
   * Bounds of an integer, number or time, both included (`min` defaults to 0): a value out of
   * them is a usage error here, not the library's error later.
   */
  min?: number;
  max?: number;
  /** `min` itself is refused too (a duration must be more than 0). */
  aboveMin?: boolean;
  /** Another option without which this one would be ignored (--maxrate needs --bufsize). */
  requires?: string;
  /** Options that mean nothing with this one given (--copy encodes nothing: no --bitrate). */
  excludes?: string[];
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  positionals: string[];
  options: Record<string, OptionSpec>;
}

/** A size from --size: a side left out (given as -1 or -2) keeps the aspect ratio. */
export type Size = { width?: number; height?: number };
export type ParsedValue = string | number | boolean | Size;
export interface Parsed {
  positionals: string[];
  options: Record<string, ParsedValue | undefined>;
}

/** "from 0 to 64", ">= 1", "> 0 and <= 1000000000": the bounds of `spec` in words. */
function rangeWords(spec: OptionSpec): string {
  // 1/60 as 0.01667: short, and itself in range.
  const show = (n: number) => String(Number(n.toPrecision(4)));
  const min = spec.min ?? 0;
  if (spec.max === undefined) return `${spec.aboveMin ? '>' : '>='} ${show(min)}`;
  return spec.aboveMin ? `> ${show(min)} and <= ${show(spec.max)}` : `from ${show(min)} to ${show(spec.max)}`;
}

/** Seconds from "90", "90.5", "1:30" or "00:01:30.5" (minutes and seconds below 60 after a colon); null if none. */
export function parseTime(text: string): number | null {
  const parts = text.split(':');
  if (parts.length > 3 || !/^\d+(\.\d+)?$/.test(parts.at(-1)!) || parts.slice(0, -1).some((p) => !/^\d+$/.test(p))) return null;
  const values = parts.map(Number);
  if (values.slice(1).some((v) => v >= 60)) return null;
  return values.reduce((seconds, v) => seconds * 60 + v, 0);
}

function convert(name: string, spec: OptionSpec, raw: string): ParsedValue {
  const fail = (expected: string) => new UsageError(`--${name} expects ${expected}, got '${raw}'`);
  const inRange = (value: number, what: string) => {
    const min = spec.min ?? 0;
    if (!Number.isFinite(value) || value < min || (spec.aboveMin && value === min) || value > (spec.max ?? Infinity)) {
      throw fail(`${what} ${rangeWords(spec)}`);
    }
    return value;
  };
  switch (spec.type) {
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) throw fail(`one of ${spec.choices.join(', ')}`);
      return raw;
    case 'integer':
      return inRange(/^-?\d+$/.test(raw) && Number.isSafeInteger(Number(raw)) ? Number(raw) : NaN, 'an integer');
    case 'number':
      return inRange(raw.trim() === '' ? NaN : Number(raw), 'a number');
    case 'time':
      return inRange(parseTime(raw) ?? NaN, 'a time (seconds, or [hh:]mm:ss[.ms])');
    case 'bitrate': {
      const value = parseBitRate(raw);
      if (value === null || value < 1 || value > MAX_BIT_RATE) throw fail('a bit rate such as 2M, 800k or 1500000 (at most 100G)');
      return value;
    }
    case 'size': {
      // -1 and -2 (ffmpeg's "keep the aspect ratio", and "... even") both leave the side to the
      // Decoder, which derives it from the other and rounds it to even, as -2 does.
      const match = /^(-?\d+)x(-?\d+)$/.exec(raw);
      const side = (text: string) => (text === '-1' || text === '-2' ? undefined : Number(text));
      const [width, height] = match ? [side(match[1]), side(match[2])] : [NaN, NaN];
      const bad = (v: number | undefined) => v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= MAX_DIMENSION);
      if (bad(width) || bad(height) || (width === undefined && height === undefined)) {
        throw fail(`a size such as 1280x720, or 640x-1 to keep the aspect ratio (sides up to ${MAX_DIMENSION})`);
      }
      return { width, height };
    }
    case 'flag':
      throw fail('no value');
  }
}

export function parse(spec: CommandSpec, argv: string[]): Parsed {
  const positionals: string[] = [];
  const options: Record<string, ParsedValue | undefined> = {};
  const given = new Set<string>();
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = option.type === 'flag' ? (option.default ?? false) : option.default;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    let [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let negated = false;
    if (!(name in spec.options) && name.startsWith('no-') && spec.options[name.slice(3)]?.type === 'flag') {
      name = name.slice(3);
      negated = true;
    }
    const option = spec.options[name];
    if (!option) throw new UsageError(`unknown option --${name} for '${spec.name}' (see streamcoder ${spec.name} --help)`);
    given.add(name);
    if (option.type === 'flag') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      options[name] = !negated;
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value`);
    options[name] = convert(name, option, raw);
  }
  for (const [name, option] of Object.entries(spec.options)) {
    if (option.requires && options[name] !== undefined && options[option.requires] === undefined) {
      throw new UsageError(`--${name} needs --${option.requires} too`);
    }
    const clash = options[name] === true || (option.type !== 'flag' && given.has(name)) ? option.excludes?.find((other) => given.has(other)) : undefined;
    if (clash) throw new UsageError(`--${clash} means nothing with --${name}`);
  }
  if (positionals.length !== spec.positionals.length) {
    throw new UsageError(`'${spec.name}' expects ${spec.positionals.map((p) => `<${p}>`).join(' ')} (see streamcoder ${spec.name} --help)`);
  }
  return { positionals, options };
}

export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.usage}`, '', spec.summary, '', 'Options:'];
  for (const [name, option] of Object.entries(spec.options)) {
    const value = option.type === 'flag' ? '' : ` <${option.type === 'size' ? 'WxH' : option.type}>`;
    const extra = option.choices ? ` (${option.choices.join('|')})` : '';
    const fallback = option.default !== undefined && option.type !== 'flag' ? ` [default: ${option.default}]` : '';
    lines.push(`  --${name}${value}`.padEnd(28) + `${option.description}${extra}${fallback}`);
  }
  return lines.join('\n');
}
