// The documented patterns (README) compile as written under strict TypeScript, and the mistakes
// the types exist to catch are reported: tsc runs on files written here, against lib/index.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { levelName } from '../lib/log';
import { runChild } from './helpers/child';

const root = path.resolve(__dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-types-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const api = JSON.stringify(path.join(root, 'lib', 'index'));

const GOOD = `import { Client, Decoder, Encoder, Server, onLog, setLogLevel, type Frame, type LogLevel, type PixelFormat } from ${api};

export async function documented(url: string): Promise<void> {
  setLogLevel('verbose');
  setLogLevel('trace');
  onLog((level, line) => console.log(level === 'panic' || level === 'fatal' ? 'bad' : level, line));
  const levels: LogLevel[] = ['quiet', 'panic', 'fatal', 'error', 'warning', 'info', 'verbose', 'debug', 'trace'];

  const dec = await Decoder.open('clip.mp4', { pixelFormat: 'rgb24', width: 640 });
  const srv = await Server.open(url, { from: dec.info, pixelFormat: dec.info.pixelFormat, codec: 'libx264', preset: 'veryfast', tune: 'zerolatency' });
  for (let frame = dec.extractFrame(); frame; frame = dec.extractFrame()) await srv.serveBlock(frame);
  const format: PixelFormat = dec.info.pixelFormat;
  const source: string = dec.info.sourcePixelFormat;
  await srv.close();

  const enc = await Encoder.open('out.mp4', { from: dec.info, codec: 'libx265', crf: 24 });
  const frame: Frame | null = dec.extractFrame();
  if (frame) {
    const delivered: PixelFormat = frame.pixelFormat;
    await enc.encode(frame);
    console.log(delivered);
  }
  await enc.close();

  const cli = await Client.open('rtsp://127.0.0.1:8554/cam', { transport: 'tcp', lowLatency: true, reconnect: { retries: 10, backoffMs: 500 } });
  cli.on('error', (e) => console.error(e.code, e.message)).on('end', () => console.log('end')).on('reconnect', (attempt, cause) => console.log(attempt + 1, cause.code));
  cli.once('end', () => {});
  cli.off('error', () => {});
  cli.start();
  for await (const f of cli) console.log(f.index, f.pixelFormat, cli.stats.latencyMs);
  cli.close();
  console.log(levels, format, source);
}
`;

// Each marked line must fail there, with a message quoting what is marked.
const BAD = `import { Client, Decoder, Server, setLogLevel, type DecoderOptions, type Frame } from ${api};

export async function mistakes(url: string, built: DecoderOptions): Promise<void> {
  const dec = await Decoder.open('clip.mp4');
  const cli = await Client.open(url);
  cli.on('frame', (f) => console.log(f)); // not assignable: '"frame"'
  await Server.open(url, { from: dec.info, pixelFormat: 'rgb48' }); // not assignable: '"rgb48"'
  setLogLevel('loud'); // not assignable: '"loud"'
  cli.on('reconnect', (attempt: string) => console.log(attempt)); // not assignable: (attempt: string) => void
  await Decoder.open('clip.mp4', { pixelFormat: 'yuv444p' }); // not assignable: '"yuv444p"'
  const sound = await Decoder.open('clip.mp4', { audio: true });
  const picture: Frame | null = sound.extractItem(); // not assignable: 'MediaItem | null'
  // Options built at run time may ask for sound: the items are not Frames alone.
  const any: Frame | null = (await Decoder.open('clip.mp4', built)).extractItem(); // not assignable: 'MediaItem | null'
  console.log(picture, any);
}
`;

async function tsc(name: string, source: string): Promise<{ status: number | null; output: string }> {
  const file = path.join(dir, `${name}.ts`);
  fs.writeFileSync(file, source);
  const config = path.join(dir, `tsconfig.${name}.json`);
  fs.writeFileSync(config, JSON.stringify({
    compilerOptions: {
      strict: true,
      noImplicitAny: true,
      noEmit: true,
      target: 'ES2022',
      lib: ['ES2022', 'ESNext.Disposable'],
      module: 'node16',
      moduleResolution: 'node16',
      types: ['node'],
      typeRoots: [path.join(root, 'node_modules', '@types')],
      skipLibCheck: true,
    },
    files: [file],
  }));
  const result = await runChild(path.join(root, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', config], { timeout: 120_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('the README patterns compile in strict mode', async () => {
  const { status, output } = await tsc('good', GOOD);
  expect(output).toBe('');
  expect(status).toBe(0);
});

test('an unknown event name, a bad pixel format and a bad log level are type errors', async () => {
  const { status, output } = await tsc('bad', BAD);
  expect(status).not.toBe(0);
  const errors = output.split('\n').filter((line) => line.includes('error TS'));
  const lines = BAD.split('\n');
  const expected = lines.flatMap((line, k) => {
    const mark = / \/\/ not assignable: (.+)$/.exec(line);
    return mark ? [{ line: k + 1, what: mark[1] }] : [];
  });
  expect(expected).toHaveLength(7);
  for (const { line, what } of expected) {
    const hit = errors.find((e) => e.includes(`bad.ts(${line},`));
    expect(hit, `line ${line}: ${what}\n${output}`).toBeDefined();
    expect(hit).toContain('is not assignable');
    expect(hit).toContain(what);
  }
  // Only those lines fail (an implicit any on 'frame's listener would be one more).
  expect(new Set(errors.map((e) => /bad\.ts\((\d+),/.exec(e)?.[1])).size).toBe(expected.length);
});

test("onLog names each of FFmpeg's levels exactly", () => {
  expect([0, 8, 16, 24, 32, 40, 48, 56].map(levelName)).toEqual(['panic', 'fatal', 'error', 'warning', 'info', 'verbose', 'debug', 'trace']);
  // Between two levels: the first that prints it; colour bits ignored.
  expect([20, 33, 64, 0x100 | 16].map(levelName)).toEqual(['warning', 'verbose', 'trace', 'error']);
});
