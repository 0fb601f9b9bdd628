// Bounds the caller controls, with defaults that keep a small crafted file from taking the
// machine: maxPixels (decoder, probing included), maxGopBytes (extractGOP), maxCacheBytes
// (Client). Exceeding one is ERR_LIMIT with a message that names the option.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Client, DEFAULT_MAX_GOP_BYTES, DEFAULT_MAX_PIXELS, Decoder, MAX_PIXELS, StreamcoderError } from '../lib';
import { runChild } from './helpers/child';
import { fixture, tempDir } from './helpers/fixtures';
import { craftedHevc } from './helpers/crafted';
import { underSanitizer } from './helpers/fuzz/batches';

const { dir, cleanup } = tempDir();
afterAll(cleanup);

function make(name: string, args: string[]): string {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) execFileSync('ffmpeg', ['-v', 'error', '-y', ...args, file]);
  return file;
}

// 8192x4352: 35651584 pixels, just past the default bound (DCI 8K, 8192x4320). Black frames
// compress to a few KB each, like the crafted files that made decoders allocate gigabytes.
const bigCommand = ['-f', 'lavfi', '-i', 'color=black:size=8192x4352:rate=1', '-frames:v', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

function errorOf(call: () => unknown): StreamcoderError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(StreamcoderError);
    return error as StreamcoderError;
  }
  throw new Error('expected a StreamcoderError');
}

describe('maxPixels', () => {
  test('a source past the default bound is refused at open, before anything large is allocated', async () => {
    const big = make('big.mp4', bigCommand);
    expect(DEFAULT_MAX_PIXELS).toBe(8192 * 4320);
    // In a child process, so its peak memory is the refused open's alone.
    const script = `const { Decoder } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
      try { Decoder.openSync(${JSON.stringify(big)}); console.log('opened'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, rssMB: process.resourceUsage().maxRSS / 1024 })); }`;
    const child = await runChild(process.execPath, ['-e', script], { timeout: 60_000 });
    const outcome = JSON.parse(child.stdout.trim());
    expect(outcome.code).toBe('ERR_LIMIT');
    expect(outcome.message).toContain('8192x4352 (35651584 pixels), more than maxPixels (35389440)');
    // One 8192x4352 yuv420p picture alone is 53 MB; the decoder with its references, far more.
    expect(outcome.rssMB).toBeLessThan(200);
  });

  test('raised, the same source decodes', () => {
    using dec = Decoder.openSync(make('big.mp4', bigCommand), { maxPixels: 8192 * 4352, pixelFormat: 'gray' });
    expect(dec.extractFrame()).toMatchObject({ width: 8192, height: 4352 });
  });

  test('a lowered bound refuses an ordinary source and a requested output size alike', () => {
    const source = fixture('h264-bframes.mp4'); // 320x240
    expect(errorOf(() => Decoder.openSync(source, { maxPixels: 320 * 240 - 1 })).code).toBe('ERR_LIMIT');
    using exact = Decoder.openSync(source, { maxPixels: 320 * 240 });
    expect(exact.extractFrame()!.width).toBe(320);
    const error = errorOf(() => Decoder.openSync(source, { maxPixels: 320 * 240, width: 640 }));
    expect(error.code).toBe('ERR_LIMIT');
    expect(error.message).toMatch(/requested output size is 640x480/);
  });

  test('a picture past the bound in mid-stream is skipped and counted, never allocated', () => {
    // 320x240 for 1 s, then 640x480: MPEG-TS carries a size change mid-stream.
    const small = make('small.ts', ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '5']);
    const large = make('large.ts', ['-f', 'lavfi', '-i', 'testsrc2=size=640x480:rate=25:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '5', '-output_ts_offset', '1']);
    const both = path.join(dir, 'both.ts');
    fs.writeFileSync(both, Buffer.concat([fs.readFileSync(small), fs.readFileSync(large)]));
    using dec = Decoder.openSync(both, { maxPixels: 320 * 240, pixelFormat: 'gray' });
    let frames = 0;
    let failure: StreamcoderError | null = null;
    try {
      while (dec.extractFrame()) frames++;
    } catch (error) {
      failure = error as StreamcoderError;
    }
    expect(frames).toBe(25);
    // Either the end, or (once too many packets in a row failed) ERR_INVALID_DATA: never a crash.
    if (failure) expect(failure.code).toBe('ERR_INVALID_DATA');
    else expect(dec.corruptPackets).toBeGreaterThan(0);
  });

  test('out of range is ERR_INVALID_ARGUMENT', () => {
    const source = fixture('h264-bframes.mp4');
    for (const maxPixels of [0, -1, 1.5, MAX_PIXELS + 1, Number.NaN, Infinity, '1000' as unknown as number]) {
      expect(errorOf(() => Decoder.openSync(source, { maxPixels })).code).toBe('ERR_INVALID_ARGUMENT');
    }
  });
});

/** What a fresh Decoder on `file` does in a child process (so that its peak memory is its own). */
async function inChild(file: string, call: 'extractGOP' | 'extractFrame', options: object = {}): Promise<{ code?: string; message?: string; frames: number; width: number; seconds: number; rssMB: number; faults: number }> {
  const script = `const { Decoder } = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
    const started = performance.now();
    const faultsBefore = process.resourceUsage().minorPageFault;
    let frames = 0, width = 0, failure = {};
    try {
      const dec = Decoder.openSync(${JSON.stringify(file)}, ${JSON.stringify(options)});
      width = dec.info.width;
      for (let item; (item = dec.${call}()); ) frames += Array.isArray(item) ? item.length : 1;
      dec.close();
    } catch (e) { failure = { code: e.code, message: e.message }; }
    console.log(JSON.stringify({ ...failure, frames, width, seconds: (performance.now() - started) / 1000, rssMB: process.resourceUsage().maxRSS / 1024, faults: process.resourceUsage().minorPageFault - faultsBefore }));`;
  const child = await runChild(process.execPath, ['-e', script], { timeout: 120_000 });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout.trim());
}

describe('maxGopBytes', () => {
  const source = fixture('h264-bframes.mp4'); // GOPs of 25 frames, 320x240

  test('the default is 1 GiB: a 20 KB crafted HEVC file (4096x8192 pictures of garbage) stops there, not at gigabytes', async () => {
    expect(DEFAULT_MAX_GOP_BYTES).toBe(2 ** 30);
    const crafted = craftedHevc(dir);
    expect(fs.statSync(crafted).size).toBeLessThan(32 * 1024);
    const gop = await inChild(crafted, 'extractGOP');
    expect([gop.code, gop.width, gop.frames]).toEqual(['ERR_LIMIT', 4096, 0]);
    // 100663296 bytes a picture (rgb24): the eleventh outgrows 1 GiB.
    expect(gop.message).toContain('outgrew maxGopBytes (1073741824 bytes) after 10 frames');
    // The decoder's own pictures at this size take ~0.8 GB (as ffmpeg's do), the GOP 1 GiB more at
    // most; with the old default of 2 GiB this file peaked at 2.9 GB.
    expect(gop.rssMB).toBeLessThan(2300);
  }, 180_000);

  test('a sync loop over its large pictures asks for huge pages: not a page fault per 4 KiB of every fresh picture', async () => {
    // Each extractFrame() hands over a fresh 100 MB buffer; its first writes cost 25,600 page
    // faults in 4 KiB pages (57 ms here, more than the conversion), 50 in 2 MiB pages. The hint
    // only works where the kernel offers transparent huge pages (Debian's default: "madvise").
    // Where the kernel could not find free 2 MiB pages it falls back to small ones, so what is
    // checked is that it was asked for them: its own count of huge-page faults, served or not.
    const thp = fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    const vmstat = () => Object.fromEntries(fs.readFileSync('/proc/vmstat', 'utf8').split('\n').filter((line) => line.startsWith('thp_fault_')).map((line) => [line.split(' ')[0], Number(line.split(' ')[1])]));
    const before = vmstat();
    const frames = await inChild(craftedHevc(dir), 'extractFrame');
    const after = vmstat();
    expect(frames.frames).toBe(100);
    const perPicture = frames.faults / frames.frames;
    const served = after.thp_fault_alloc - before.thp_fault_alloc;
    const fellBack = after.thp_fault_fallback - before.thp_fault_fallback;
    if (/\[never\]/.test(thp)) {
      expect(perPicture).toBeGreaterThan(10_000);
    } else {
      // A 100 MB picture spans 47 whole huge pages when its buffer starts page-aligned, fewer
      // where an allocator places it otherwise (4698 for 100 pictures under ASan's); without the
      // hint none is asked for.
      expect(served + fellBack).toBeGreaterThanOrEqual(100 * 40);
      // Under ASan each picture's shadow memory (12.5 MB) faults in small pages of its own.
      if (fellBack < 100 && !underSanitizer()) expect(perPicture).toBeLessThan(8_000);
    }
  }, 180_000);

  test('the same file with maxPixels at the largest picture an application expects is refused at open, cheaply', async () => {
    const refused = await inChild(craftedHevc(dir), 'extractFrame', { maxPixels: 1920 * 1080 });
    expect([refused.code, refused.frames]).toEqual(['ERR_LIMIT', 0]);
    expect(refused.message).toContain('4096x8192 (33554432 pixels), more than maxPixels (2073600)');
    expect(refused.rssMB).toBeLessThan(300);
  }, 60_000);

  test('a GOP past the bound fails with ERR_LIMIT, and reading goes on after the frames it took', async () => {
    const frameBytes = 320 * 240 * 3;
    using dec = Decoder.openSync(source, { maxGopBytes: 10 * frameBytes });
    const error = errorOf(() => dec.extractGOP());
    expect(error.code).toBe('ERR_LIMIT');
    expect(error.message).toContain('outgrew maxGopBytes (2304000 bytes) after 10 frames');
    expect(dec.extractFrame()!.index).toBe(10);
    // The async form alike.
    using again = await Decoder.open(source, { maxGopBytes: 10 * frameBytes });
    await expect(again.readGOP()).rejects.toMatchObject({ code: 'ERR_LIMIT' });
  });

  test('a GOP that fits is whole', () => {
    using dec = Decoder.openSync(source, { maxGopBytes: 25 * 320 * 240 * 3 });
    expect(dec.extractGOP()!.length).toBe(25);
    expect(dec.extractGOP()!.length).toBe(25);
  });

  test('out of range is ERR_INVALID_ARGUMENT', () => {
    for (const maxGopBytes of [0, -5, 2.5, Number.NaN]) {
      expect(errorOf(() => Decoder.openSync(source, { maxGopBytes })).code).toBe('ERR_INVALID_ARGUMENT');
    }
  });
});

test('Client: past maxCacheBytes the oldest frames are dropped and counted, as past cacheSize', async () => {
  const frameBytes = 320 * 240 * 3;
  const cli = await Client.open(fixture('h264-bframes.mp4'), { cacheSize: 64, maxCacheBytes: 3 * frameBytes });
  try {
    // A reader in order that does not keep up: the frames it never gets are losses (dropped).
    expect(() => cli.next(0)).toThrow(/ERR_TIMEOUT|No frame/);
    cli.start();
    const deadline = Date.now() + 20_000;
    while (cli.stats.received < 75 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const stats = cli.stats;
    expect(stats.received).toBe(75);
    expect(stats.cached).toBe(3);
    expect(stats.dropped).toBe(72);
    expect(stats.evicted).toBe(72);
  } finally {
    await cli.close();
  }
});
