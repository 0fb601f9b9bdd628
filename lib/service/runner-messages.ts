// What the service and a stream's process (stream-runner.ts) say to each other over IPC, apart
// from the runner itself, which starts running when it is loaded: the supervisor imports this.
import type { OutputRetry } from '../pipeline';
import type { StreamProgress } from './run-pipeline';
import type { StreamSpec } from './spec';
import type { RunBounds } from './spec-values';

/** `threads`: each codec's thread count (0: FFmpeg chooses), see thread-budget.ts. */
export type ToRunner = { type: 'start'; spec: StreamSpec; retry: OutputRetry; bounds: RunBounds; threads: number } | { type: 'stop' } | { type: 'deadline'; until: number };
export type FromRunner =
  | { type: 'progress'; progress: StreamProgress }
  /** A JPEG of what the stream sends (base64), every few seconds. */
  | { type: 'thumbnail'; jpeg: string }
  | { type: 'done'; frames: number }
  | { type: 'stopped'; frames: number }
  | { type: 'error'; message: string; code: string };

/** The exit code of a run that ended itself at its deadline (the supervisor does not retry it). */
export const DEADLINE_EXIT_CODE = 75;
