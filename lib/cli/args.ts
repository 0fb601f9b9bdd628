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
  /** May be given again: the values, in order, as a list (empty when absent). Strings only. */
  repeatable?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  positionals: string[];
  options: Record<string, OptionSpec>;
  /**
   * An option that may repeat and opens a group: `--output URL` followed by the options of that
   * output alone (`scoped`), up to the next `--output`. What comes before the first group belongs
   * to the command (and to its own first output). The command's other options are taken wherever
   * they stand, except the `shared` ones.
   */
  group?: {
    option: string;
    description: string;
    scoped: readonly string[];
    /**
     * Settings every output shares (one frame rate for all): after an `--output` they would read
     * as that output's alone, so they must come before the first one.
     */
    shared: readonly string[];
  };
}

/** A size from --size: a side left out (given as -1 or -2) keeps the aspect ratio. */
export type Size = { width?: number; height?: number };
export type ParsedValue = string | number | boolean | Size | string[];
export interface Parsed {
  positionals: string[];
  options: Record<string, ParsedValue | undefined>;
  /** Each `group` option given, in order: its value and the scoped options after it (no defaults filled in). */
  groups: { value: string; options: Record<string, ParsedValue | undefined> }[];
}

/** The option an argument names (`--no-x` naming the flag `x`), or null when it names none of `spec`'s. */
function optionNamed(spec: CommandSpec, arg: string): string | null {
  if (!arg.startsWith('--') || arg === '--') return null;
  const name = arg.slice(2).split('=')[0];
  if (name in spec.options) return name;
  const flag = name.replace(/^no-/, '');
  return name.startsWith('no-') && spec.options[flag]?.type === 'flag' ? flag : null;
}

/**
 * Splits `argv` at each `--<option>` / `--<option>=v` (never after `--`): what precedes the first,
 * then each group. An option of the whole command met inside a group (neither scoped to it nor
 * shared by the outputs) goes to the head, with its value: `--no-realtime` means the same last.
 */
function splitGroups(spec: CommandSpec, group: NonNullable<CommandSpec['group']>, argv: string[]): { head: string[]; groups: string[][] } {
  const head: string[] = [];
  const groups: string[][] = [];
  let current = head;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      current.push(...argv.slice(i));
      break;
    }
    if (arg === `--${group.option}` || arg.startsWith(`--${group.option}=`)) {
      current = [arg];
      groups.push(current);
      continue;
    }
    const name = current === head ? null : optionNamed(spec, arg);
    if (name !== null && !group.scoped.includes(name) && !group.shared.includes(name)) {
      const takesValue = spec.options[name].type !== 'flag' && !arg.includes('=');
      head.push(...argv.slice(i, takesValue ? i + 2 : i + 1));
      if (takesValue) i++;
      continue;
    }
    current.push(arg);
  }
  return { head, groups };
}

function parseGroup(spec: CommandSpec, group: NonNullable<CommandSpec['group']>, argv: string[]): Parsed['groups'][number] {
  const [first, ...rest] = argv;
  const inline = first.includes('=') ? first.slice(first.indexOf('=') + 1) : undefined;
  const value = inline ?? rest.shift();
  if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${group.option} needs a value`);
  const options: Record<string, OptionSpec> = {};
  for (const name of group.scoped) options[name] = { ...spec.options[name], default: undefined };
  const sub: CommandSpec = { ...spec, name: spec.name, positionals: [], options, group: undefined };
  try {
    const parsed = parse(sub, rest);
    // Only what was given: the caller fills in the rest (a flag left out is not `false`).
    const given = new Set(rest.filter((arg) => arg.startsWith('--')).map((arg) => arg.slice(2).split('=')[0].replace(/^no-(?=.)/, '')));
    return { value, options: Object.fromEntries(Object.entries(parsed.options).filter(([name]) => given.has(name))) };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    // What a group cannot take, said plainly: a setting every output shares, or a second URL.
    const unknown = /unknown option (--\S+)/.exec(error.message);
    const shared = unknown ? optionNamed(spec, unknown[1]) : null;
    if (shared !== null) {
      throw new UsageError(`--${shared} applies to every output: give it before the first --${group.option} (an --${group.option} takes ${group.scoped.map((n) => `--${n}`).join(', ')})`);
    }
    // A second word where the group takes none: the group's own parse found too many positionals.
    if (error.message.startsWith(`'${spec.name}' expects`)) {
      throw new UsageError(`unexpected '${rest.find((arg) => !arg.startsWith('--'))}' after --${group.option} ${value} (one URL per --${group.option})`);
    }
    throw error;
  }
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
  if (spec.group) {
    const group = spec.group;
    const { head, groups } = splitGroups(spec, group, argv);
    const parsed = parse({ ...spec, group: undefined }, head);
    return { ...parsed, groups: groups.map((g) => parseGroup(spec, group, g)) };
  }
  const positionals: string[] = [];
  const options: Record<string, ParsedValue | undefined> = {};
  const given = new Set<string>();
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = option.type === 'flag' ? (option.default ?? false) : option.repeatable ? [] : option.default;
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
    const value = convert(name, option, raw);
    options[name] = option.repeatable ? [...(options[name] as string[]), value as string] : value;
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
  return { positionals, options, groups: [] };
}

export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: ${spec.usage}`, '', spec.summary, '', 'Options:'];
  for (const [name, option] of Object.entries(spec.options)) {
    const value = option.type === 'flag' ? '' : ` <${option.type === 'size' ? 'WxH' : option.type}>`;
    const extra = option.choices ? ` (${option.choices.join('|')})` : '';
    const fallback = option.default !== undefined && option.type !== 'flag' ? ` [default: ${option.default}]` : option.repeatable ? ' (repeatable)' : '';
    lines.push(`  --${name}${value}`.padEnd(28) + `${option.description}${extra}${fallback}`);
  }
  if (spec.group) {
    lines.push(`  --${spec.group.option} <url>`.padEnd(28) + spec.group.description);
    lines.push(''.padEnd(28) + `(repeatable; after it: ${spec.group.scoped.map((n) => `--${n}`).join(', ')})`);
    if (spec.group.shared.length > 0) {
      lines.push(''.padEnd(28) + `${spec.group.shared.map((n) => `--${n}`).join(', ')}: before the first --${spec.group.option}; other options anywhere`);
    }
  }
  return lines.join('\n');
}
