#!/usr/bin/env node
// streamcoder <command> ...: the command line. Exit codes: 0 done, 1 failed, 2 bad arguments,
// 130 stopped by Ctrl-C (after a clean stop: encoder flushed, connection closed).
import fs from 'node:fs';
import path from 'node:path';
import { StreamcoderError } from '../errors';
import { onLog, setLogLevel, type LogLevel } from '../log';
import { redactUrl } from '../redact';
import { helpText, parse, UsageError, type CommandSpec } from './args';
import type { CommandRun } from './common';
import { probe, probeSpec } from './probe';
import { push, pushSpec } from './push';
import { record, recordSpec } from './record';
import { serve, serveSpec } from './serve';

const COMMANDS: Record<string, { spec: CommandSpec; run: CommandRun }> = {
  push: { spec: pushSpec, run: push },
  probe: { spec: probeSpec, run: probe },
  record: { spec: recordSpec, run: record },
  serve: { spec: serveSpec, run: serve },
};

/** The package's version, from its package.json (two levels up from lib/cli and dist/cli). */
function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

function overview(): string {
  return [
    'Usage: streamcoder <command> [options]',
    '',
    'Commands:',
    ...Object.values(COMMANDS).map(({ spec }) => `  ${spec.name.padEnd(8)} ${spec.summary}`),
    '',
    'Run `streamcoder <command> --help` (or `streamcoder help <command>`) for its options,',
    '`streamcoder --version` for the version.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  // `streamcoder help push` is `streamcoder push --help`.
  if (name === 'help' && rest.length > 0) {
    const topic = COMMANDS[rest[0]];
    if (!topic) {
      process.stderr.write(`streamcoder: unknown command '${rest[0]}'\n${overview()}\n`);
      return 2;
    }
    process.stdout.write(`${helpText(topic.spec)}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`streamcoder: unknown command '${name}'\n${overview()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${helpText(command.spec)}\n`);
    return 0;
  }
  const verbose = rest.includes('--verbose');
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    // First Ctrl-C: stop cleanly. A second one: leave now.
    if (interrupted) process.exit(130);
    interrupted = true;
    controller.abort(new StreamcoderError('Interrupted', 'ERR_ABORTED'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { positionals, options, groups } = parse(command.spec, rest);
    setLogLevel(options['log-level'] as LogLevel);
    // FFmpeg's lines on stderr, each on a line of its own even while a status line is drawn.
    const clear = process.stderr.isTTY && process.stdout.isTTY ? '\r\x1b[K' : '';
    onLog((level, line) => process.stderr.write(`${clear}[ffmpeg ${level}] ${line}\n`));
    await command.run({ positionals, options, groups, signal: controller.signal, out: process.stdout });
    return interrupted ? 130 : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      // A usage error may quote an argument, a URL with its secrets among them.
      process.stderr.write(`streamcoder: ${redactUrl(error.message)}\n`);
      return 2;
    }
    if (interrupted) return 130;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`streamcoder: ${redactUrl(message)}\n`);
    if (verbose && error instanceof Error && error.stack) process.stderr.write(`${redactUrl(error.stack)}\n`);
    return 1;
  } finally {
    onLog(null);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
