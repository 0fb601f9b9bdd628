// Encoding never reads outside the caller's picture, nor writes to it, at any size: swscale
// reads whole SIMD words past the end of a row, which past the last row of a tightly packed
// picture is not the caller's memory (Scaler::PackedToFrame converts the last rows from a padded
// copy; these tests check that claim at every size 1..64 x 1..64 and a spread of larger ones).
//
//   paths:   sync = Encoder.encodeFrame / Server.serveFrame     async = Encoder.encode / Server.serve
//            block = Server.serveFrameBlock                      blockAsync = Server.serveBlock
//   buffers: plain   a Uint8Array at the start of its ArrayBuffer, 256 guard bytes after it
//            offset  at an odd or even offset inside a bigger ArrayBuffer, guards before and after
//            shared  the same in a SharedArrayBuffer
//            memend  the picture ends exactly where mapped memory ends: a read past it is a SIGSEGV
// Guard bytes differ from buffer to buffer, and every frame of an output is one picture, so a
// read of guard bytes into the output shows as frames that differ; the guards and the picture
// must come back untouched. Cases run in child processes (test/helpers/sweep.ts), so a crash
// fails the case it happened in, by name.
//
// Codecs that take any size (libx264 refuses odd sizes in 4:2:0): rawvideo (the library picks
// yuv420p for it: a swscale conversion from every input format but yuv420p, which is copied) and
// png (rgb24, rgba or gray: a conversion from bgr24, bgra and yuv420p, a copy for the others),
// both in NUT.
//
// What runs (CARTESIAN: every combination; ROTATED: a covering design, said how):
// - rawvideo: CARTESIAN 64 widths x 64 heights x 6 input formats, 2 frames each: one from a
//   memend buffer (sync), then one by another path x buffer combination, ROTATED by
//   (width + 3 height + format) mod 7 over the Encoder's 7 others (sync/async x
//   plain/offset/shared, async memend), so each meets every width and every height in every
//   format (~2600 cases each); every fourth case (where (width + height + format) mod 4 = 0)
//   writes through a Server instead, its 15 others (4 paths x 4 buffers) rotated alike.
//   Closing alternates between close() and closeSync().
// - png: the same over COVERING (1166 sizes: every width with 18+ heights of every residue mod 4,
//   every height with 16+ widths; see the decode test).
// - larger and thin sizes (2^n±1, portrait/landscape, 1080x1920, 8191x2...): CARTESIAN 19 sizes
//   x 6 formats x all 8 Encoder path x buffer combinations with rawvideo; with png 2 frames, the
//   memend one and one ROTATED by size and format.
// Outputs are checked with the ffmpeg CLI for the 64 sizes where every width and every height
// 1..64 occurs once (and all large ones): frame count, size, and every frame equal to the CLI's
// own conversion of the input picture (bit-exact md5).
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import { PIXEL_FORMATS } from '../lib/types';
import { packedBytes } from './helpers/raw-sources';
import { report, runSweep, summarise, type SweepCase } from './helpers/sweep';

const run = promisify(execFile);
// ~30,000 small outputs are written and deleted: in memory (tmpfs) where there is one, which
// halves the time the sweep takes on this machine's disk.
const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'streamcoder-buffer-safety-encode-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SMALL = Array.from({ length: 64 }, (_, i) => i + 1);
const ALL_SMALL = SMALL.flatMap((w) => SMALL.map((h) => ({ w, h })));
const inPermutation = (w: number, h: number) => h === ((w * 37) % 64) + 1;
const COVERING = ALL_SMALL.filter(({ w, h }) => h <= 2 || inPermutation(w, h) || (((h - 1) >> 2) + ((h - 1) & 3) + w - 1) % 4 === 0);
const LARGE: [number, number][] = [
  [65, 33], [127, 129], [129, 127], [255, 257], [257, 255], [360, 640], [600, 400], [511, 513], [513, 511],
  [720, 1280], [1025, 1023], [1080, 1920], [1920, 1080], [1081, 1919],
  [4097, 3], [3, 4097], [8191, 2], [1, 8191], [2049, 1],
];

const ENCODER_OPS = ['sync', 'async'].flatMap((mode) => ['plain', 'offset', 'shared', 'memend'].map((kind) => `${mode}.${kind}`));
const ENCODER_OTHERS = ENCODER_OPS.filter((op) => op !== 'sync.memend');
const SERVER_OPS = ['sync', 'async', 'block', 'blockAsync'].flatMap((mode) => ['plain', 'offset', 'shared', 'memend'].map((kind) => `${mode}.${kind}`));
const SERVER_OTHERS = SERVER_OPS.filter((op) => op !== 'sync.memend');

/** The pixel format each codec's output is in, by input format (the library's choice). */
const OUTPUT_FORMAT: Record<string, Record<string, string>> = {
  rawvideo: { rgb24: 'yuv420p', bgr24: 'yuv420p', rgba: 'yuv420p', bgra: 'yuv420p', gray: 'yuv420p', yuv420p: 'yuv420p' },
  png: { rgb24: 'rgb24', bgr24: 'rgb24', rgba: 'rgba', bgra: 'rgb24', gray: 'gray', yuv420p: 'rgb24' },
};

interface EncodeCase extends SweepCase {
  w: number;
  h: number;
  pixelFormat: string;
  codec: string;
  file: string;
  ops: string[];
  keep: boolean;
}

/** Cases for `sizes`: the memend sync frame first, one more rotated (see the header). */
function smallCases(codec: string, sizes: { w: number; h: number }[]): EncodeCase[] {
  const cases: EncodeCase[] = [];
  for (const { w, h } of sizes) {
    PIXEL_FORMATS.forEach((pixelFormat, f) => {
      const server = (w + h + f) % 4 === 0;
      const others = server ? SERVER_OTHERS : ENCODER_OTHERS;
      const r = w + 3 * h + f;
      const writer = server ? 'server' : 'encoder';
      cases.push({
        id: `${codec} ${writer} ${w}x${h} ${pixelFormat}`, w, h, pixelFormat, codec, format: 'nut', writer,
        file: path.join(dir, `${codec}-${w}x${h}-${pixelFormat}.nut`),
        ops: ['sync.memend', others[r % others.length]],
        close: (w + h) % 2 === 0 ? 'sync' : 'async', keep: inPermutation(w, h),
      });
    });
  }
  return cases;
}

const md5 = (bytes: Uint8Array) => crypto.createHash('md5').update(bytes).digest('hex');

/** framemd5 rows of one file: [bytes, md5] per frame, and the dimensions line. */
function parseFrameMd5(text: string): { frames: [number, string][]; dimensions: string } {
  const frames: [number, string][] = [];
  let dimensions = '';
  for (const row of text.split('\n')) {
    if (row.startsWith('#dimensions')) dimensions = row.split(':')[1].trim();
    if (row === '' || row.startsWith('#')) continue;
    const fields = row.split(',').map((s) => s.trim());
    frames.push([Number(fields[4]), fields[5]]);
  }
  return { frames, dimensions };
}

/**
 * The kept outputs against the ffmpeg CLI, in batches of one ffmpeg run each: every output has
 * as many frames as the case wrote, all of the declared size, and each one equal to the CLI's
 * conversion of the input picture (the `.input` file beside it) into the output's pixel format.
 */
async function checkOutputs(cases: EncodeCase[], ended: Set<number>, batchSize: number): Promise<string[]> {
  // A case that crashed or never ran is a failure already; its output may be half written.
  const kept = cases.filter((c, i) => c.keep && ended.has(i));
  const failures: string[] = [];
  for (let start = 0; start < kept.length; start += batchSize) {
    const batch = kept.slice(start, start + batchSize);
    const args = ['-v', 'error', '-y'];
    for (const c of batch) args.push('-i', c.file);
    for (const c of batch) args.push('-f', 'rawvideo', '-video_size', `${c.w}x${c.h}`, '-pixel_format', c.pixelFormat, '-i', `${c.file}.input`);
    batch.forEach((c, k) => {
      const target = OUTPUT_FORMAT[c.codec][c.pixelFormat];
      args.push('-map', `${k}:v:0`, '-c:v', 'rawvideo', '-pix_fmt', target, '-f', 'framemd5', `${c.file}.out.md5`);
      args.push('-map', `${batch.length + k}:v:0`, '-frames:v', '1', '-c:v', 'rawvideo', '-pix_fmt', target, '-f', 'framemd5', `${c.file}.ref.md5`);
    });
    try {
      await run('ffmpeg', args, { maxBuffer: 1 << 24 });
    } catch (error) {
      failures.push(`ffmpeg could not read a batch from ${batch[0].id} on: ${String((error as Error).message).slice(0, 500)}`);
      continue;
    }
    for (const c of batch) {
      const out = parseFrameMd5(fs.readFileSync(`${c.file}.out.md5`, 'utf8'));
      const ref = parseFrameMd5(fs.readFileSync(`${c.file}.ref.md5`, 'utf8'));
      const bytes = packedBytes(OUTPUT_FORMAT[c.codec][c.pixelFormat], c.w, c.h);
      if (out.dimensions !== `${c.w}x${c.h}`) failures.push(`${c.id}: the output is ${out.dimensions}`);
      if (out.frames.length !== c.ops.length) failures.push(`${c.id}: ${out.frames.length} frames in the output, expected ${c.ops.length}`);
      if (ref.frames.length !== 1 || ref.frames[0][0] !== bytes) failures.push(`${c.id}: the CLI's reference is not one ${bytes}-byte picture`);
      out.frames.forEach(([size, sum], k) => {
        if (size !== bytes) failures.push(`${c.id}: frame ${k} (${c.ops[k]}) has ${size} bytes, expected ${bytes}`);
        // bgr24 to 4:2:0 has no one right answer to compare with: swscale's unscaled converter
        // for it (chroma from one row of each pair) or its filtered path run depending on
        // slicing, and the CLI's own output changes with its thread count (-filter_threads 1
        // and the default differ). Memory safety, size and frame count are still checked.
        else if (c.pixelFormat === 'bgr24' && OUTPUT_FORMAT[c.codec][c.pixelFormat] === 'yuv420p') return;
        else if (sum !== ref.frames[0]?.[1]) failures.push(`${c.id}: frame ${k} (${c.ops[k]}) differs from the ffmpeg CLI's conversion of the input picture`);
      });
      // The runner wrote the picture it encoded; it must be the one this case describes.
      const input = fs.readFileSync(`${c.file}.input`);
      if (input.length !== packedBytes(c.pixelFormat, c.w, c.h)) failures.push(`${c.id}: the input picture has ${input.length} bytes`);
      else if (md5(input) === md5(Buffer.alloc(input.length))) failures.push(`${c.id}: the input picture is blank`);
      for (const file of [c.file, `${c.file}.input`, `${c.file}.out.md5`, `${c.file}.ref.md5`]) fs.rmSync(file, { force: true });
    }
  }
  return failures;
}

async function sweep(name: string, cases: EncodeCase[], batchSize: number): Promise<void> {
  const result = await runSweep(cases, dir, { gcEvery: 1024 });
  // Every case that ran to its end must have left its output for the check.
  const missing = cases.filter((c, i) => c.keep && result.ended.has(i) && !fs.existsSync(c.file));
  result.failures.push(...missing.map((c) => `${c.id}: no output file`));
  const checkable = new Set([...result.ended].filter((i) => !missing.includes(cases[i])));
  result.failures.push(...(await checkOutputs(cases, checkable, batchSize)));
  report(name, result);
  expect(result.failures.length, summarise(result.failures)).toBe(0);
  expect(result.completed).toBe(cases.length);
}

describe('every size 1..64 x 1..64, every input format', () => {
  test('rawvideo (yuv420p out): all 4096 sizes', async () => {
    await sweep('encode-rawvideo', smallCases('rawvideo', ALL_SMALL), 48);
  }, 300_000);

  test('png (rgb24, rgba or gray out): 1166 covering sizes', async () => {
    await sweep('encode-png', smallCases('png', COVERING), 48);
  }, 300_000);
});

describe('larger and thin sizes', () => {
  test.each(['rawvideo', 'png'])(`%s: ${LARGE.length} sizes x 6 formats`, async (codec) => {
    const cases: EncodeCase[] = [];
    LARGE.forEach(([w, h], s) => {
      PIXEL_FORMATS.forEach((pixelFormat, f) => cases.push({
        id: `${codec} encoder ${w}x${h} ${pixelFormat}`, w, h, pixelFormat, codec, format: 'nut', writer: 'encoder',
        file: path.join(dir, `${codec}-${w}x${h}-${pixelFormat}.nut`),
        // png compresses big noisy pictures slowly: two frames, the second path rotated.
        ops: codec === 'rawvideo' ? ENCODER_OPS : ['sync.memend', ENCODER_OTHERS[(s + f) % ENCODER_OTHERS.length]],
        close: f % 2 ? 'sync' : 'async', keep: true,
      }));
    });
    await sweep(`encode-large-${codec}`, cases, 6);
  }, 300_000);
});
