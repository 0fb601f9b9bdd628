// The live status of a running command: one redrawn line on a terminal, plain key=value lines
// when stdout is a pipe or a file, one JSON object per second with --json, nothing with --quiet;
// and at the end, one summary (a line, or a {"type":"summary"} object).
// Kept in the .d.ts: the published types compile whatever the user's `types` and `lib` say.
/// <reference types="node" preserve="true" />
import type { WriterStats } from '../writer/frame-writer';

export interface Status {
  /** Media time that went out so far, seconds. */
  time: number;
  /** Frames that went out: packets handed to the muxer, not frames handed to the encoder. */
  frames: number;
  /** Frames per second over the last second or more (at the end: over the whole streaming). */
  fps: number;
  /** Media time / wall time: 1.00 is real time. */
  speed: number;
  /** Bits per second of what went out, or null before anything did. */
  bitRate: number | null;
  /** Frames waiting in the ring between the workers, and its size (push only). */
  depth?: number;
  slots?: number;
  lateFrames: number;
  /** Frames that never went out (a full ring, a frame-rate change, an outage the buffer did not cover). */
  droppedFrames: number;
  /** Times the output's server went away and the push reconnected; the link's state when it is not live. */
  reconnects?: number;
  state?: string;
  /** With an adaptive bitrate: the encoder's target now, bits per second. */
  targetBitRate?: number;
  /** Audio packets that went out (encoded or copied) and their bytes; 0 without sound. */
  audioPackets?: number;
  audioBytes?: number;
  /** When the end is known (a file, --frames, --duration): the share done (0-100), and the seconds left (null until a pace is known). */
  percent?: number;
  eta?: number | null;
  /**
   * push with several outputs: each one's figures (the fields above are the first output's).
   * The live line says how many are live and names the others' states.
   */
  outputs?: OutputSummary[];
}

/** How a run ended, for its summary. */
export interface Ending {
  /** What was done: `pushed`, `recorded`. */
  action: string;
  /** Where to: a URL (its secrets masked) or a file. */
  output: string;
  /** Wall-clock seconds of the streaming: first frame to last, opening and the flush at close excluded. */
  seconds: number;
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM before the end. */
  interrupted: boolean;
  /** push: what each thread alone could do. */
  decodeFps?: number;
  pushFps?: number;
  /** push with several outputs: each one's figures. */
  outputs?: OutputSummary[];
}

/** One output of a push with several. */
export interface OutputSummary {
  url: string;
  state: string;
  frames: number;
  /** Pictures it skipped because it fell behind the others. */
  dropped: number;
  bitRate: number | null;
  reconnects: number;
  error?: string;
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
  if (status.audioPackets) parts.push(`audio=${status.audioPackets}`);
  parts.push(`late=${status.lateFrames}`, `drops=${status.droppedFrames}`);
  if (status.targetBitRate) parts.push(`target=${rate(status.targetBitRate)}`);
  if (status.reconnects) parts.push(`reconnects=${status.reconnects}`);
  if (status.state === 'reconnecting') parts.push('RECONNECTING');
  if (status.percent !== undefined) parts.push(`done=${status.percent.toFixed(1)}%`, `eta=${status.eta == null ? 'N/A' : clock(status.eta)}`);
  if (status.outputs) {
    const live = status.outputs.filter((o) => o.state === 'live' || o.state === 'running').length;
    const behind = status.outputs.reduce((sum, o) => sum + o.dropped, 0);
    parts.push(`outputs=${live}/${status.outputs.length}`);
    if (behind) parts.push(`behind-drops=${behind}`);
    for (const [i, o] of status.outputs.entries()) if (o.state === 'failed' || o.state === 'reconnecting') parts.push(`out${i}=${o.state.toUpperCase()}`);
  }
  return parts.join(' ');
}

function formatSummary(s: Status, e: Ending): string {
  const threads = e.decodeFps !== undefined && e.pushFps !== undefined ? ` (decode ${e.decodeFps.toFixed(1)} fps, push ${e.pushFps.toFixed(1)} fps)` : '';
  return `${e.interrupted ? 'interrupted: ' : ''}${e.action} ${s.frames} frames (${clock(s.time)}) to ${e.output} in ${e.seconds.toFixed(1)} s: ` +
    `${s.fps.toFixed(1)} fps, ${s.speed.toFixed(2)}x, ${rate(s.bitRate)}, ${s.audioPackets ? `${s.audioPackets} audio packets, ` : ''}${s.lateFrames} late, ${s.droppedFrames} dropped${s.reconnects ? `, ${s.reconnects} reconnects` : ''}${threads}` +
    (e.outputs ?? []).map((o) => `\n  ${o.url}: ${o.state}, ${o.frames} frames, ${rate(o.bitRate)}, ${o.dropped} dropped behind the others${o.reconnects ? `, ${o.reconnects} reconnects` : ''}${o.error ? `: ${o.error}` : ''}`).join('');
}

/** What went out, from a Server's or Encoder's stats. */
export function sent(stats: WriterStats | null, frameRate: number): Pick<Status, 'frames' | 'time' | 'bitRate' | 'audioPackets' | 'audioBytes'> {
  // A video encoder makes one packet per frame, so packets count the frames that went out;
  // `stats.frames` counts those handed to the encoder, which holds some back (x264's lookahead).
  // For the same reason the bit rate is taken over the media time of the packets, not of the
  // frames given, as the writer's own `bitRate` is.
  const frames = stats?.packets ?? 0;
  const time = frames / frameRate;
  // Sound and pictures: the rate of the whole stream.
  const bytes = (stats?.bytes ?? 0) + (stats?.audioBytes ?? 0);
  return { frames, time, bitRate: frames > 0 ? (bytes * 8) / time : null, audioPackets: stats?.audioPackets ?? 0, audioBytes: stats?.audioBytes ?? 0 };
}

/** The share done and the seconds left, when `total` (in the unit of `done`) is known; `perSecond` is the pace. */
export function completion(done: number, total: number | null, perSecond: number): Pick<Status, 'percent' | 'eta'> {
  if (total === null || !(total > 0)) return {};
  const left = Math.max(0, total - done);
  return { percent: Math.min(100, (100 * done) / total), eta: left === 0 ? 0 : perSecond > 0 ? left / perSecond : null };
}

/** Frames per second over the last second or more: steadier than one report's interval. */
export class FpsMeter {
  #last = { frames: 0, at: 0 };
  #fps = 0;

  /** `frames` so far at `seconds` (on any clock that starts at 0). */
  update(frames: number, seconds: number): number {
    if (seconds - this.#last.at >= 1) {
      this.#fps = (frames - this.#last.frames) / (seconds - this.#last.at);
      this.#last = { frames, at: seconds };
    }
    return this.#fps;
  }
}

export class ProgressReporter {
  // The first report after one interval: a run that fails at once prints its error alone.
  #last = Date.now();
  #drawn = false;
  readonly #intervalMs: number;

  constructor(readonly mode: ProgressMode, private readonly out: NodeJS.WriteStream = process.stdout) {
    // A terminal line can change often; lines in a log file every 2 s; JSON once a second.
    this.#intervalMs = mode === 'tty' ? 250 : mode === 'json' ? 1000 : 2000;
  }

  static modeFor(options: { quiet?: unknown; json?: unknown }, out: NodeJS.WriteStream = process.stdout): ProgressMode {
    if (options.quiet) return 'quiet';
    if (options.json) return 'json';
    return out.isTTY ? 'tty' : 'plain';
  }

  /** Reports `status` unless the last report was too recent (or `force`). */
  update(status: Status, force = false): void {
    const now = Date.now();
    if (this.mode === 'quiet' || (!force && now - this.#last < this.#intervalMs)) return;
    this.#last = now;
    if (this.mode === 'json') this.out.write(`${JSON.stringify(rounded({ type: 'progress', ...status }))}\n`);
    else if (this.mode === 'plain') this.out.write(`${formatStatus(status)}\n`);
    else {
      this.out.write(`\r\x1b[K${formatStatus(status)}`);
      this.#drawn = true;
    }
  }

  /** The final status, then the summary: one line, or with --json one {"type":"summary"} object. */
  end(final: Status, ending: Ending): void {
    this.update(final, true);
    this.finish();
    if (this.mode === 'json') {
      // The final figures, without those of a live line only (ring depth, time left); each
      // output's final figures are the ending's.
      const { depth, slots, eta, outputs, ...figures } = final;
      this.out.write(`${JSON.stringify(rounded({ type: 'summary', ...ending, ...figures }))}\n`);
    } else if (this.mode !== 'quiet') this.out.write(`${formatSummary(final, ending)}\n`);
  }

  /** A one-off event (an input switch): a line of its own, or with --json a {"type": kind} object. */
  event(kind: string, text: string, fields: object): void {
    if (this.mode === 'quiet') return;
    if (this.mode === 'json') {
      this.out.write(`${JSON.stringify({ type: kind, ...fields })}\n`);
      return;
    }
    this.finish();
    this.out.write(`${text}\n`);
  }

  /** Ends the live line so that what follows starts on a line of its own. */
  finish(): void {
    if (this.#drawn) this.out.write('\n');
    this.#drawn = false;
  }
}

/** Numbers to two decimals: JSON lines that people read too. */
function rounded<T extends object>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, typeof value === 'number' ? Math.round(value * 100) / 100 : value])) as T;
}
