// A channel that never goes dark (issue 23): pipeline() with a slate and fallbacks, against real
// servers. A live source (an ffmpeg publisher into nginx-rtmp) is relayed to another stream name,
// and an independent reader (another ffmpeg) watches that stream the whole time, frame by frame:
// when the publisher is killed (SIGKILL), the reader stays connected and the slate (a magenta
// picture of another size) comes on air within inputTimeoutMs; when it publishes again, the
// program (a blue picture with a moving bar) is back; the timeline never stops.
import fs from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pipeline, redactUrl, type InputSwitchEvent, type PipelineStats } from '../lib';
import { fixture, tempDir } from './helpers/fixtures';
import { flashBeepArgs, measureSync } from './helpers/av-sync';
import { kill, publish, Watcher } from './helpers/channel';
import { settledFile, startRtmpServer, type RtmpServer } from './helpers/servers';

const { dir, cleanup } = tempDir('streamcoder-failover-');
let rtmp: RtmpServer;
beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(async () => {
  await rtmp?.stop();
  cleanup();
});

/** The figures of a run stopped by its signal: it must reject with ERR_ABORTED, nothing else. */
async function abortedStats(result: Promise<PipelineStats>): Promise<PipelineStats> {
  const error = await result.then(() => null, (e: unknown) => e as { code: string; stats: PipelineStats });
  expect(error?.code).toBe('ERR_ABORTED');
  return error!.stats;
}

/** A magenta PNG of another size than the output (160x90 against 320x180). */
function magentaSlate(): string {
  const file = path.join(dir, 'slate.png');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=magenta:size=160x90', '-frames:v', '1', file]);
  return file;
}

describe('the program, the slate, and back', () => {
  test('SIGKILL the source: the reader stays connected and sees the slate within inputTimeoutMs; publish again: the program is back', async () => {
    const source = rtmp.liveUrl('src1');
    const out = rtmp.liveUrl('out1');
    let publisher = publish(source, 'blue');
    const events: InputSwitchEvent[] = [];
    const controller = new AbortController();
    let watcher: Watcher | null = null;
    let result: Promise<PipelineStats> | null = null;
    try {
      // The publisher first: the pipeline's input opens on it.
      await new Promise((r) => setTimeout(r, 1500));
      result = pipeline({
        input: source,
        output: out,
        slate: magentaSlate(),
        inputTimeoutMs: 1000,
        server: { preset: 'ultrafast', bitRate: '500k', gopSize: 25 },
        onInputSwitch: (e) => events.push(e),
        signal: controller.signal,
      });
      result.catch(() => {});
      watcher = new Watcher(out);
      await watcher.until('program', 25, 15_000);

      const killedAt = Date.now();
      await kill(publisher);
      const slateAt = await watcher.until('slate', 10, 8_000);
      expect(slateAt - killedAt).toBeLessThan(1000 + 1500);
      expect(watcher.connected).toBe(true);

      publisher = publish(source, 'blue');
      const backAt = await watcher.until('program', 25, 15_000);
      expect(watcher.connected).toBe(true);
      // The output never stopped: no wait between pictures longer than inputTimeoutMs + 1 s.
      expect(watcher.longestGap(killedAt - 1000)).toBeLessThan(2000);
      expect(backAt).toBeGreaterThan(slateAt);

      expect(events.map((e) => [e.from, e.to])).toEqual([[redactUrl(source), 'slate'], ['slate', redactUrl(source)]]);
      expect(events[0].reason).toMatch(/input 0/);
    } finally {
      watcher?.stop();
      await kill(publisher);
      controller.abort();
    }
    const stats = await abortedStats(result!);
    expect(stats.input?.switches).toBe(2);
    expect(stats.input?.slateSeconds).toBeGreaterThan(0.5);
    expect(stats.input?.inputSeconds[0]).toBeGreaterThan(2);
    expect(stats.outputs[0].error).toBeNull();
  }, 90_000);
});

/** A running channel: the pipeline, its events, and a reader watching its output. */
async function channel(name: string, options: { fallbacks?: string[]; slate?: string | null; inputTimeoutMs?: number }) {
  const out = rtmp.liveUrl(`${name}-out`);
  const events: InputSwitchEvent[] = [];
  const controller = new AbortController();
  const result = pipeline({
    input: rtmp.liveUrl(`${name}-src`),
    output: out,
    ...(options.fallbacks ? { fallbacks: options.fallbacks } : {}),
    ...(options.slate === null ? {} : { slate: options.slate ?? magentaSlate() }),
    inputTimeoutMs: options.inputTimeoutMs ?? 1000,
    server: { preset: 'ultrafast', bitRate: '500k', gopSize: 25 },
    onInputSwitch: (e) => events.push(e),
    signal: controller.signal,
  });
  result.catch(() => {});
  const watcher = new Watcher(out);
  const stop = async (): Promise<PipelineStats> => {
    watcher.stop();
    controller.abort();
    return abortedStats(result);
  };
  return { events, watcher, stop };
}

describe('fallbacks and cycles', () => {
  test('a fallback standing by: primary -> fallback at once -> primary (switchBack) -> slate (both gone) -> primary', async () => {
    const primaryUrl = rtmp.liveUrl('fb-src');
    const backupUrl = rtmp.liveUrl('fb-backup');
    let primary = publish(primaryUrl, 'blue');
    // At another frame rate: the outputs keep theirs (pictures dropped by time).
    let backup = publish(backupUrl, 'lime', 50);
    let run: Awaited<ReturnType<typeof channel>> | null = null;
    try {
      await new Promise((r) => setTimeout(r, 1500));
      run = await channel('fb', { fallbacks: [backupUrl] });
      const { watcher, events } = run;
      await watcher.until('program', 25, 15_000);
      const start = Date.now();
      await kill(primary);
      // The backup stood by, warm: it takes over at once, with no slate in between.
      const fallbackAt = await watcher.until('fallback', 25, 10_000);
      expect(watcher.frames.filter((f) => f.at >= start && f.colour === 'slate')).toEqual([]);
      await new Promise((r) => setTimeout(r, 2000));
      const second = watcher.frames.filter((f) => f.at >= fallbackAt + 500 && f.at < fallbackAt + 1500 && f.colour === 'fallback').length;
      expect(second, 'fallback pictures in a second at the reader').toBeGreaterThanOrEqual(20);
      expect(second, 'fallback pictures in a second at the reader').toBeLessThanOrEqual(30);
      // The primary back while the backup runs: it replaces it (switchBack).
      primary = publish(primaryUrl, 'blue');
      await watcher.until('program', 25, 15_000);
      await Promise.all([kill(primary), kill(backup)]);
      await watcher.until('slate', 10, 8_000);
      primary = publish(primaryUrl, 'blue');
      await watcher.until('program', 25, 15_000);
      expect(watcher.connected).toBe(true);
      expect(watcher.longestGap(start)).toBeLessThan(2000);
      const [p, b] = ['input 0', 'input 1'].map((prefix) => `${prefix} (${redactUrl(prefix === 'input 0' ? primaryUrl : backupUrl)})`);
      // Both killed at once: the backup, dead too, cannot stand in; the slate does.
      expect(events.map((e) => `${e.from} > ${e.to}`)).toEqual([`${p} > ${b}`, `${b} > ${p}`, `${p} > slate`, `slate > ${p}`]);
      expect(events[0].reason).toMatch(/^no picture from input 0 for 1000 ms; input 1 stood by$|^input 0 (failed|ended).*; input 1 stood by$/);
      expect(events[1].reason).toMatch(/input 0 is back/);
      const stats = await run.stop();
      run = null;
      expect(stats.input?.switches).toBe(4);
      expect(stats.input?.inputSeconds[1]).toBeGreaterThan(0.5);
      expect(stats.input?.current).toBe(p);
    } finally {
      await run?.stop();
      await Promise.all([kill(primary), kill(backup)]);
    }
  }, 90_000);

  test('ten drop-and-return cycles in a row, no wait between pictures over inputTimeoutMs + 1 s', async () => {
    const primaryUrl = rtmp.liveUrl('cy-src');
    let primary = publish(primaryUrl, 'blue');
    let run: Awaited<ReturnType<typeof channel>> | null = null;
    try {
      await new Promise((r) => setTimeout(r, 1500));
      run = await channel('cy', {});
      const { watcher, events } = run;
      await watcher.until('program', 25, 15_000);
      const start = Date.now();
      for (let cycle = 0; cycle < 10; cycle++) {
        await kill(primary);
        await watcher.until('slate', 5, 8_000);
        primary = publish(primaryUrl, 'blue');
        await watcher.until('program', 10, 15_000);
      }
      expect(watcher.connected).toBe(true);
      // Never longer without a picture than inputTimeoutMs and a second.
      expect(watcher.longestGap(start)).toBeLessThan(2000);
      expect(events).toHaveLength(20);
      const stats = await run.stop();
      run = null;
      expect(stats.input?.switches).toBe(20);
      expect(stats.outputs[0].error).toBeNull();
    } finally {
      await run?.stop();
      await kill(primary);
    }
  }, 180_000);
});

describe('a channel whose source is not there yet', () => {
  test('no input opens at the start: the slate goes on air at its own size (with silence); the source, once published at a lower frame rate, replaces it at the outputs\' rate', async () => {
    const source = rtmp.liveUrl('late-src');
    const out = rtmp.recordUrl('late-out');
    const events: InputSwitchEvent[] = [];
    const controller = new AbortController();
    const result = pipeline({
      input: source, output: out, slate: magentaSlate(), inputTimeoutMs: 1000,
      server: { preset: 'ultrafast', bitRate: '500k', gopSize: 25 }, onInputSwitch: (e) => events.push(e), signal: controller.signal,
    });
    result.catch(() => {});
    const watcher = new Watcher(out);
    let publisher: ReturnType<typeof publish> | null = null;
    try {
      await watcher.until('slate', 25, 15_000);
      // At 15 fps, into outputs opened at 25 (the slate's default): pictures repeated by time.
      publisher = publish(source, 'blue', 15);
      const programAt = await watcher.until('program', 25, 15_000);
      await new Promise((r) => setTimeout(r, 2000));
      const second = watcher.frames.filter((f) => f.at >= programAt + 500 && f.at < programAt + 1500 && f.colour === 'program').length;
      expect(second, 'program pictures in a second at the reader').toBeGreaterThanOrEqual(20);
      expect(second, 'program pictures in a second at the reader').toBeLessThanOrEqual(30);
      expect(events.map((e) => [e.from, e.to])).toEqual([[redactUrl(source), 'slate'], ['slate', redactUrl(source)]]);
      expect(events[0].reason).toMatch(/^input 0 did not open: /);
    } finally {
      watcher.stop();
      if (publisher) await kill(publisher);
      controller.abort();
    }
    await abortedStats(result);
    // The output was opened at the slate's size, 160x90, and the program scaled to it; sound throughout.
    const recording = await settledFile(rtmp.recordingOf('late-out'));
    const streams = String(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,width,height', '-of', 'csv=p=0', recording])).trim().split('\n').sort();
    expect(streams).toEqual(['audio', 'video,160,90']);
  }, 60_000);
});

describe('sound through the switches', () => {
  test('flash and beep: in sync before the source drops and after it is back; silence with the slate', async () => {
    const sourceUrl = rtmp.liveUrl('av-src');
    const flashBeep = () => spawn('ffmpeg', ['-v', 'error', '-re', ...flashBeepArgs(60), '-f', 'flv', sourceUrl], { stdio: 'ignore' });
    let publisher = flashBeep();
    const controller = new AbortController();
    let result: Promise<PipelineStats> | null = null;
    let watcher: Watcher | null = null;
    try {
      await new Promise((r) => setTimeout(r, 1500));
      result = pipeline({
        input: sourceUrl,
        output: rtmp.recordUrl('av-out'),
        slate: magentaSlate(),
        inputTimeoutMs: 1000,
        server: { preset: 'ultrafast', bitRate: '500k', gopSize: 25 },
        signal: controller.signal,
      });
      result.catch(() => {});
      // Watched live as it is recorded: the program (testsrc2, 'other' colours), the slate, and
      // the program again for 4 s, however long a busy machine takes to bring it back.
      watcher = new Watcher(rtmp.recordUrl('av-out'));
      await watcher.until('other', 100, 20_000);
      await kill(publisher);
      await watcher.until('slate', 25, 10_000);
      const republishedAt = Date.now();
      publisher = flashBeep();
      await watcher.until('other', 100, 30_000, republishedAt);
    } finally {
      watcher?.stop();
      await kill(publisher);
      controller.abort();
    }
    expect((await abortedStats(result!)).input?.switches).toBe(2);
    const recording = await settledFile(rtmp.recordingOf('av-out'));
    const { flashes, beeps, offsets } = measureSync(recording);
    // A flash a second from either publish, each with its beep within a video frame (40 ms).
    const gap = flashes.findIndex((t, i) => i > 0 && t - flashes[i - 1] > 1.5);
    expect(gap, `flashes at ${flashes.map((t) => t.toFixed(2)).join(' ')}`).toBeGreaterThan(1);
    expect(flashes.length - gap, 'flashes after the return').toBeGreaterThanOrEqual(3);
    expect(offsets.length).toBeGreaterThanOrEqual(flashes.length - 1);
    for (const { flash, offset } of offsets) expect(Math.abs(offset), `flash at ${flash.toFixed(2)} s`).toBeLessThan(0.04);
    // While the slate was on (its magenta pictures): no beep, but sound all the same (silence),
    // without a hole. (The program's first picture back may come with the tail of a beep whose
    // flash was just before it: content cut where the switch came, not a beep on the slate.)
    const lumas = String(execFileSync('ffprobe', ['-v', 'error', '-f', 'lavfi', `movie=${recording},signalstats`,
      '-show_entries', 'frame=best_effort_timestamp_time:frame_tags=lavfi.signalstats.YAVG', '-of', 'csv=p=0'], { maxBuffer: 64 << 20 }))
      .trim().split('\n').map((line) => line.split(',').map(Number));
    const slateLuma = lumas.find(([t]) => t > flashes[gap - 1] + 1.5)![1];
    const slate = lumas.filter(([t, y]) => t > flashes[gap - 1] && t < flashes[gap] && Math.abs(y - slateLuma) < 1).map(([t]) => t);
    expect(slate.at(-1)! - slate[0]).toBeGreaterThan(1);
    // (Within half a frame of the slate's ends sound may belong to the pictures beside it: an AAC
    // frame is 21 ms.)
    expect(beeps.filter((t) => t > slate[0] - 0.02 && t < slate.at(-1)! + 0.02)).toEqual([]);
    const audioTimes = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', recording])
      .toString().split('\n').map((line) => parseFloat(line)).filter((t) => Number.isFinite(t));
    const holes = audioTimes.slice(1).map((t, i) => t - audioTimes[i]).filter((d) => d > 0.1);
    expect(holes, 'holes in the sound').toEqual([]);
    expect(audioTimes.at(-1)! - audioTimes[0]).toBeGreaterThan(flashes.at(-1)! - flashes[0]);
  }, 90_000);
});

describe('files, the black card, bad inputs', () => {
  test('a file primary that ends, a fallback that never connects, no slate: black pictures until maxFrames, the fallback tried all along', async () => {
    const input = fixture('h264-bframes.mp4');  // 75 pictures, 25 fps
    const output = path.join(dir, 'card.mkv');
    const events: InputSwitchEvent[] = [];
    const stats = await pipeline({
      input,
      output,
      fallbacks: ['rtmp://127.0.0.1:9/live/nobody'],  // the discard port: refused at once
      inputTimeoutMs: 500,
      maxFrames: 100,
      server: { preset: 'ultrafast', gopSize: 25 },
      onInputSwitch: (e) => events.push(e),
    });
    expect(stats.frames).toBe(100);
    expect(events.map((e) => [e.from, e.to, e.reason])).toEqual([[`input 0 (${input})`, 'slate', 'input 0 ended']]);
    expect(stats.input?.slateSeconds).toBeGreaterThan(0.5);
    // The last 25 pictures are black, after the clip's own.
    const lumas = String(execFileSync('ffprobe', ['-v', 'error', '-f', 'lavfi', `movie=${output},signalstats`,
      '-show_entries', 'frame=best_effort_timestamp_time:frame_tags=lavfi.signalstats.YAVG', '-of', 'csv=p=0']))
      .trim().split('\n').map((line) => line.split(',').map(Number));
    expect(lumas).toHaveLength(100);
    expect(lumas.slice(75).every(([, y]) => y < 20)).toBe(true);
    expect(lumas.slice(0, 75).every(([, y]) => y > 40)).toBe(true);
    // One timeline: a frame time apart throughout, the switch included (the file, paced, ends at
    // its last picture's time, and the card follows a frame later).
    const steps = lumas.slice(1).map(([t], i) => Math.round((t - lumas[i][0]) * 1000));
    expect(Math.max(...steps)).toBeLessThanOrEqual(40 + 5);
  }, 60_000);

  test('a slate that is not an image or a clip: the pipeline rejects before anything is sent, naming it', async () => {
    const slate = path.join(dir, 'not-an-image.png');
    fs.writeFileSync(slate, 'this is text');
    const output = path.join(dir, 'never-sent.flv');
    const error = await pipeline({ input: fixture('h264-bframes.mp4'), output, slate }).then(() => null, (e: unknown) => e as { code: string; message: string });
    expect(error?.code).toMatch(/^ERR_/);
    expect(error?.message).toContain('slate');
    expect(error?.message).toContain(slate);
    expect(fs.existsSync(output)).toBe(false);
  });
});

describe('thumbnails', () => {
  test('a JPEG of what the outputs are sent, every everyMs, at the width asked; bad options refused', async () => {
    const jpegs: Uint8Array[] = [];
    const output = path.join(dir, 'thumbnailed.mkv');
    await pipeline({ input: fixture('h264-bframes.mp4'), output, server: { preset: 'ultrafast' }, thumbnails: { onThumbnail: (j) => jpegs.push(j), width: 64, everyMs: 500 } });
    // 3 s paced: a thumbnail each half second once the first picture went out.
    expect(jpegs.length).toBeGreaterThanOrEqual(3);
    const file = path.join(dir, 'thumbnail.jpg');
    fs.writeFileSync(file, jpegs[0]);
    const probed = String(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', file])).trim();
    expect(probed).toBe('mjpeg,64,48');  // the clip is 320x240
    for (const bad of [{ width: 8, onThumbnail: () => {} }, { everyMs: 10, onThumbnail: () => {} }, { width: 64 }, { onThumbnail: () => {}, size: 3 }]) {
      const error = await pipeline({ input: fixture('h264-bframes.mp4'), output, thumbnails: bad as never }).then(() => null, (e: unknown) => e as { code: string });
      expect(error?.code, JSON.stringify(bad)).toBe('ERR_INVALID_ARGUMENT');
    }
  }, 60_000);
});

describe('what is refused', () => {
  test('fallbacks with copied video, a looped input, the workers engine or copied sound: ERR_INVALID_ARGUMENT before anything opens', async () => {
    const input = fixture('av.mp4');
    const output = path.join(dir, 'never.flv');
    for (const extra of [{ video: 'copy' }, { loop: true }, { engine: 'workers' }, { audio: 'copy' }] as const) {
      const error = await pipeline({ input, output, slate: input, ...extra }).then(() => null, (e: unknown) => e as { code: string; message: string });
      expect(error?.code, JSON.stringify(extra)).toBe('ERR_INVALID_ARGUMENT');
      expect(error?.message).toMatch(/slate/);
    }
    for (const bad of [{ inputTimeoutMs: 50 }, { fallbacks: 'x' }, { switchBack: 1 }, { onInputSwitch: 'x' }]) {
      const error = await pipeline({ input, output, ...(bad as object) }).then(() => null, (e: unknown) => e as { code: string });
      expect(error?.code, JSON.stringify(bad)).toBe('ERR_INVALID_ARGUMENT');
    }
  });
});
