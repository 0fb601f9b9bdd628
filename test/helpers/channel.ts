// A live channel for the failover tests and bench: a publisher of a coloured test picture into a
// server, and an independent reader (another ffmpeg) that watches a stream frame by frame: when
// each picture came and what it shows (its mean colour, at 32x18).
import { spawn, type ChildProcess } from 'node:child_process';

const W = 32;
const H = 18;
export type Colour = 'program' | 'slate' | 'fallback' | 'black' | 'other';

/** What a 32x18 rgb24 picture shows, by its mean colour. */
export function colourOf(picture: Buffer): Colour {
  let r = 0, g = 0, b = 0;
  for (let i = 0; i < picture.length; i += 3) {
    r += picture[i];
    g += picture[i + 1];
    b += picture[i + 2];
  }
  const n = picture.length / 3;
  [r, g, b] = [r / n, g / n, b / n];
  if (r > 180 && g < 80 && b > 180) return 'slate';      // magenta
  if (b > 150 && r < 90 && g < 120) return 'program';    // blue
  if (g > 150 && r < 90 && b < 90) return 'fallback';    // lime
  if (r < 30 && g < 30 && b < 30) return 'black';
  return 'other';
}

/** A publisher of a coloured test picture (at `rate` fps) with sound, live, into `url`. */
export function publish(url: string, colour: string, rate = 25): ChildProcess {
  return spawn('ffmpeg', [
    '-v', 'error', '-re',
    '-f', 'lavfi', '-i', `color=c=${colour}:size=320x180:rate=${rate},drawbox=x=t*40:y=0:w=20:h=180:color=white@0.5:t=fill`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', url,
  ], { stdio: 'ignore' });
}

/** An independent reader of `url`: every picture it decodes, when it came and what it shows. */
export class Watcher {
  readonly frames: { at: number; colour: Colour }[] = [];
  readonly child: ChildProcess;
  #pending = Buffer.alloc(0);

  constructor(url: string) {
    this.child = spawn('ffmpeg', [
      '-v', 'error', '-fflags', 'nobuffer', '-rw_timeout', '30000000', '-i', url,
      '-vf', `scale=${W}:${H}`, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
    ], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.#pending = Buffer.concat([this.#pending, chunk]);
      const size = W * H * 3;
      while (this.#pending.length >= size) {
        this.frames.push({ at: Date.now(), colour: colourOf(this.#pending.subarray(0, size)) });
        this.#pending = this.#pending.subarray(size);
      }
    });
  }

  get connected(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Waits until `count` pictures in a row, all come at or after `since` (ms since the epoch),
   * show `colour`; the time the first of them came.
   */
  async until(colour: Colour, count: number, timeoutMs: number, since = 0): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      let run = 0;
      for (let i = this.frames.length - 1; i >= 0 && this.frames[i].colour === colour && this.frames[i].at >= since; i--) run++;
      if (run >= count) return this.frames[this.frames.length - run].at;
      await new Promise((r) => setTimeout(r, 50));
    }
    const tail = this.frames.slice(-10).map((f) => f.colour).join(', ');
    throw new Error(`No ${count} ${colour} pictures in a row within ${timeoutMs} ms (${this.frames.length} pictures; the last: ${tail})`);
  }

  /**
   * The longest wait for a picture from `from` to `to` (ms since the epoch): between two
   * pictures, and from the last one to `to` when `to` is given (a stream that went dark).
   */
  longestGap(from: number, to?: number): number {
    const before = this.frames.filter((f) => f.at < from).at(-1)?.at;
    const times = [...(before === undefined ? [] : [before]), ...this.frames.filter((f) => f.at >= from && (to === undefined || f.at <= to)).map((f) => f.at)];
    if (to !== undefined) times.push(to);
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
    return gap;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

export function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
