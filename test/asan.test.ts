// The native code under AddressSanitizer and UBSan, inside `npm test`: builds build-asan/ (one
// compiler process, so the tests beside it keep a core), proves with deliberate bugs that the
// runs set up by scripts/test-asan.js fail on a report, then runs the native-heavy test files
// against the ASan addon. `npm run test:asan` runs every test file that way.
// What ASan sees here and what it cannot (FFmpeg's own loads and stores): README, "AddressSanitizer".
import { execFile } from 'node:child_process';
import { runChild } from './helpers/child';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const asan = require('../scripts/test-asan.js');
const root = path.join(__dirname, '..');
const execFileAsync = promisify(execFile);

/** node with `args` in the repository, off this process's event loop (vitest talks to it). */
async function node(args: string[], env: NodeJS.ProcessEnv, timeout: number) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, args, { cwd: root, env, timeout, maxBuffer: 1 << 28 });
    return { status: 0, output: `${stdout}\n${stderr}` };
  } catch (error) {
    const e = error as { code?: number; signal?: string; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : e.signal ?? -1, output: `${e.stdout ?? ''}\n${e.stderr ?? ''}\n${String(error)}` };
  }
}

// vitest's own variables would make the runs below think they are workers of this one; no
// colours, so that their summaries can be read.
const childEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(VITEST|TINYPOOL)/.test(name))),
  NO_COLOR: '1',
  FORCE_COLOR: '0',
};

beforeAll(async () => {
  const build = await node([path.join(root, 'scripts', 'test-asan.js'), '--build-only', '--jobs', '1'], childEnv, 900_000);
  expect(build.status, build.output.slice(-8000)).toBe(0);
}, 900_000);

/** Runs `code` in a node process set up as the ASan test processes are, with the canary module as `c`. */
async function underAsan(code: string) {
  const script = `const c = require(${JSON.stringify(asan.CANARY)}); ${code}; console.log('canary survived');`;
  const run = await runChild(process.execPath, [...asan.NODE_ARGS, '-e', script], {
    env: { ...process.env, ...asan.asanEnv() },
    timeout: 60_000,
  });
  return { ...run, report: `${run.stdout}\n${run.stderr}` };
}

/** A report ends the process with SIGABRT (abort_on_error), never the script's last line. */
function expectReport(run: Awaited<ReturnType<typeof underAsan>>, ...patterns: RegExp[]): void {
  expect(run.stdout, run.report).not.toContain('canary survived');
  expect(run.signal, run.report).toBe('SIGABRT');
  for (const pattern of patterns) expect(run.report).toMatch(pattern);
}

describe('the ASan set-up catches what it is there to catch', () => {
  test('a correct program runs to its end, with the sanitizer runtime loaded first', async () => {
    const run = await underAsan(`
      c.writeLast(Buffer.alloc(100000));
      const maps = require('node:fs').readFileSync('/proc/self/maps', 'utf8');
      if (!/libasan/.test(maps)) throw new Error('no libasan in this process');`);
    expect(run.status, run.report).toBe(0);
    expect(run.stdout).toContain('canary survived');
    expect(run.report).not.toMatch(/Sanitizer|runtime error/);
  });

  // Node's ArrayBuffer allocator goes through malloc/calloc, which the preloaded runtime
  // replaces: every buffer the addon is handed or allocates has a red zone after it.
  test.each([
    ['Buffer.alloc (Napi::Buffer::New, extractFrame\'s frames)', 'Buffer.alloc(100000)', 100000],
    ['a small Uint8Array (moved off V8\'s heap when native code asks for it)', 'new Uint8Array(100)', 100],
    ['a SharedArrayBuffer (FrameRing\'s slots, readInto)', 'new Uint8Array(new SharedArrayBuffer(6220800))', 6220800],
  ])('a write one byte past %s', async (_, buffer, bytes) => {
    expectReport(await underAsan(`c.writePastEnd(${buffer})`),
      /ERROR: AddressSanitizer: heap-buffer-overflow/, /WRITE of size 1/,
      new RegExp(`0 bytes to the right of ${bytes}-byte region`), /canary\.cc:\d+ in WritePastEnd/);
  });

  test('FFmpeg (not instrumented) copying past a buffer: its memcpy is the runtime\'s, which checks', async () => {
    expectReport(await underAsan('c.copyPastEnd(new Uint8Array(6220800))'),
      /heap-buffer-overflow/, /WRITE of size 6220816/, /memcpy/, /libavutil\.so/, /0 bytes to the right of 6220800-byte region/);
  });

  test('a use after free', async () => {
    expectReport(await underAsan('c.useAfterFree()'), /ERROR: AddressSanitizer: heap-use-after-free/, /in UseAfterFree/);
  });

  test('undefined behaviour (signed overflow) ends the process too', async () => {
    expectReport(await underAsan('c.signedOverflow()'), /runtime error: signed integer overflow/);
  });

  test('so does a double out of an int\'s range made an int (a hostile option value)', async () => {
    expectReport(await underAsan('c.doubleToInt(1e300)'), /runtime error: 1e\+300 is outside the range of representable values of type 'int'/);
  });

  test('a write at a guard page is reported as such (ASan keeps SIGSEGV from V8), and wasm still traps', async () => {
    // The guard-page tests' kind of buffer: a picture that ends where mapped memory ends.
    const run = await underAsan(`
      const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,5,3,1,0,1,7,8,1,4,108,111,97,100,0,0,10,9,1,7,0,32,0,40,2,0,11]);
      const load = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.load;   // i32.load from memory 0
      try { load(1 << 20); throw new Error('no trap'); } catch (e) { if (!(e instanceof WebAssembly.RuntimeError)) throw e; }
      console.log('wasm trapped');
      const memory = new WebAssembly.Memory({ initial: 1 });
      c.writePastEnd(new Uint8Array(memory.buffer, 65536 - 100, 100));`);
    expect(run.stdout).toContain('wasm trapped');
    expectReport(run, /ERROR: AddressSanitizer: SEGV on unknown address/, /caused by a WRITE memory access/, /WritePastEnd/);
  });
});

test('the native-heavy test files pass against the ASan addon', async () => {
  const files: string[] = asan.coreTests();
  expect(files).toContain('test/decoder.test.ts');
  const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
  // One file at a time: this file's fork already holds one of the two cores. The fuzz file
  // replays its whole regression corpus but only the first 300 of the day's 2500 mutants (the
  // full campaign runs without ASan in npm test, and under ASan in npm run test:asan).
  const run = await node([vitest, ...asan.vitestArgs(files), '--no-file-parallelism'],
    { ...childEnv, STREAMCODER_FUZZ_COUNT: '300' }, 900_000);
  expect(run.output, run.output.slice(-8000)).toMatch(new RegExp(`Test Files\\s+${files.length} passed \\(${files.length}\\)`));
  expect(run.output).not.toMatch(/Sanitizer|runtime error:/);
  expect(run.status, run.output.slice(-8000)).toBe(0);
}, 900_000);
