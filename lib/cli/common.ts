// What every command shares: its options for output and logging, and the context it runs in.
import type { OptionSpec, ParsedValue } from './args';
import { LOG_LEVELS } from '../log';

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  quiet: { type: 'flag', description: 'no progress output' },
  json: { type: 'flag', description: 'machine-readable output (progress: one JSON object per second)' },
  // quiet by default: errors already quote FFmpeg's own explanation.
  'log-level': { type: 'string', description: "FFmpeg's own log on stderr", choices: LOG_LEVELS, default: 'quiet' },
  verbose: { type: 'flag', description: 'stack traces with errors' },
  help: { type: 'flag', description: 'show this help' },
};

export interface CommandContext {
  positionals: string[];
  options: Record<string, ParsedValue | undefined>;
  /** Aborted on Ctrl-C (SIGINT) or SIGTERM: stop, flush, close, then return. */
  signal: AbortSignal;
  out: NodeJS.WriteStream;
}

export type CommandRun = (context: CommandContext) => Promise<void>;
