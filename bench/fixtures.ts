// Fixtures of the benchmarks that the tests do not need, made by the ffmpeg CLI from its generated
// sources like test/helpers/fixtures.ts (same directory, same make-then-rename, so a half-written
// file is never used), each from the exact ffmpeg arguments below.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { flashBeepArgs } from '../test/helpers/av-sync';
import { FIXTURE_DIR } from '../test/helpers/fixtures';

export const BENCH_FIXTURES: Record<string, () => string[]> = {
  // bench-1080p.mp4's pictures (1920x1080, 30 fps, 10 s: 300 frames; libx264 veryfast, 3
  // B-frames, GOP 60) with a 440 Hz sine as AAC, 48 kHz stereo, 128 kb/s, in MP4.
  'bench-1080p-aac.mp4': () => [
    '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30:duration=10',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=10',
    '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-g', '60', '-pix_fmt', 'yuv420p',
    '-ac', '2', '-c:a', 'aac', '-b:a', '128k',
  ],
  // That file 30 times over (300 s: 9000 frames, 14100 AAC packets, 208 MB), stream-copied, for
  // a stream copy long enough that opening and closing do not dominate.
  'bench-1080p-aac-300s.mp4': () => ['-stream_loop', '29', '-i', benchFixture('bench-1080p-aac.mp4'), '-c', 'copy'],
  // The A/V sync judge's source (test/helpers/av-sync.ts flashBeepArgs: a white picture and a
  // 1 kHz beep at every whole second; AAC 48 kHz stereo 128k, no B-frames) for 60 s, at 640x360
  // and 30 fps instead of its 320x240 at 25 (its white box lasts 40 ms, so the first two frames
  // of each second are white at 30 fps; the judge takes the first).
  'flash-beep-640x360-60s.mp4': () => flashBeepArgs(60).map((arg) => (arg.startsWith('testsrc2=') ? 'testsrc2=size=640x360:rate=30:duration=60' : arg)),
};

export type BenchFixtureName = 'bench-1080p-aac.mp4' | 'bench-1080p-aac-300s.mp4' | 'flash-beep-640x360-60s.mp4';

/** The path of a benchmark fixture, made first if it does not exist yet. */
export function benchFixture(name: BenchFixtureName): string {
  const file = path.join(FIXTURE_DIR, name);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(FIXTURE_DIR, { recursive: true });
  const partial = path.join(FIXTURE_DIR, `.${process.pid}.${Date.now()}.${name}`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...BENCH_FIXTURES[name](), '-f', 'mp4', partial], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.renameSync(partial, file);
  return file;
}
