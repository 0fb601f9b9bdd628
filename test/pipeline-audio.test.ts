// pipeline() with sound: the input's audio carried by default (copied where the container takes
// it, else encoded), dropped or encoded on request, stream copy of the video, and A/V sync
// measured by the ffmpeg CLI in what nginx-rtmp recorded (flashes against beeps), at the start,
// after 60 s, and across loops of the input.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { StreamcoderError, pipeline } from '../lib';
import { flashBeepArgs, measureSync } from './helpers/av-sync';
import { packetHashes } from './helpers/ffmpeg-cli';
import { fixture, tempDir } from './helpers/fixtures';
import { settledFile, startRtmpServer, startRtspListener, type RtmpServer } from './helpers/servers';

const fast = { preset: 'ultrafast', gopSize: 25 } as const;
let rtmp: RtmpServer;
const { dir, cleanup } = tempDir();

beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(async () => {
  await rtmp?.stop();
  cleanup();
});

interface Probed {
  streams: { codec_type: string; codec_name: string; sample_rate?: string; channels?: number; start_time?: string; duration?: string }[];
}

function probe(file: string): Probed {
  return JSON.parse(String(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,sample_rate,channels,start_time,duration', '-of', 'json', file])));
}

async function recorded(name: string): Promise<string> {
  return settledFile(rtmp.recordingOf(name));
}

function make(name: string, args: string[]): string {
  const file = path.join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args, file]);
  return file;
}

describe('sound through pipeline() to nginx-rtmp', () => {
  test('by default an AAC track is copied (FLV takes AAC): every packet arrives unchanged', async () => {
    const input = fixture('av.mp4');
    const stats = await pipeline({ input, output: rtmp.recordUrl('copied'), server: fast, realtime: false });
    const file = await recorded('copied');
    const streams = probe(file).streams;
    expect(streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(streams.find((s) => s.codec_type === 'audio')).toMatchObject({ codec_name: 'aac', sample_rate: '48000', channels: 2 });
    // Copied: the same AAC frames, byte for byte, in the same order.
    expect(packetHashes(file, 'a')).toEqual(packetHashes(input, 'a'));
    expect(stats.server!.audioPackets).toBe(packetHashes(input, 'a').length);
    expect(stats.frames).toBe(50);
  });

  test('audio: false drops it; an object encodes it with those settings', async () => {
    const input = fixture('av-44k-mono.mp4');
    await pipeline({ input, output: rtmp.recordUrl('silent'), server: fast, realtime: false, audio: false });
    expect(probe(await recorded('silent')).streams.map((s) => s.codec_type)).toEqual(['video']);

    await pipeline({ input, output: rtmp.recordUrl('encoded'), server: fast, realtime: false, audio: { codec: 'aac', bitRate: '64k', sampleRate: 48000, channels: 2 } });
    const file = await recorded('encoded');
    expect(probe(file).streams.find((s) => s.codec_type === 'audio')).toMatchObject({ codec_name: 'aac', sample_rate: '48000', channels: 2 });
    // 2 s of sound: 94 AAC frames of 1024 samples at 48 kHz (FLV keeps no stream durations).
    expect(packetHashes(file, 'a').length).toBeGreaterThanOrEqual(93);
  });

  test('Opus, which FLV cannot hold, is encoded to AAC by default; audio: "copy" refuses it before anything is sent', async () => {
    const input = make('opus.webm', ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=2', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2',
      '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libopus']);
    await pipeline({ input, output: rtmp.recordUrl('opus'), server: fast, realtime: false });
    expect(probe(await recorded('opus')).streams.find((s) => s.codec_type === 'audio')).toMatchObject({ codec_name: 'aac' });

    const error = await pipeline({ input, output: rtmp.recordUrl('opus-copy'), server: fast, realtime: false, audio: 'copy' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamcoderError);
    expect(error).toMatchObject({ code: 'ERR_UNSUPPORTED', message: expect.stringMatching(/opus.*encode it instead/) });
  });

  test("video: 'copy' relays the H.264 as it is (packet for packet) with the sound", async () => {
    const input = fixture('av.mp4');
    const stats = await pipeline({ input, output: rtmp.recordUrl('relay'), realtime: false, video: 'copy' });
    const file = await recorded('relay');
    expect(packetHashes(file, 'v')).toEqual(packetHashes(input, 'v'));
    expect(packetHashes(file, 'a')).toEqual(packetHashes(input, 'a'));
    expect(stats.frames).toBe(50);
  });

  test('bad combinations are refused before anything starts', async () => {
    const input = fixture('av.mp4');
    const cases: [object, RegExp][] = [
      [{ audio: 'loud' }, /audio/],
      [{ video: 'passthrough' }, /video/],
      [{ server: { audio: 'copy' } }, /pipeline's own audio option\) for server\.audio/],
      [{ decoder: { audio: true } }, /pipeline's own audio option\) for decoder\.audio/],
    ];
    for (const [extra, message] of cases) {
      const error = await pipeline({ input, output: rtmp.recordUrl('never'), ...extra } as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(extra)).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(message) });
    }
  });
});

describe('A/V sync, measured in what nginx-rtmp recorded', () => {
  let source60 = '';
  beforeAll(() => {
    // A flash and a beep at every whole second, for 61 s (B-frames in the source, as cameras and
    // files have them).
    source60 = make('flash-beep-61s.mp4', flashBeepArgs(61, { bframes: 2 }));
  }, 120_000);

  const expectInSync = (file: string, from: number, to: number) => {
    const { flashes, offsets } = measureSync(file);
    const start = offsets.filter((o) => o.flash - flashes[0] < from + 1.5);
    const end = offsets.filter((o) => o.flash - flashes[0] >= to - 0.5);
    expect(start.length, 'flashes at the start').toBeGreaterThan(0);
    expect(end.length, `flashes after ${to} s (${offsets.length} flashes with a beep, the last at ${offsets.at(-1)?.flash})`).toBeGreaterThan(0);
    // Under one video frame (40 ms at 25 fps), at the start and at the end.
    for (const { flash, offset } of [...start, ...end]) expect(Math.abs(offset), `flash at ${flash.toFixed(2)} s`).toBeLessThan(0.04);
    return offsets;
  };

  test('encoded picture, copied sound: in sync at the start and after 60 s', async () => {
    await pipeline({ input: source60, output: rtmp.recordUrl('sync-copy'), server: fast, realtime: false });
    expectInSync(await recorded('sync-copy'), 0, 60);
  }, 120_000);

  test('encoded picture, sound decoded and re-encoded (44.1 kHz mono source to 48 kHz stereo): in sync after 60 s', async () => {
    const input = make('flash-beep-44k.mp4', ['-i', source60, '-c:v', 'copy', '-c:a', 'aac', '-ar', '44100', '-ac', '1']);
    await pipeline({ input, output: rtmp.recordUrl('sync-encode'), server: fast, realtime: false, audio: { codec: 'aac', sampleRate: 48000, channels: 2 } });
    const file = await recorded('sync-encode');
    expect(probe(file).streams.find((s) => s.codec_type === 'audio')).toMatchObject({ sample_rate: '48000', channels: 2 });
    expectInSync(file, 0, 60);
  }, 120_000);

  test('sound that starts 200 ms after the picture still does', async () => {
    const input = make('late.mp4', flashBeepArgs(6, { audioDelay: 0.2 }));
    await pipeline({ input, output: rtmp.recordUrl('late'), server: fast, realtime: false });
    const { offsets } = measureSync(await recorded('late'));
    expect(offsets.length).toBeGreaterThanOrEqual(4);
    for (const { offset } of offsets) expect(Math.abs(offset - 0.2)).toBeLessThan(0.04);
  });

  test('paced in real time (5 s), and a 4 s input looped 3 times: in sync through every loop', async () => {
    const input = make('loop.mp4', flashBeepArgs(4));
    const began = performance.now();
    const depths: number[] = [];
    const stats = await pipeline({ input, output: rtmp.recordUrl('loop'), server: fast, loop: true, maxFrames: 300, onProgress: ({ depth }) => depths.push(depth) });
    expect(stats.frames).toBe(300);
    // Paced, the decoder runs ahead and the ring stays full: of pictures, 8 (the default slots),
    // never more, though its spare bytes for the sound have room for a few more of these.
    expect(Math.max(...depths)).toBe(8);
    // Paced: 300 frames at 25 fps take 12 s (loose: a busy machine may be late, never early).
    expect(performance.now() - began).toBeGreaterThan(11_000);
    const offsets = expectInSync(await recorded('loop'), 0, 8);
    // A flash a second for 12 s: the loops continue the timeline, no gap and no overlap.
    expect(offsets.length).toBeGreaterThanOrEqual(11);
    const spacing = offsets.slice(1).map((o, i) => o.flash - offsets[i].flash);
    for (const gap of spacing) expect(Math.abs(gap - 1)).toBeLessThan(0.05);
  }, 60_000);
});

describe('A/V sync through RTSP', () => {
  test('pipeline() publishes picture and sound (AAC) over RTSP, paced: in sync in what the receiving server recorded', async () => {
    const rtsp = await startRtspListener();
    try {
      const input = make('rtsp-av.mp4', flashBeepArgs(6));
      await pipeline({ input, output: rtsp.url, server: { ...fast, transport: 'tcp' } });
      await rtsp.finished();
      const file = rtsp.recording;
      expect(probe(file).streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual(['audio:aac', 'video:h264']);
      const { flashes, offsets } = measureSync(file);
      expect(flashes.length).toBe(6);
      expect(offsets.length).toBeGreaterThanOrEqual(5);
      for (const { flash, offset } of offsets) expect(Math.abs(offset), `flash at ${flash.toFixed(2)} s`).toBeLessThan(0.04);
    } finally {
      await rtsp.stop();
    }
  }, 60_000);
});
