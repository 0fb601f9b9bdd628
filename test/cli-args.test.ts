// The command-line parser with push's --output groups: where each kind of option may stand. Every
// option of push is tried after an --output, so a new option is classified the day it is added.
import { describe, expect, test } from 'vitest';
import { parse, UsageError, type OptionSpec } from '../lib/cli/args';
import { pushSpec } from '../lib/cli/push';

const INPUT = 'clip.mp4';
const A = 'rtmp://127.0.0.1/live/a';
const B = 'rtmp://127.0.0.1/live/b';
const group = pushSpec.group!;

/** A valid value for an option of this type (the ones with a range take a value inside it). */
function sample(name: string, spec: OptionSpec): string[] {
  switch (spec.type) {
    case 'flag':
      return [`--${name}`];
    case 'string':
      return [`--${name}`, spec.choices?.[0] ?? 'x'];
    case 'integer':
    case 'number':
    case 'time':
      return [`--${name}`, String(Math.max(spec.min ?? 0, 1))];
    case 'bitrate':
      return [`--${name}`, '800k'];
    case 'size':
      return [`--${name}`, '320x180'];
  }
}

function usageError(argv: string[]): string {
  try {
    parse(pushSpec, argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

const wholePush = Object.keys(pushSpec.options).filter((name) => !group.scoped.includes(name) && !group.shared.includes(name));

describe('push: an option of the whole push stands anywhere', () => {
  test("the ladder with --no-realtime last (the shape of the issue that introduced --output)", () => {
    const parsed = parse(pushSpec, [INPUT, A, '--output', B, '--size', '640x360', '--bitrate', '800k', '--no-realtime']);
    expect(parsed.positionals).toEqual([INPUT, A]);
    expect(parsed.options.realtime).toBe(false);
    expect(parsed.groups).toEqual([{ value: B, options: { size: { width: 640, height: 360 }, bitrate: 800_000 } }]);
  });

  test('the run-control options the issue names, mixed into two groups, with = and without', () => {
    const parsed = parse(pushSpec, [
      INPUT, A, '--output', B, '--loop', '--frames', '90', '--bitrate', '800k', '--start=2', '--threads', '2',
      '--output', 'rtmp://127.0.0.1/live/c', '--probe', '0.5', '--json', '--no-audio', '--quiet', '--no-reconnect',
    ]);
    expect(parsed.options).toMatchObject({ loop: true, frames: 90, start: 2, threads: 2, probe: 0.5, json: true, quiet: true, reconnect: false });
    // The groups keep only their own options.
    expect(parsed.groups.map((g) => g.options)).toEqual([{ bitrate: 800_000 }, { audio: false }]);
  });

  test.each(wholePush)('--%s after an --output means what it means before the first', (name) => {
    const args = sample(name, pushSpec.options[name]);
    const before = parse(pushSpec, [INPUT, A, ...args, '--output', B]);
    const after = parse(pushSpec, [INPUT, A, '--output', B, ...args]);
    expect(after.options).toEqual(before.options);
    expect(after.groups).toEqual([{ value: B, options: {} }]);
    if (pushSpec.options[name].type === 'flag') {
      const negated = parse(pushSpec, [INPUT, A, '--output', B, `--no-${name}`]);
      expect(negated.options[name], `--no-${name}`).toBe(false);
    }
  });

  test('--fallback repeats: its values in order, wherever they stand; none is an empty list', () => {
    const parsed = parse(pushSpec, [INPUT, A, '--fallback', 'b.mp4', '--output', B, '--fallback=rtmp://127.0.0.1/live/c']);
    expect(parsed.options.fallback).toEqual(['b.mp4', 'rtmp://127.0.0.1/live/c']);
    expect(parse(pushSpec, [INPUT, A]).options.fallback).toEqual([]);
  });

  test('a value missing at the end is said as it is before the first --output', () => {
    expect(usageError([INPUT, A, '--output', B, '--frames'])).toBe('--frames needs a value');
    expect(usageError([INPUT, A, '--output', B, '--frames', 'many'])).toBe("--frames expects an integer >= 1, got 'many'");
  });
});

describe('push: what cannot stand after an --output says why', () => {
  test.each(group.shared)('--%s (shared by every output) is refused there, naming where it goes', (name) => {
    const message = usageError([INPUT, A, '--output', B, ...sample(name, pushSpec.options[name])]);
    expect(message).toMatch(new RegExp(`^--${name} applies to every output: give it before the first --output`));
    // Before the first --output it is taken.
    expect(() => parse(pushSpec, [INPUT, A, ...sample(name, pushSpec.options[name]), '--output', B])).not.toThrow();
  });

  test('a bad value inside a group is said as the option says it, not taken for a second URL', () => {
    expect(usageError([INPUT, A, '--output', B, '--size', 'abc'])).toBe("--size expects a size such as 1280x720, or 640x-1 to keep the aspect ratio (sides up to 16384), got 'abc'");
    expect(usageError([INPUT, A, '--output', B, '--bitrate', '8x'])).toMatch(/^--bitrate expects a bit rate such as 2M/);
    expect(usageError([INPUT, A, '--output', B, '--size', '640'])).toMatch(/^--size expects a size/);
    // A second word where the group takes none is still a second URL.
    expect(usageError([INPUT, A, '--output', B, 'rtmp://127.0.0.1/live/c'])).toBe(`unexpected 'rtmp://127.0.0.1/live/c' after --output ${B} (one URL per --output)`);
  });

  test('--no-retime (a shared flag, negated) is refused by its name too', () => {
    expect(usageError([INPUT, A, '--output', B, '--no-retime'])).toMatch(/^--retime applies to every output/);
  });

  test('an option push does not have is unknown wherever it stands; so is --no- of an option that is not a flag', () => {
    for (const argv of [[INPUT, A, '--output', B, '--duration', '5'], [INPUT, A, '--duration', '5']]) {
      expect(usageError(argv)).toBe("unknown option --duration for 'push' (see streamcoder push --help)");
    }
    expect(usageError([INPUT, A, '--output', B, '--no-frames'])).toBe("unknown option --no-frames for 'push' (see streamcoder push --help)");
  });

  test('every option of push is classified: scoped to a group, shared, or the whole push', () => {
    for (const name of [...group.scoped, ...group.shared]) expect(pushSpec.options, name).toHaveProperty(name);
    expect(group.scoped.filter((name) => group.shared.includes(name))).toEqual([]);
    expect(wholePush).toEqual(expect.arrayContaining(['realtime', 'loop', 'frames', 'start', 'threads', 'probe', 'json', 'quiet', 'reconnect', 'timeout', 'slots', 'outage-buffer', 'log-level', 'verbose', 'help']));
  });
});
