// The live status of a running command: one redrawn line on a terminal, plain key=value lines
// when stdout is a pipe or a file, one JSON object per second with --json, nothing with --quiet.

export interface Status {
  /** Media time pushed/recorded so far, seconds. */
  time: number;
  frames: number;
  /** Frames per second over the last interval. */
  fps: number;
  /** Media time / wall time: 1.00 is real time. */
  speed: number;
  /** Bits per second of the output, or null before it is known. */
  bitRate: number | null;
  /** Frames waiting in the ring between the workers, and its size (push only). */
  depth?: number;
  slots?: number;
  lateFrames: number;
  droppedFrames: number;
}

export type ProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

function clock(seconds: number): string {
  const s = Math.max(0, seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${(s % 60).toFixed(2).padStart(5, '0')}`;
}

function rate(bits: number | null): string {
  if (bits === null) return 'N/A';
  return bits >= 1e6 ? `${(bits / 1e6).toFixed(2)}Mbit/s` : `${(bits / 1e3).toFixed(1)}kbit/s`;
}

export function formatStatus(status: Status): string {
  const parts = [
    `time=${clock(status.time)}`,
    `frames=${status.frames}`,
    `fps=${status.fps.toFixed(1)}`,
    `speed=${status.speed.toFixed(2)}x`,
    `bitrate=${rate(status.bitRate)}`,
  ];
  if (status.depth !== undefined) parts.push(`depth=${status.depth}/${status.slots ?? '?'}`);
  parts.push(`late=${status.lateFrames}`, `drops=${status.droppedFrames}`);
  return parts.join(' ');
}

export class ProgressReporter {
  #last = 0;
  #drawn = false;
  readonly #intervalMs: number;

  constructor(readonly mode: ProgressMode, private readonly out: NodeJS.WriteStream = process.stdout) {
    // A terminal line can change often; lines in a log file every 2 s; JSON once a second.
    this.#intervalMs = mode === 'tty' ? 250 : mode === 'json' ? 1000 : 2000;
  }

  static modeFor(options: { quiet?: boolean; json?: boolean }, out: NodeJS.WriteStream = process.stdout): ProgressMode {
    if (options.quiet) return 'quiet';
    if (options.json) return 'json';
    return out.isTTY ? 'tty' : 'plain';
  }

  /** Reports `status` unless the last report was too recent (or `force`). */
  update(status: Status, force = false): void {
    const now = Date.now();
    if (this.mode === 'quiet' || (!force && now - this.#last < this.#intervalMs)) return;
    this.#last = now;
    if (this.mode === 'json') this.out.write(`${JSON.stringify({ ...status, fps: round(status.fps), speed: round(status.speed) })}\n`);
    else if (this.mode === 'plain') this.out.write(`${formatStatus(status)}\n`);
    else {
      this.out.write(`\r\x1b[K${formatStatus(status)}`);
      this.#drawn = true;
    }
  }

  /** Ends the live line so that what follows starts on a line of its own. */
  finish(): void {
    if (this.#drawn) this.out.write('\n');
    this.#drawn = false;
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
