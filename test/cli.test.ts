// The streamcoder command line as users run it: a child process, its output and exit codes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fixture } from './helpers/fixtures';
import { probeFrameCount } from './helpers/ffmpeg-cli';
import { runCli, startCli } from './helpers/cli';
import { settledFile, startRtmpServer, type RtmpServer } from './helpers/servers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The lines of a --json run, parsed: its progress objects, then its summary (which must end it). */
function jsonReports(stdout: string): { progress: Record<string, any>[]; summary: Record<string, any> } {
  const reports = stdout.trim().split('\n').map((line) => JSON.parse(line));
  const summary = reports.pop();
  expect(summary.type).toBe('summary');
  for (const report of reports) expect(report.type).toBe('progress');
  return { progress: reports, summary };
}

/** Resolves once the child's stdout matches `pattern` (what it printed so far). */
function untilOutput(child: ChildProcess, pattern: RegExp): Promise<void> {
  let seen = '';
  return new Promise((resolve) => {
    const look = (chunk: Buffer) => {
      seen += chunk;
      if (!pattern.test(seen)) return;
      child.stdout!.off('data', look);
      resolve();
    };
    child.stdout!.on('data', look);
  });
}

/** The key=value pairs of a plain status line. */
function statusFields(line: string): Record<string, string> {
  return Object.fromEntries(line.split(' ').map((pair) => pair.split('=') as [string, string]));
}

/** The option names a command's help lists. */
function helpOptions(help: string): string[] {
  return [...help.matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1]);
}

/** The settings x264 writes into its stream (an SEI): "... bitrate=500 ... vbv_maxrate=300 ...". */
function x264Settings(file: string): string {
  return /x264 - core [^\0]*? options: ([^\0]*)/.exec(fs.readFileSync(file).toString('latin1'))?.[1] ?? 'none';
}

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

  test("probe's help lists probe's options and nothing else, both ways of asking", async () => {
    const [asked, helped] = await Promise.all([runCli(['probe', '--help']), runCli(['help', 'probe'])]);
    expect(helped.stdout).toBe(asked.stdout);
    expect(helpOptions(asked.stdout).sort()).toEqual(['help', 'json', 'log-level', 'probe', 'quiet', 'timeout', 'verbose']);
    // The new push options are in push's help, and record's where they apply.
    const push = helpOptions((await runCli(['help', 'push'])).stdout);
    for (const option of ['format', 'maxrate', 'bufsize', 'start', 'size', 'threads']) expect(push).toContain(option);
    const record = helpOptions((await runCli(['help', 'record'])).stdout);
    for (const option of ['format', 'maxrate', 'bufsize', 'start']) expect(record).toContain(option);
  });

  // Every number option, out of its range or not a number: a usage error (exit 2) in the command
  // line's words, caught before anything is opened (the input does not exist).
  test.each([
    [['push', '--threads', '-3'], "--threads expects an integer from 0 to 64, got '-3'"],
    [['push', '--threads', 'abc'], "--threads expects an integer from 0 to 64, got 'abc'"],
    [['push', '--threads', '65'], "--threads expects an integer from 0 to 64, got '65'"],
    [['push', '--threads', '1.5'], "--threads expects an integer from 0 to 64, got '1.5'"],
    [['push', '--gop', '0'], "--gop expects an integer from 1 to 100000, got '0'"],
    [['push', '--bframes', '17'], "--bframes expects an integer from 0 to 16, got '17'"],
    [['push', '--slots', '1'], "--slots expects an integer from 2 to 1024, got '1'"],
    [['push', '--slots', '2000'], "--slots expects an integer from 2 to 1024, got '2000'"],
    [['push', '--frames', '0'], "--frames expects an integer >= 1, got '0'"],
    [['push', '--frames', '99999999999999999999'], "--frames expects an integer >= 1, got '99999999999999999999'"],
    [['push', '--timeout', '0'], "--timeout expects an integer from 1 to 86400000, got '0'"],
    [['push', '--fps', '-3'], "--fps expects a number from 0.01667 to 1000, got '-3'"],
    [['push', '--fps', '5000'], "--fps expects a number from 0.01667 to 1000, got '5000'"],
    [['push', '--fps', ''], "--fps expects a number from 0.01667 to 1000, got ''"],
    [['push', '--bitrate', '200G'], "--bitrate expects a bit rate such as 2M, 800k or 1500000 (at most 100G), got '200G'"],
    [['push', '--maxrate', '0', '--bufsize', '1M'], "--maxrate expects a bit rate such as 2M, 800k or 1500000 (at most 100G), got '0'"],
    [['push', '--maxrate', '1M'], '--maxrate needs --bufsize too'],
    [['push', '--bufsize', '1M'], '--bufsize needs --maxrate too'],
    [['push', '--start', '-1'], "--start expects a time (seconds, or [hh:]mm:ss[.ms]) from 0 to 1000000000, got '-1'"],
    [['push', '--start', '1:75'], "--start expects a time (seconds, or [hh:]mm:ss[.ms]) from 0 to 1000000000, got '1:75'"],
    [['push', '--start', '2e9'], "--start expects a time (seconds, or [hh:]mm:ss[.ms]) from 0 to 1000000000, got '2e9'"],
    [['push', '--start', '3000000:00:00'], "--start expects a time (seconds, or [hh:]mm:ss[.ms]) from 0 to 1000000000, got '3000000:00:00'"],
    [['push', '--size', '-1x-1'], "--size expects a size such as 1280x720, or 640x-1 to keep the aspect ratio (sides up to 16384), got '-1x-1'"],
    [['push', '--size', '640x-3'], '--size expects a size such as 1280x720'],
    [['push', '--size', '0x360'], '--size expects a size such as 1280x720'],
    [['push', '--size', '20000x100'], '--size expects a size such as 1280x720'],
    [['record', '--duration', '0'], "--duration expects a number > 0 and <= 1000000000, got '0'"],
    [['record', '--crf', '64'], "--crf expects a number from 0 to 63, got '64'"],
    [['record', '--crf', '-1'], "--crf expects a number from 0 to 63, got '-1'"],
    [['record', '--timeout', '100000000'], "--timeout expects an integer from 1 to 86400000, got '100000000'"],
    [['probe', '--timeout', '-5'], "--timeout expects an integer from 1 to 86400000, got '-5'"],
  ])('%j: exit 2, %s', async ([command, ...option], message) => {
    const positionals = command === 'probe' ? ['/nonexistent/a.mp4'] : ['/nonexistent/a.mp4', '/nonexistent/b.flv'];
    const result = await runCli([command, ...positionals, ...option]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr.startsWith(`streamcoder: ${message}`), result.stderr).toBe(true);
  });

  test('a usage error that quotes a URL masks its secrets', async () => {
    const secret = 'rtmp://user:hunter2@127.0.0.1/live/SECRETKEY';
    const quoted = await runCli(['push', '/nonexistent/a.mp4', 'rtmp://127.0.0.1/live/a', '--output', secret, 'rtmp://user:hunter2@127.0.0.1/live/OTHERKEY']);
    expect(quoted.code).toBe(2);
    expect(quoted.stderr).not.toMatch(/hunter2|SECRETKEY|OTHERKEY/);
    expect(quoted.stderr).toContain("unexpected 'rtmp://***@127.0.0.1/live/***' after --output rtmp://***@127.0.0.1/live/***");
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

  const clip = () => fixture('h264-bframes.mp4'); // 320x240, 25 fps, 75 frames
  /** The recording's URL as the command line shows it: the stream name masked. */
  const shown = (name: string) => rtmp.recordUrl(name).replace(/[^/]+$/, '***');

  test('push: every frame arrives (nginx recording, ffprobe); the non-TTY progress is parseable key=value lines', async () => {
    const result = await runCli(['push', clip(), rtmp.recordUrl('cli'), '--gop', '25', '--bitrate', '1M']);
    expect(result.code, result.stderr).toBe(0);
    const recorded = await settledFile(rtmp.recordingOf('cli'));
    expect(probeFrameCount(recorded)).toBe(75);
    const lines = result.stdout.trim().split('\n').filter((line) => line.startsWith('time='));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const fields of lines.map(statusFields)) {
      // Frames that went out, and their bit rate: nothing to rate before the first packet.
      expect(fields.bitrate === 'N/A').toBe(fields.frames === '0');
      expect(fields.done).toBe(`${((100 * Number(fields.frames)) / 75).toFixed(1)}%`);
    }
    const last = statusFields(lines.at(-1)!);
    // Late frames depend on how busy the machine is; they must be a count.
    expect(last).toMatchObject({ frames: '75', drops: '0', depth: '0/8', done: '100.0%', eta: '00:00:00.00' });
    expect(last.late).toMatch(/^\d+$/);
    expect(last.time).toBe('00:00:03.00');
    expect(Number.parseFloat(last.speed)).toBeGreaterThan(0.8);
    expect(result.stdout).toMatch(new RegExp(`^pushed 75 frames \\(00:00:03\\.00\\) to ${shown('cli').replace(/[.*]/g, '\\$&')} in `, 'm'));
  });

  test('push --json: progress objects of what went out, with the share done and the time left; one summary object at the end', async () => {
    const result = await runCli(['push', clip(), rtmp.recordUrl('json'), '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { progress, summary } = jsonReports(result.stdout);
    expect(progress.length).toBeGreaterThanOrEqual(3); // 3 s at one a second, and the final one
    for (const [i, p] of progress.entries()) {
      expect(p.bitRate === null).toBe(p.frames === 0);
      expect(p.time).toBeCloseTo(p.frames / 25, 2);
      expect(p.percent).toBeCloseTo((100 * p.frames) / 75, 1);
      if (p.frames < 75 && p.fps > 0) expect(p.eta).toBeGreaterThan(0);
      if (i > 0) expect(p.frames).toBeGreaterThanOrEqual(progress[i - 1].frames);
    }
    expect(progress.at(-1)).toMatchObject({ frames: 75, time: 3, percent: 100, eta: 0, droppedFrames: 0, depth: 0 });
    expect(summary).toMatchObject({ action: 'pushed', output: shown('json'), frames: 75, time: 3, percent: 100, droppedFrames: 0, interrupted: false });
    // The streaming's figures: 75 frames paced at 25 fps, about 3 s. With the close (the encoder
    // flush, paced, half a second and more) counted in, fps was about 21.
    expect(summary.seconds).toBeGreaterThan(2.8);
    expect(summary.seconds).toBeLessThan(3.6);
    expect(summary.fps).toBeCloseTo(75 / summary.seconds, 0);
    expect(summary.speed).toBeCloseTo(3 / summary.seconds, 1);
    expect(probeFrameCount(await settledFile(rtmp.recordingOf('json')))).toBe(75);
  });

  test('push --min-bitrate: an adaptive bitrate whose target the progress reports; it needs --bitrate and excludes --maxrate', async () => {
    const result = await runCli(['push', clip(), rtmp.recordUrl('adaptive'), '--bitrate', '2M', '--min-bitrate', '500k', '--no-realtime', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { progress } = jsonReports(result.stdout);
    expect(progress.at(-1)).toMatchObject({ frames: 75, targetBitRate: 2_000_000 });
    expect((await runCli(['push', clip(), rtmp.recordUrl('adaptive'), '--min-bitrate', '500k'])).code).toBe(2);
    expect((await runCli(['push', clip(), rtmp.recordUrl('adaptive'), '--bitrate', '2M', '--min-bitrate', '500k', '--maxrate', '3M', '--bufsize', '3M'])).code).toBe(2);
  });

  test('push --probe: how much of the input is read to learn its streams (a live relay opens faster); out of range is a usage error', async () => {
    const result = await runCli(['push', clip(), rtmp.recordUrl('probe'), '--probe', '0.2', '--frames', '10', '--no-realtime', '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(jsonReports(result.stdout).summary).toMatchObject({ frames: 10 });
    expect((await runCli(['push', clip(), rtmp.recordUrl('probe'), '--probe', '0'])).code).toBe(2);
  });

  test('Ctrl-C (SIGINT) mid-push: the stream is flushed and closed, a summary of what went out, exit code 130', async () => {
    const { child, done } = startCli(['push', clip(), rtmp.recordUrl('interrupted'), '--loop']);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    child.kill('SIGINT');
    const result = await done;
    expect(result.code, result.stderr).toBe(130);
    // A clean stop: nginx has a complete recording with what was pushed before the signal.
    const count = probeFrameCount(await settledFile(rtmp.recordingOf('interrupted')));
    expect(count).toBeGreaterThan(20);
    expect(count).toBeLessThan(150);
    // The summary counts exactly what nginx received; a looped input has no end, so no share done.
    const summary = result.stdout.trim().split('\n').at(-1)!;
    expect(summary).toMatch(new RegExp(`^interrupted: pushed ${count} frames \\(.*\\) to .* in [\\d.]+ s: [\\d.]+ fps, .* 0 dropped$`));
    expect(result.stdout).not.toContain('done=');
  });

  test('Ctrl-C with --json: the summary object ends the output, its figures those of the recording', async () => {
    // Looped, but --frames gives an end: 250 frames, 10 s.
    const { child, done } = startCli(['push', clip(), rtmp.recordUrl('interrupted-json'), '--loop', '--frames', '250', '--json']);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    child.kill('SIGINT');
    const result = await done;
    expect(result.code, result.stderr).toBe(130);
    const { summary } = jsonReports(result.stdout);
    const count = probeFrameCount(await settledFile(rtmp.recordingOf('interrupted-json')));
    expect(summary).toMatchObject({ action: 'pushed', interrupted: true, frames: count, droppedFrames: 0 });
    expect(count).toBeGreaterThan(10);
    expect(summary.time).toBeCloseTo(count / 25, 2);
    expect(summary.percent).toBeCloseTo((100 * count) / 250, 1);
    expect(summary.fps).toBeGreaterThan(15);
    expect(summary.fps).toBeLessThan(35);
  });

  test('drops= counts the frames the decoder found corrupt and skipped', async () => {
    // MJPEG in AVI, 50 frames, two of them zeroed (their chunk headers kept): the decoder finds
    // no picture in those two packets.
    const good = path.join(tmp, 'mjpeg.avi');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=2', '-c:v', 'mjpeg', '-q:v', '5', good]);
    const avi = fs.readFileSync(good);
    let chunk = avi.indexOf('movi') + 4;
    for (let n = 0; avi.toString('latin1', chunk, chunk + 4) === '00dc'; n++) {
      const size = avi.readUInt32LE(chunk + 4);
      if (n === 10 || n === 30) avi.fill(0, chunk + 8, chunk + 8 + size);
      chunk += 8 + size + (size % 2);
    }
    const bad = path.join(tmp, 'mjpeg-bad.avi');
    fs.writeFileSync(bad, avi);
    const result = await runCli(['push', bad, rtmp.recordUrl('drops'), '--no-realtime', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { progress, summary } = jsonReports(result.stdout);
    expect(summary).toMatchObject({ frames: 48, droppedFrames: 2 });
    expect(progress.at(-1)).toMatchObject({ frames: 48, droppedFrames: 2 });
    expect(probeFrameCount(await settledFile(rtmp.recordingOf('drops')))).toBe(48);
  });

  test('--start: the push begins at that time, in seconds or hh:mm:ss', async () => {
    for (const [start, name, frames] of [['1', 'start-1', 50], ['00:00:02.0', 'start-2', 25]] as const) {
      const result = await runCli(['push', clip(), rtmp.recordUrl(name), '--start', start, '--no-realtime']);
      expect(result.code, result.stderr).toBe(0);
      expect(statusFields(result.stdout.split('\n').filter((line) => line.startsWith('time=')).at(-1)!)).toMatchObject({ frames: String(frames), done: '100.0%' });
      expect(probeFrameCount(await settledFile(rtmp.recordingOf(name)))).toBe(frames);
    }
  });

  test('--size with -1 or -2 for a side keeps the aspect ratio', async () => {
    for (const [size, expected] of [['160x-1', '160x120'], ['-1x90', '120x90'], ['200x-2', '200x150'], ['-2x100', '134x100']]) {
      const name = `size${size}`;
      const result = await runCli(['push', clip(), rtmp.recordUrl(name), '--size', size, '--frames', '5', '--no-realtime', '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      const stream = ffprobeStream(await settledFile(rtmp.recordingOf(name)));
      expect(`${stream.width}x${stream.height}`).toBe(expected);
    }
  });

  test('--maxrate and --bufsize reach the encoder (x264 writes its settings into the stream)', async () => {
    const out = path.join(tmp, 'vbv.mp4');
    const result = await runCli(['push', clip(), out, '--bitrate', '250k', '--maxrate', '300k', '--bufsize', '600k', '--frames', '10', '--no-realtime', '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    expect(x264Settings(out)).toMatch(/ bitrate=250 .* vbv_maxrate=300 vbv_bufsize=600 /);
    const recorded = path.join(tmp, 'vbv-record.mp4');
    expect((await runCli(['record', clip(), recorded, '--maxrate', '200k', '--bufsize', '400k', '--quiet'])).code).toBe(0);
    expect(x264Settings(recorded)).toMatch(/ vbv_maxrate=200 vbv_bufsize=400 /);
  });

  test('--format names the container; without it, a name that says none is refused, naming --format', async () => {
    const out = path.join(tmp, 'stream.bin');
    const refused = await runCli(['push', clip(), out, '--frames', '10', '--no-realtime']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`streamcoder: Cannot tell the output format of '${out}' from its name: name one with the \`format\` option (--format on the command line), e.g. mp4, mpegts, flv\n`);
    const pushed = await runCli(['push', clip(), out, '--frames', '10', '--no-realtime', '--format', 'mpegts', '--quiet']);
    expect(pushed.code, pushed.stderr).toBe(0);
    const probe = (file: string) => String(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=format_name', '-of', 'default=nw=1:nk=1', file])).trim();
    expect(probe(out)).toBe('mpegts');
    expect(probeFrameCount(out)).toBe(10);
    const recorded = path.join(tmp, 'record.bin');
    const record = await runCli(['record', clip(), recorded, '--format', 'matroska', '--quiet']);
    expect(record.code, record.stderr).toBe(0);
    expect(probe(recorded)).toBe('matroska,webm');
    const unknown = await runCli(['push', clip(), out, '--format', 'no-such-muxer']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Unknown output format 'no-such-muxer'");
  });

  test('record --json: a live stream into a playable file with the right frame count; the share of --duration done', async () => {
    // ffmpeg publishes the clip (3 s of it, looped once) in real time; record takes 2 s of it.
    const publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '1', '-i', clip(), '-c', 'copy', '-f', 'flv', rtmp.liveUrl('rec')]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const out = path.join(tmp, 'record.mp4');
      const result = await runCli(['record', rtmp.liveUrl('rec'), out, '--duration', '2', '--json']);
      expect(result.code, result.stderr).toBe(0);
      expect(probeFrameCount(out)).toBe(50);
      const { progress, summary } = jsonReports(result.stdout);
      for (const p of progress) expect(p.percent).toBeCloseTo((100 * p.time) / 2, 1);
      expect(summary).toMatchObject({ action: 'recorded', output: out, frames: 50, time: 2, percent: 100, interrupted: false, droppedFrames: 0 });
    } finally {
      publisher.kill('SIGKILL');
    }
  });

  test('record, Ctrl-C: the file is finished (a readable MP4), the summary counts its frames, exit code 130', async () => {
    const publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '3', '-i', clip(), '-c', 'copy', '-f', 'flv', rtmp.liveUrl('rec-int')]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const out = path.join(tmp, 'record-interrupted.mp4');
      const { child, done } = startCli(['record', rtmp.liveUrl('rec-int'), out, '--json']);
      // Opening a live stream takes a while (probing); once frames go out, a second more.
      await untilOutput(child, /"frames":[1-9]/);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      child.kill('SIGINT');
      const result = await done;
      expect(result.code, result.stderr).toBe(130);
      const { summary } = jsonReports(result.stdout);
      // An MP4 is readable only once its index (moov) is written at close.
      const count = probeFrameCount(out);
      expect(count).toBeGreaterThan(10);
      expect(summary).toMatchObject({ action: 'recorded', interrupted: true, frames: count, time: count / 25 });
      // A live source has no end: no share done.
      expect(summary.percent).toBeUndefined();
    } finally {
      publisher.kill('SIGKILL');
    }
  });

  test('push --slate --fallback --input-timeout --json: the clip, then the slate until --frames (the fallback never connects), the switch as a JSON event', async () => {
    const slate = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-cli-slate-')), 'slate.png');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=magenta:size=64x48', '-frames:v', '1', slate]);
    const result = await runCli(['push', clip(), rtmp.recordUrl('slate'), '--slate', slate, '--fallback', 'rtmp://127.0.0.1:9/live/a', '--fallback', 'rtmp://127.0.0.1:9/live/b',
      '--input-timeout', '0.5', '--frames', '100', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line)).filter((o) => o.type === 'inputSwitch');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ from: `input 0 (${clip()})`, to: 'slate', reason: 'input 0 ended' });
    const { summary } = jsonReports(result.stdout.split('\n').filter((line) => !line.includes('"inputSwitch"')).join('\n'));
    expect(summary).toMatchObject({ action: 'pushed', frames: 100 });
    expect(probeFrameCount(await settledFile(rtmp.recordingOf('slate')))).toBe(100);
  });

  test('bad values for push: exit 2 with a message', async () => {
    for (const [args, message] of [
      [['push', 'a.mp4', 'rtmp://x', '--slate', 's.png', '--loop'], /--loop means nothing with --slate|--slate means nothing with --loop/],
      [['push', 'a.mp4', 'rtmp://x', '--fallback', 'b.mp4', '--copy'], /--copy means nothing with --fallback|--fallback means nothing with --copy/],
      [['push', 'a.mp4', 'rtmp://x', '--input-timeout', '0'], /--input-timeout expects a number from 0.1 to 600/],
      [['push', 'a.mp4', 'rtmp://x', '--no-switch-back'], /--no-switch-back needs --fallback/],
      [['push', 'a.mp4', 'rtmp://x', '--bitrate', 'lots'], /--bitrate expects a bit rate/],
      [['push', 'a.mp4', 'rtmp://x', '--size', '1280'], /--size expects a size such as 1280x720/],
      [['push', 'a.mp4', 'rtmp://x', '--transport', 'sctp'], /--transport expects one of tcp, udp/],
      [['push', 'a.mp4', 'rtmp://x', '--fps', '-3'], /--fps expects a number from 0.01667 to 1000/],
      [['push', 'a.mp4'], /'push' expects <input> <url>/],
    ] as const) {
      const result = await runCli([...args]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
