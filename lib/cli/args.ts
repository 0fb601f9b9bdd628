// A small, strict command-line parser: every option is declared with its type, unknown options
// and bad values are usage errors (exit code 2) with one clear line.

export class UsageError extends Error {
  override name = 'UsageError';
}

import { parseBitRate } from '../validate';

export type OptionType = 'string' | 'integer' | 'number' | 'bitrate' | 'size' | 'flag';

export interface OptionSpec {
  type: OptionType;
  description: string;
  /** One of these values only (for strings). */
  choices?: readonly string[];
  /** Shown in help; also the value when the option is absent (flags default to false). */
  default?: string | number | boolean;
  min?: number;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  positionals: string[];
  options: Record<string, OptionSpec>;
}

export type ParsedValue = string | number | boolean | { width: number; height: number };
export interface Parsed {
  positionals: string[];
  options: Record<string, ParsedValue | undefined>;
}

function convert(name: string, spec: OptionSpec, raw: string): ParsedValue {
  const fail = (expected: string) => new UsageError(`--${name} expects ${expected}, got '${raw}'`);
  switch (spec.type) {
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) throw fail(`one of ${spec.choices.join(', ')}`);
      return raw;
    case 'integer': {
      const value = Number(raw);
      if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < (spec.min ?? 0)) throw fail(`an integer >= ${spec.min ?? 0}`);
      return value;
    }
    case 'number': {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value) || value <= (spec.min ?? 0)) throw fail(`a number > ${spec.min ?? 0}`);
      return value;
    }
    case 'bitrate': {
      const value = parseBitRate(raw);
      if (value === null || value <= 0) throw fail('a bit rate such as 2M, 800k or 1500000');
      return value;
    }
    case 'size': {
      const match = /^(\d+)x(\d+)$/.exec(raw);
      if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) throw fail('a size such as 1280x720');
      return { width: Number(match[1]), height: Number(match[2]) };
    }
    case 'flag':
      throw fail('no value');
  }
}

export function parse(spec: CommandSpec, argv: string[]): Parsed {
  const positionals: string[] = [];
  const options: Record<string, ParsedValue | undefined> = {};
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
    if (option.type === 'flag') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      options[name] = !negated;
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new UsageError(`--${name} needs a value`);
    options[name] = convert(name, option, raw);
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
