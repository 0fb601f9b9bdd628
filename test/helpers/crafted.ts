// Crafted files as the fuzzer makes them, for the tests of what hostile input may cost.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { locateDimensionFields } from './fuzz/header-fields';
import { Random } from './fuzz/prng';

/**
 * 100 pictures of 64x64 HEVC in one GOP, its SPS rewritten to claim `width`x`height` (4096x8192
 * by default: 33554432 pixels, within the default maxPixels), in Matroska, made in `dir` once.
 * FFmpeg decodes every picture at that size without an error: about 20 KB of input.
 */
export function craftedHevc(dir: string, width = 4096, height = 8192): string {
  const file = path.join(dir, `crafted-${width}x${height}.mkv`);
  if (fs.existsSync(file)) return file;
  const small = path.join(dir, 'hevc-64x64.hevc');
  if (!fs.existsSync(small)) {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=25:duration=4', '-c:v', 'libx265', '-x265-params', 'log-level=error:keyint=250', '-pix_fmt', 'yuv420p', '-f', 'hevc', small]);
  }
  let bytes = new Uint8Array(fs.readFileSync(small));
  const sps = locateDimensionFields(bytes, 'hevc', 'annexb', 64, 64).filter((field) => field.name.startsWith('hevc-sps'));
  if (sps.length !== 1) throw new Error(`expected one HEVC SPS in ${small}, found ${sps.length}`);
  // A Random whose every chance says no: the size exactly as given, nothing else changed.
  const plain = Object.assign(new Random(1), { chance: () => false });
  bytes = sps[0].write(bytes, width, height, plain) ?? bytes;
  const big = path.join(dir, `hevc-${width}x${height}.hevc`);
  fs.writeFileSync(big, bytes);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', big, '-c', 'copy', '-bsf:v', 'setts=ts=N/(25*TB):duration=1/(25*TB)', '-f', 'matroska', file]);
  return file;
}
