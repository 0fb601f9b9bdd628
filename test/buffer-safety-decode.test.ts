// Decoding never writes outside a buffer, at any size (issue 9: a 1080x1920 rgb24 frame from
// extractFrame() aborted the process; extractFrameInto wrote 24 bytes past the caller's picture
// in rgb24, 32 in rgba, at about half of all widths).
//
// Sizes are swept, not sampled: every source width and height from 1 to 64 and a spread of
// larger odd and even ones, in every output pixel format, through every way a frame leaves the
// library, into every kind of buffer:
//   paths:   into.sync  = extractFrameInto     into.async = readInto        (the caller's buffer)
//            frame.sync = extractFrame         frame.async = read           (memory the library
//            gop.sync   = extractGOP           gop.async  = readGOP          allocates)
//   buffers: plain   a Uint8Array at the start of its ArrayBuffer, 256 guard bytes after it
//            offset  a view at an odd or even offset inside a bigger ArrayBuffer, guards before and after
//            shared  the same in a SharedArrayBuffer
//            memend  ending exactly where mapped memory ends: a write past it is a SIGSEGV
//            frames the library allocates: glibc's malloc checker aborts when one was overrun
// Every guard byte is checked after every frame. All of it runs in child processes
// (test/helpers/sweep.ts, test/helpers/buffer-safety-runner.js), so a crash fails the case it
// happened in, by name, and the sweep goes on with the next case.
//
// What runs (CARTESIAN: every combination; ROTATED: a covering design, said how):
// 1. Unscaled, small (output size = source size: the conversion the issue hit). Raw sources
//    written here (pseudo-random bytes opened as `rawvideo` of any size and pixel format).
//    CARTESIAN 4 source formats (yuv420p, nv12, yuv444p, rgb24) x 64 widths x 64 heights x 6
//    output formats, one frame each by extractFrameInto into a plain buffer; 6 more source
//    formats (yuv422p, gbrp, gray, yuvj420p, rgba, yuv420p10le) the same over COVERING (1166
//    sizes: every width with 18+ heights of every residue mod 4, every height with 16+ widths).
//    For yuv420p sources every case takes a second frame by one of the 11 other path x buffer
//    combinations, ROTATED by (7 width + 3 height + output format) mod 11: every combination
//    meets every width and every height in every output format (~370 cases each).
// 2. Unscaled, large and thin raw sources (2^n±1, portrait/landscape, 1080x1920, 8191x2...):
//    CARTESIAN 4 source formats x 19 sizes x 6 output formats x (into.sync.plain,
//    into.sync.memend, frame.sync), plus one of the other 9 combinations ROTATED by size and format.
// 3. Real H.264/HEVC/VP9/MJPEG clips (decoders' own padded linesizes), 16 sizes: CARTESIAN
//    clips x 6 output formats x all 12 path x buffer combinations.
// 4. Scaled (output size != source size): CARTESIAN a 53x37 yuv420p raw source x 64 output
//    widths x 64 output heights x 6 output formats (plus the rotated second frame, as in 1),
//    and a 97x61 rgb24 source over COVERING; a 129x127 VP9 clip to the 64 sizes of PERMUTATION
//    (every width and every height once) and the 1080x1920 H.264 clip to 8 sizes, x 6 formats,
//    path x buffer ROTATED.
// Pixels are compared with the ffmpeg CLI's own conversion (bit-exact, md5 per frame): for the
// clips every frame (the first 2 of megapixel clips), elsewhere the 64 sizes of PERMUTATION per
// sweep, frame 0 of the large ones.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PIXEL_FORMATS } from '../lib/types';
import { tempDir } from './helpers/fixtures';
import { cliFrameMd5s, packedBytes, rawInput, rawSource, RAW_FORMATS, writeNoise, type RawFormat } from './helpers/raw-sources';
import { sizeFixtures, sizeOf, SIZE_FIXTURES, type SizeFixtureName } from './helpers/size-fixtures';
import { report, runSweep, summarise, type SweepCase, type SweepResult } from './helpers/sweep';

const { dir, cleanup } = tempDir('streamcoder-buffer-safety-');
afterAll(cleanup);

const SMALL = Array.from({ length: 64 }, (_, i) => i + 1);
const ALL_SMALL = SMALL.flatMap((w) => SMALL.map((h) => ({ w, h })));
/** 64 sizes in which every width and every height 1..64 occurs exactly once: the CLI's sample. */
const PERMUTATION = SMALL.map((w) => ({ w, h: ((w * 37) % 64) + 1 }));
const inPermutation = (w: number, h: number) => h === ((w * 37) % 64) + 1;
/**
 * 1166 of the 4096 sizes: every width 1..64 with heights 1, 2, the permutation's, and one from
 * each run of four heights (h-1 = 4a+b, taken when a+b+w-1 = 0 mod 4), so every width meets
 * every height residue mod 4 and every height meets at least 16 widths.
 */
const COVERING = ALL_SMALL.filter(({ w, h }) => h <= 2 || inPermutation(w, h) || (((h - 1) >> 2) + ((h - 1) & 3) + w - 1) % 4 === 0);

/** Every way a frame leaves the decoder, into every kind of buffer: 12 combinations. */
const INTO = ['sync', 'async'].flatMap((mode) => ['plain', 'offset', 'shared', 'memend'].map((kind) => `into.${mode}.${kind}`));
const ALL_OPS = [...INTO, 'frame.sync', 'frame.async', 'gop.sync', 'gop.async'];
const CORE = 'into.sync.plain';
const OTHERS = ALL_OPS.filter((op) => op !== CORE);
/** The rotated second op: over the 64 widths of a height (or heights of a width) it takes all 11. */
const rotated = (w: number, h: number, format: number) => OTHERS[(w * 7 + h * 3 + format) % OTHERS.length];

const LARGE: [number, number][] = [
  [65, 33], [127, 129], [129, 127], [255, 257], [257, 255], [360, 640], [600, 400], [511, 513], [513, 511],
  [720, 1280], [1025, 1023], [1080, 1920], [1920, 1080], [1081, 1919],
  [4097, 3], [3, 4097], [8191, 2], [1, 8191], [2049, 1],
];

const formatOf = (c: SweepCase) => (c.out as { pixelFormat: string }).pixelFormat;

/**
 * Runs the cases and, meanwhile, the CLI's conversions; fails with every failure grouped by kind
 * (the full list goes to $STREAMCODER_SWEEP_REPORT when set).
 */
async function sweep(name: string, cases: SweepCase[], cliRun: () => Promise<Map<string, string[]>>, keyOf: (c: SweepCase) => string, gcEvery?: number) {
  const [result, cli] = await Promise.all([runSweep(cases, dir, { gcEvery }), cliRun()]);
  result.failures.push(...cliMismatches(cases, result, cli, keyOf));
  report(name, result);
  expect(result.failures.length, summarise(result.failures)).toBe(0);
  expect(result.completed).toBe(cases.length);
}

/** Compares the md5s the runner reported with the CLI's, frame by frame. */
function cliMismatches(cases: SweepCase[], result: SweepResult, cli: Map<string, string[]>, keyOf: (c: SweepCase) => string): string[] {
  const out: string[] = [];
  cases.forEach((c, i) => {
    // A case that crashed or never ran is a failure already.
    if (!c.md5 || !result.ended.has(i)) return;
    const ours = result.md5.get(i) ?? [];
    const theirs = cli.get(keyOf(c)) ?? [];
    if (ours.length === 0) out.push(`${c.id}: no md5 reported`);
    ours.forEach((sum, k) => {
      if (theirs[k] === undefined) out.push(`${c.id}: frame ${k}: the ffmpeg CLI gave no such frame`);
      else if (sum !== theirs[k]) out.push(`${c.id}: frame ${k} differs from the ffmpeg CLI's conversion${theirs[k].startsWith('size') ? ` (${theirs[k]})` : ''}`);
    });
  });
  return out;
}

/** The CLI's conversion of a raw source's first frames, for each size of `sizes` and each output format. */
const cliRaw = (file: string, format: RawFormat, sizes: { w: number; h: number }[], frames: number) => () =>
  cliFrameMd5s(sizes.map(({ w, h }) => ({
    inputArgs: rawInput(file, format, w, h, frames),
    outputs: PIXEL_FORMATS.map((pixFmt) => ({ key: `${w}x${h} ${pixFmt}`, pixFmt, bytes: packedBytes(pixFmt, w, h) })),
  })), frames, dir);

/** The CLI's conversion of a source scaled to each size of `sizes`, in each output format. */
const cliScaled = (inputArgs: string[], sizes: { w: number; h: number }[], frames: number) => () =>
  cliFrameMd5s([{
    inputArgs,
    outputs: sizes.flatMap(({ w, h }) => PIXEL_FORMATS.map((pixFmt) => ({ key: `${w}x${h} ${pixFmt}`, pixFmt, scale: `${w}:${h}`, bytes: packedBytes(pixFmt, w, h) }))),
  }], frames, dir);

const sizeKey = (c: SweepCase) => `${c.w}x${c.h} ${formatOf(c)}`;

describe('unscaled: every source size 1..64 x 1..64', () => {
  const FULL: RawFormat[] = ['yuv420p', 'nv12', 'yuv444p', 'rgb24'];
  const COVERED: RawFormat[] = ['yuv422p', 'gbrp', 'gray', 'yuvj420p', 'rgba', 'yuv420p10le'];

  test.each([...FULL, ...COVERED])('%s source, every output format', async (format) => {
    // Three frames of the largest size: the two a case takes, and a spare.
    const file = writeNoise(path.join(dir, `small-${format}.raw`), 3 * RAW_FORMATS[format](64, 64), format === 'yuv420p10le');
    const cases: SweepCase[] = [];
    for (const { w, h } of FULL.includes(format) ? ALL_SMALL : COVERING) {
      PIXEL_FORMATS.forEach((pixelFormat, f) => cases.push({
        id: `${format} ${w}x${h} -> ${pixelFormat}`, src: rawSource(file, format, w, h), out: { pixelFormat }, w, h,
        ops: format === 'yuv420p' ? [CORE, rotated(w, h, f)] : [CORE], md5: inPermutation(w, h),
      }));
    }
    await sweep(`decode-unscaled-${format}`, cases, cliRaw(file, format, PERMUTATION, 2), sizeKey);
  }, 300_000);
});

describe('unscaled: large and thin raw sources', () => {
  test.each(['yuv420p', 'nv12', 'yuv444p', 'rgb24'] as RawFormat[])(`%s source, ${LARGE.length} sizes, every output format`, async (format) => {
    // Four frames of the largest size (the ops take four; rawvideo GOPs are one frame).
    const file = writeNoise(path.join(dir, `large-${format}.raw`), 4 * Math.max(...LARGE.map(([w, h]) => RAW_FORMATS[format](w, h))));
    const extra = OTHERS.filter((op) => op !== 'into.sync.memend' && op !== 'frame.sync');
    const cases: SweepCase[] = [];
    LARGE.forEach(([w, h], s) => PIXEL_FORMATS.forEach((pixelFormat, f) => cases.push({
      id: `${format} ${w}x${h} -> ${pixelFormat}`, src: rawSource(file, format, w, h), out: { pixelFormat }, w, h,
      ops: [CORE, 'into.sync.memend', 'frame.sync', extra[(s + f) % extra.length]], md5: 1,
    })));
    // Frame 0 against the CLI (an md5 of every frame of these sizes would cost more than the sweep).
    await sweep(`decode-large-${format}`, cases, cliRaw(file, format, LARGE.map(([w, h]) => ({ w, h })), 1), sizeKey, 8);
    fs.rmSync(file);
  }, 300_000);
});

/** Frames compared with the CLI in a clip of w x h: all 18, or the first 2 of megapixel clips. */
const checkedFrames = (w: number, h: number) => (w * h >= 1_000_000 ? 2 : 18);

describe('real clips: H.264, HEVC, VP9, MJPEG at a spread of sizes', () => {
  let clips: Record<SizeFixtureName, string>;
  beforeAll(async () => {
    clips = await sizeFixtures();
  }, 300_000);

  test('every clip, every output format, all 12 path x buffer combinations, pixels as the ffmpeg CLI gives them', async () => {
    const names = Object.keys(SIZE_FIXTURES) as SizeFixtureName[];
    const cases: SweepCase[] = [];
    for (const name of names) {
      const { w, h } = sizeOf(name);
      // Frames: 8 'into' ops, 2 frame ops, then 2 GOPs (a keyframe every 3 frames; every frame
      // in MJPEG): 12 to 16 of the clip's 18.
      for (const pixelFormat of PIXEL_FORMATS) {
        cases.push({ id: `${name} -> ${pixelFormat}`, src: { path: clips[name] }, out: { pixelFormat }, w, h, ops: ALL_OPS, md5: checkedFrames(w, h), clip: name });
      }
    }
    const cli = async () => {
      const all = new Map<string, string[]>();
      for (const name of names) {
        const { w, h } = sizeOf(name);
        const outputs = PIXEL_FORMATS.map((pixFmt) => ({ key: `${name} ${pixFmt}`, pixFmt, bytes: packedBytes(pixFmt, w, h) }));
        for (const [key, md5s] of await cliFrameMd5s([{ inputArgs: ['-i', clips[name]], outputs }], checkedFrames(w, h), dir)) all.set(key, md5s);
      }
      return all;
    };
    await sweep('decode-clips', cases, cli, (c) => `${c.clip} ${formatOf(c)}`, 6);
  }, 300_000);
});

describe('scaled: every output size 1..64 x 1..64', () => {
  test.each([
    { format: 'yuv420p' as RawFormat, size: '53x37', all: true },
    { format: 'rgb24' as RawFormat, size: '97x61', all: false },
  ])('$format $size source to every output size, every output format', async ({ format, size, all }) => {
    const [sw, sh] = size.split('x').map(Number);
    const file = writeNoise(path.join(dir, `scaled-${format}.raw`), 3 * RAW_FORMATS[format](sw, sh));
    const cases: SweepCase[] = [];
    for (const { w, h } of all ? ALL_SMALL : COVERING) {
      PIXEL_FORMATS.forEach((pixelFormat, f) => cases.push({
        id: `${format} ${size} scaled to ${w}x${h} ${pixelFormat}`, src: rawSource(file, format, sw, sh), out: { pixelFormat, width: w, height: h }, w, h,
        ops: all ? [CORE, rotated(w, h, f)] : [CORE], md5: inPermutation(w, h),
      }));
    }
    await sweep(`decode-scaled-${format}`, cases, cliScaled(rawInput(file, format, sw, sh, 2), PERMUTATION, 2), sizeKey);
  }, 300_000);

  test('real clips scaled: 129x127 VP9 to 64 sizes (every width and height 1..64 once), 1080x1920 H.264 to 8', async () => {
    const clips = await sizeFixtures();
    const BIG_TO: { w: number; h: number }[] = [
      { w: 1, h: 1 }, { w: 64, h: 64 }, { w: 63, h: 1 }, { w: 1, h: 63 }, { w: 33, h: 59 }, { w: 541, h: 961 }, { w: 1079, h: 1921 }, { w: 720, h: 1280 },
    ];
    const cases: SweepCase[] = [];
    const plan = [
      { clip: 'size-vp9-129x127.webm' as SizeFixtureName, sizes: PERMUTATION },
      { clip: 'size-h264-1080x1920.mp4' as SizeFixtureName, sizes: BIG_TO },
    ];
    for (const { clip, sizes } of plan) {
      sizes.forEach(({ w, h }, s) => PIXEL_FORMATS.forEach((pixelFormat, f) => cases.push({
        id: `${clip} scaled to ${w}x${h} ${pixelFormat}`, src: { path: clips[clip] }, out: { pixelFormat, width: w, height: h }, w, h,
        ops: [CORE, OTHERS[(s * 5 + f) % OTHERS.length]], md5: 2, clip,
      })));
    }
    const cli = async () => {
      const all = new Map<string, string[]>();
      for (const { clip, sizes } of plan) {
        for (const [key, md5s] of await cliScaled(['-i', clips[clip]], sizes, 2)()) all.set(`${clip} ${key}`, md5s);
      }
      return all;
    };
    await sweep('decode-scaled-clips', cases, cli, (c) => `${c.clip} ${sizeKey(c)}`, 32);
  }, 300_000);
});
