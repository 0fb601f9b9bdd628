// Async calls and the memory JS hands them: an ArrayBuffer transferred (and collected) or
// resized to nothing while the call runs on the thread pool once crashed the process (the pool
// thread read and wrote freed memory). Each scenario runs in its own process, so a crash fails
// the test with the scenario named instead of taking the test runner down.
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { runChild } from './helpers/child';
import { fixture, tempDir } from './helpers/fixtures';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const source = fixture('h264-bframes.mp4');

interface Settled {
  ok: boolean;
  code?: string;
  name?: string;
  message?: string;
  samePicture?: boolean;
}

async function run(scenario: string): Promise<{ results: Settled[]; luma?: number[] }> {
  const child = await runChild(process.execPath, ['--expose-gc', path.join(__dirname, 'helpers', 'async-buffers-exerciser.js'), scenario, source, dir], {
    timeout: 120_000,
  });
  expect(child.signal, `${scenario} died: ${child.stderr}`).toBeNull();
  expect(child.status, `${scenario}: ${child.stdout}${child.stderr}`).toBe(0);
  return JSON.parse(child.stdout.trim().split('\n').pop()!);
}

// Flat pictures of luma 60, 120, 180 (limited range) read back as full-range gray.
const ENCODED_LUMA = [51, 121, 191];

test.each(['encode-transfer', 'encode-resize', 'serve-transfer'])(
  '%s: the frame is encoded from the library\'s own copy, whatever happens to the caller\'s buffer',
  async (scenario) => {
    const outcome = await run(scenario);
    expect(outcome.results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(outcome.luma).toEqual(ENCODED_LUMA);
  },
);

test('a growable SharedArrayBuffer is encoded in place while it grows', async () => {
  const outcome = await run('encode-growable-shared');
  expect(outcome.results.map((r) => r.ok)).toEqual([true, true, true]);
  expect(outcome.luma).toEqual(ENCODED_LUMA);
});

test('readInto a buffer transferred away meanwhile rejects with ERR_DETACHED and writes nothing', async () => {
  const outcome = await run('readinto-transfer');
  for (const result of outcome.results) {
    expect(result).toMatchObject({ ok: false, name: 'StreamcoderError', code: 'ERR_DETACHED' });
    expect(result.message).toMatch(/detached while frame \d+ was decoded into it; that frame is lost/);
  }
});

test('readInto a buffer resized to nothing meanwhile rejects with ERR_BUFFER_SIZE', async () => {
  const outcome = await run('readinto-resize');
  for (const result of outcome.results) {
    expect(result).toMatchObject({ ok: false, name: 'StreamcoderError', code: 'ERR_BUFFER_SIZE' });
    expect(result.message).toMatch(/shrank to 0 bytes/);
  }
});

test.each(['readinto-shared', 'readinto-growable-shared'])('%s: decoded in place, the same pictures as extractFrame', async (scenario) => {
  const outcome = await run(scenario);
  expect(outcome.results).toEqual([
    { ok: true, samePicture: true },
    { ok: true, samePicture: true },
    { ok: true, samePicture: true },
  ]);
});

test('a buffer detached before the call is refused at once, sync and async', async () => {
  const outcome = await run('detached-before');
  expect(outcome.results).toHaveLength(2);
  for (const result of outcome.results) expect(result).toMatchObject({ ok: false, code: 'ERR_DETACHED' });
});
