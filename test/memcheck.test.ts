// The native code under valgrind's memcheck: no read or write outside its memory (the scaler
// once read past the end of a caller's picture), no use of uninitialised memory, no leak.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';
import { fixture, tempDir } from './helpers/fixtures';

test('decoding, encoding, the Client thread and the error paths are memcheck-clean', () => {
  const { dir, cleanup } = tempDir();
  try {
    const run = spawnSync('valgrind', [
      '--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite', '--show-leak-kinds=definite',
      `--suppressions=${path.join(__dirname, 'helpers', 'valgrind.supp')}`, '--num-callers=20',
      process.execPath, path.join(__dirname, 'helpers', 'memcheck-exerciser.js'), path.dirname(fixture('odd-853x479.mp4')), dir,
    ], { encoding: 'utf8', timeout: 600_000 });
    expect(run.error, 'valgrind must be installed (scripts/bootstrap.js installs it)').toBeUndefined();
    const report = `${run.stdout}\n${run.stderr}`;
    expect(run.stdout).toContain('exerciser done');
    expect(report).toMatch(/ERROR SUMMARY: 0 errors/);
    expect(run.status, report.slice(-6000)).toBe(0);
  } finally {
    cleanup();
  }
}, 600_000);
