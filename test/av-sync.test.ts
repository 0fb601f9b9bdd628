// The A/V sync judge itself (test/helpers/av-sync.ts), on files the ffmpeg CLI made: it must find
// every flash and beep, read a synchronous file as in sync, and a file whose sound starts 200 ms
// late as 200 ms off, in MP4 and after a copy into FLV (as nginx-rtmp records it).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { flashBeepArgs, measureSync } from './helpers/av-sync';
import { tempDir } from './helpers/fixtures';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

function make(name: string, args: string[]): string {
  const file = path.join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args, file]);
  return file;
}

test.each([
  ['in sync, MP4', 'sync.mp4', 0, []],
  ['sound 200 ms late, MP4', 'late.mp4', 0.2, []],
  ['in sync, copied into FLV', 'sync.flv', 0, ['-f', 'flv']],
  ['sound 200 ms late, copied into FLV', 'late.flv', 0.2, ['-f', 'flv']],
] as const)('%s', (_name, file, delay, format) => {
  const source = make(`source-${file}.mp4`, flashBeepArgs(4, { audioDelay: delay }));
  const measured = format.length > 0 ? make(file, ['-i', source, '-c', 'copy', ...format]) : source;
  const { flashes, beeps, offsets } = measureSync(measured);
  // A flash a second (FLV shifts the whole timeline so that no timestamp is negative).
  expect(flashes.length).toBe(4);
  expect(flashes.map((t) => Math.round((t - flashes[0]) * 100) / 100)).toEqual([0, 1, 2, 3]);
  // AAC's first frame can soften a beep at the very start of the sound below the threshold.
  expect(beeps.length).toBeGreaterThanOrEqual(3);
  expect(offsets.length).toBeGreaterThanOrEqual(3);
  for (const { flash, offset } of offsets) expect(Math.abs(offset - delay), `flash at ${flash}: ${offset}`).toBeLessThan(0.005);
});
