// How many codec threads a stream's decoder and encoders get. N stream processes each starting
// FFmpeg's default (about 1.5 x cores threads per codec) oversubscribe a machine of few cores:
// every thread waits on the others and every codec keeps a frame per thread. A service knows
// how many streams it runs, so it shares the cores among them instead: a stream gets the cores
// divided by the streams running when it starts (at least 1), which is 1 thread per codec once
// there are as many streams as cores, the parallelism then coming from the streams themselves.
import os from 'node:os';

export type StreamThreads = 'auto' | number;

export class ThreadBudget {
  #running = 0;

  /** `setting`: 'auto' (shared as above), or a fixed count per codec (0: FFmpeg chooses, as the CLI does). */
  constructor(readonly setting: StreamThreads = 'auto', readonly cores = os.availableParallelism()) {}

  /** A stream's process starts: the threads each of its codecs gets. Pair with {@link release}. */
  acquire(): number {
    this.#running++;
    if (this.setting !== 'auto') return this.setting;
    return Math.max(1, Math.floor(this.cores / this.#running));
  }

  /** A stream's process ended. */
  release(): void {
    this.#running = Math.max(0, this.#running - 1);
  }

  get running(): number {
    return this.#running;
  }
}
