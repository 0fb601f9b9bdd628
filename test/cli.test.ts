// The streamcoder command line as users run it: a child process, its output and exit codes.
import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { fixture } from './helpers/fixtures';
import { runCli } from './helpers/cli';

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
    [['probe', 'a.mp4', '--log-level', 'loud'], /--log-level expects one of quiet, error, warning, info, debug/],
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
});
