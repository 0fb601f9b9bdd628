// The command line with sound and stream copy: push carries the input's audio by default (copied
// where the container takes it), --no-audio / --audio-codec / --audio-bitrate / --copy; record
// keeps a live stream's sound and copies what the file's container takes. Judged by ffprobe on
// what nginx-rtmp recorded or the file written.
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from './helpers/cli';
import { packetHashes } from './helpers/ffmpeg-cli';
import { fixture, tempDir } from './helpers/fixtures';
import { settledFile, startRtmpServer, type RtmpServer } from './helpers/servers';

let rtmp: RtmpServer;
const { dir, cleanup } = tempDir();
beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(async () => {
  await rtmp?.stop();
  cleanup();
});

const source = () => fixture('av.mp4'); // 160x120 H.264 at 25 fps and AAC 48 kHz stereo, 2 s

function streams(file: string): Record<string, string>[] {
  return JSON.parse(String(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,sample_rate,channels,width', '-of', 'json', file]))).streams;
}

function summaryOf(stdout: string): Record<string, any> {
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

describe('push', () => {
  test('carries the AAC track by default, copied packet for packet; the summary counts the audio packets', async () => {
    const result = await runCli(['push', source(), rtmp.recordUrl('a-default'), '--no-realtime', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const file = await settledFile(rtmp.recordingOf('a-default'));
    expect(packetHashes(file, 'a')).toEqual(packetHashes(source(), 'a'));
    const sizes = String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'packet=size', '-of', 'csv=p=0', source()]))
      .split('\n').filter((line) => /^\d/.test(line)).reduce((sum, line) => sum + parseInt(line, 10), 0);
    expect(summaryOf(result.stdout)).toMatchObject({ type: 'summary', frames: 50, audioPackets: packetHashes(source(), 'a').length, audioBytes: sizes });
  });

  test('--no-audio drops it; --audio-codec/--audio-bitrate encode it', async () => {
    expect((await runCli(['push', source(), rtmp.recordUrl('a-none'), '--no-realtime', '--no-audio', '--quiet'])).code).toBe(0);
    expect(streams(await settledFile(rtmp.recordingOf('a-none'))).map((s) => s.codec_type)).toEqual(['video']);

    const result = await runCli(['push', source(), rtmp.recordUrl('a-enc'), '--no-realtime', '--audio-codec', 'aac', '--audio-bitrate', '48k']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/pushed 50 frames .* \d+ audio packets/);
    const file = await settledFile(rtmp.recordingOf('a-enc'));
    expect(streams(file).find((s) => s.codec_type === 'audio')).toMatchObject({ codec_name: 'aac' });
    // Re-encoded at 48 kbit/s: other packets, and smaller ones than the 128 kbit/s source's.
    const bytes = (f: string) => String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a', '-show_entries', 'packet=size', '-of', 'csv=p=0', f])).split('\n').filter((line) => /^\d/.test(line)).reduce((a, b) => a + parseInt(b, 10), 0);
    expect(packetHashes(file, 'a')).not.toEqual(packetHashes(source(), 'a'));
    expect(bytes(file)).toBeLessThan(bytes(source()) * 0.6);
  });

  test('--copy relays the video as it is; an encoding option with it is a usage error', async () => {
    const result = await runCli(['push', source(), rtmp.recordUrl('v-copy'), '--copy', '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    const file = await settledFile(rtmp.recordingOf('v-copy'));
    expect(packetHashes(file, 'v')).toEqual(packetHashes(source(), 'v'));
    expect(packetHashes(file, 'a')).toEqual(packetHashes(source(), 'a'));

    const refused = await runCli(['push', source(), rtmp.recordUrl('never'), '--copy', '--size', '80x60']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe('streamcoder: --size means nothing with --copy');
  });
});

describe('record', () => {
  test('a live stream with sound: video and sound copied into the MP4 by default; --no-copy re-encodes, --no-audio drops the sound', async () => {
    const publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '-1', '-i', source(), '-c', 'copy', '-f', 'flv', rtmp.liveUrl('live-av')]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const copied = path.join(dir, 'copied.mp4');
      const result = await runCli(['record', rtmp.liveUrl('live-av'), copied, '--duration', '2', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      expect(streams(copied).map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual(['audio:aac', 'video:h264']);
      // Copied: every picture is one of the source's own packets.
      const own = new Set(packetHashes(source(), 'v'));
      expect(packetHashes(copied, 'v').every((hash) => own.has(hash))).toBe(true);
      expect(packetHashes(copied, 'a').length).toBeGreaterThan(80);

      const encoded = path.join(dir, 'encoded.mp4');
      expect((await runCli(['record', rtmp.liveUrl('live-av'), encoded, '--duration', '1', '--no-copy', '--no-audio', '--quiet'])).code).toBe(0);
      expect(streams(encoded).map((s) => s.codec_type)).toEqual(['video']);
      expect(packetHashes(encoded, 'v').some((hash) => own.has(hash))).toBe(false);
    } finally {
      publisher.kill('SIGKILL');
    }
  }, 60_000);

  test('a codec the container cannot hold is encoded instead of copied (Opus into FLV becomes AAC)', async () => {
    const opus = path.join(dir, 'opus.mkv');
    execFileSync('ffmpeg', ['-v', 'error', '-i', source(), '-c:v', 'copy', '-c:a', 'libopus', opus]);
    const out = path.join(dir, 'from-opus.flv');
    const result = await runCli(['record', opus, out, '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    expect(streams(out).map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual(['audio:aac', 'video:h264']);
    expect(packetHashes(out, 'v')).toEqual(packetHashes(source(), 'v'));
  });
});

describe('one timeline, taken from the source', () => {
  const frameTimes = (file: string) => String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'frame=best_effort_timestamp_time', '-of', 'csv=p=0', file]))
    .split('\n').filter((line) => /^-?\d/.test(line)).map((line) => parseFloat(line));

  test('a variable-frame-rate file (6 s, 105 frames with gaps) is pushed in its own time and keeps its gaps', async () => {
    const vfr = path.join(dir, 'vfr.mkv');
    // 35 frames of every 50 kept: a 0.6 s gap after each run (the "6.0 s with gaps").
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=6', '-vf', "select='lt(mod(n\\,50)\\,35)'",
      '-fps_mode', 'vfr', '-c:v', 'libx264', '-preset', 'ultrafast', vfr]);
    const source = frameTimes(vfr);
    expect(source.length).toBe(105);
    const began = performance.now();
    const result = await runCli(['push', vfr, rtmp.recordUrl('vfr'), '--quiet']);
    const wall = (performance.now() - began) / 1000;
    expect(result.code, result.stderr).toBe(0);
    // Paced by the frames' own times: 5.36 s from the first frame to the last (at an even
    // 25 fps the 105 frames would have gone out in 4.2 s, 1.4x fast).
    expect(wall).toBeGreaterThan(5.2);
    const out = frameTimes(await settledFile(rtmp.recordingOf('vfr')));
    expect(out.length).toBe(105);
    // The same times, to FLV's millisecond, from the first frame on.
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i] - out[0] - (source[i] - source[0])), `frame ${i}`).toBeLessThan(0.0015);
  }, 30_000);
});
