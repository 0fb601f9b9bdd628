// The streamcoder command line as users run it: a child process, its output and exit codes.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fixture } from './helpers/fixtures';
import { probeFrameCount } from './helpers/ffmpeg-cli';
import { runCli, startCli } from './helpers/cli';
import { settledFile, startRtmpServer, type RtmpServer } from './helpers/servers';

function ffprobeStream(file: string): Record<string, string> {
  const out = String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,pix_fmt,avg_frame_rate,time_base', '-of', 'default=nw=1', file]));
  return Object.fromEntries(out.trim().split('\n').map((line) => line.split('=') as [string, string]));
}

describe('probe', () => {
  test.each(['h264-bframes.mp4', 'vp9.webm', 'audio-first.mkv', 'tenbit.mkv'] as const)('%s: --json matches ffprobe', async (name) => {
    const file = fixture(name);
    const result = await runCli(['probe', file, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const info = JSON.parse(result.stdout);
    const reference = ffprobeStream(file);
    expect(info.codec).toBe(reference.codec_name);
    expect(info.sourceWidth).toBe(Number(reference.width));
    expect(info.sourceHeight).toBe(Number(reference.height));
    expect(info.sourcePixelFormat).toBe(reference.pix_fmt);
    // The source's, not the probing decoder's rgb24 (10-bit HEVC: yuv420p10le).
    expect(info.pixelFormat).toBe(reference.pix_fmt);
    expect([info.width, info.height]).toEqual([Number(reference.width), Number(reference.height)]);
    expect(`${info.frameRate.num}/${info.frameRate.den}`).toBe(reference.avg_frame_rate);
    expect(`${info.timeBase.num}/${info.timeBase.den}`).toBe(reference.time_base);
  });

  test('the table names the codec, size and frame rate', async () => {
    const result = await runCli(['probe', fixture('h264-bframes.mp4')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^codec\s+h264$/m);
    expect(result.stdout).toMatch(/^size\s+320x240$/m);
    expect(result.stdout).toMatch(/^frame rate\s+25\/1/m);
  });

  test('a missing file: exit 1, one clear line, no stack trace', async () => {
    const result = await runCli(['probe', '/nonexistent/clip.mp4']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual(["streamcoder: Cannot open '/nonexistent/clip.mp4': No such file or directory"]);
  });

  test('credentials in a URL are masked in errors, even with --verbose', async () => {
    const result = await runCli(['probe', 'rtsp://admin:topsecret@127.0.0.1:1/cam', '--timeout', '2000', '--verbose', '--log-level', 'debug']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('rtsp://***@127.0.0.1:1/cam');
    expect(result.stderr).not.toContain('topsecret');
    expect(result.stdout).not.toContain('topsecret');
  });
});

describe('arguments', () => {
  test.each([
    [['probe'], /'probe' expects <input>/],
    [['probe', 'a.mp4', '--bogus'], /unknown option --bogus/],
    [['probe', 'a.mp4', '--timeout', 'soon'], /--timeout expects an integer/],
    [['probe', 'a.mp4', '--log-level', 'loud'], /--log-level expects one of quiet, panic, fatal, error, warning, info, verbose, debug, trace/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('%j: exit 2 with a message', async (args, message) => {
    const result = await runCli(args as string[]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  test('--help for the tool and for each command', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('probe');
    const probe = await runCli(['probe', '--help']);
    expect(probe.code).toBe(0);
    expect(probe.stdout).toContain('--timeout');
  });

  test('--version prints the package version', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
    const result = await runCli(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${version}\n`);
  });

  test.each([
    [['help', 'push'], 'push'],
    [['push', '--help'], 'push'],
    [['help', 'probe'], 'probe'],
    [['probe', '--help'], 'probe'],
    [['help', 'record'], 'record'],
  ])('%j prints that command\'s own help', async (args, command) => {
    const result = await runCli(args);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: streamcoder ${command} `));
    const push = /--bitrate|--slots|--loop/;
    const own = { push: ['--slots', '--loop', '--bframes'], probe: ['--timeout', '--json'], record: ['--duration', '--crf'] }[command]!;
    for (const option of own) expect(result.stdout).toContain(option);
    if (command === 'probe') expect(result.stdout).not.toMatch(push);
  });

  test('help for an unknown command: exit 2', async () => {
    const result = await runCli(['help', 'frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});

describe('push and record against nginx-rtmp', () => {
  let rtmp: RtmpServer;
  beforeAll(async () => {
    rtmp = await startRtmpServer();
  });
  afterAll(() => rtmp?.stop());

  test('push: every frame arrives (nginx recording, ffprobe); the non-TTY progress is parseable key=value lines', async () => {
    const file = fixture('h264-bframes.mp4');
    const result = await runCli(['push', file, rtmp.recordUrl('cli'), '--gop', '25', '--bitrate', '1M']);
    expect(result.code, result.stderr).toBe(0);
    const recorded = await settledFile(rtmp.recordingOf('cli'));
    expect(probeFrameCount(recorded)).toBe(probeFrameCount(file));
    const lines = result.stdout.trim().split('\n').filter((line) => line.startsWith('time='));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const last = Object.fromEntries(lines.at(-1)!.split(' ').map((pair) => pair.split('=')));
    // Late frames depend on how busy the machine is; they must be a count.
    expect(last).toMatchObject({ frames: '75', drops: '0', depth: '0/8' });
    expect(last.late).toMatch(/^\d+$/);
    expect(last.time).toBe('00:00:03.00');
    expect(Number.parseFloat(last.speed)).toBeGreaterThan(0.8);
    expect(result.stdout).toContain('pushed 75 frames');
  });

  test('push --json: one JSON object per report', async () => {
    const result = await runCli(['push', fixture('h264-bframes.mp4'), rtmp.liveUrl('json'), '--json', '--no-realtime']);
    expect(result.code, result.stderr).toBe(0);
    const reports = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(reports.at(-1)).toMatchObject({ frames: 75, lateFrames: 0, droppedFrames: 0 });
  });

  test('Ctrl-C (SIGINT) mid-push: the stream is flushed and closed, exit code 130', async () => {
    const { child, done } = startCli(['push', fixture('h264-bframes.mp4'), rtmp.recordUrl('interrupted'), '--loop']);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    child.kill('SIGINT');
    const result = await done;
    expect(result.code, result.stderr).toBe(130);
    // A clean stop: nginx has a complete recording with what was pushed before the signal.
    const recorded = await settledFile(rtmp.recordingOf('interrupted'));
    const count = probeFrameCount(recorded);
    expect(count).toBeGreaterThan(20);
    expect(count).toBeLessThan(150);
  });

  test('record: a live stream into a playable file with the right frame count', async () => {
    // ffmpeg publishes the clip (4 s of it, looped once) in real time; record takes 2 s of it.
    const publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '1', '-i', fixture('h264-bframes.mp4'), '-c', 'copy', '-f', 'flv', rtmp.liveUrl('rec')]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const out = path.join(os.tmpdir(), `streamcoder-record-${process.pid}.mp4`);
      const result = await runCli(['record', rtmp.liveUrl('rec'), out, '--duration', '2', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      expect(probeFrameCount(out)).toBe(50);
      fs.rmSync(out, { force: true });
    } finally {
      publisher.kill('SIGKILL');
    }
  });

  test('bad values for push: exit 2 with a message', async () => {
    for (const [args, message] of [
      [['push', 'a.mp4', 'rtmp://x', '--bitrate', 'lots'], /--bitrate expects a bit rate/],
      [['push', 'a.mp4', 'rtmp://x', '--size', '1280'], /--size expects a size such as 1280x720/],
      [['push', 'a.mp4', 'rtmp://x', '--transport', 'sctp'], /--transport expects one of tcp, udp/],
      [['push', 'a.mp4', 'rtmp://x', '--fps', '-3'], /--fps expects a number > 0/],
      [['push', 'a.mp4'], /'push' expects <input> <url>/],
    ] as const) {
      const result = await runCli([...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
