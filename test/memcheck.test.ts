// The native code under valgrind's memcheck: no read or write outside its memory (the scaler
// once read past the end of a caller's picture, and wrote past the end of half of all widths),
// no use of uninitialised memory, no leak. Besides fixed examples, the exerciser sweeps sizes
// (every width 1..64 with three heights each, every height among them, into and from exact-size
// buffers, decode unscaled and scaled and encode): about 6000 small pictures, ~30 s of valgrind.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';
import { runChild } from './helpers/child';
import { fixture, tempDir } from './helpers/fixtures';
import { valgrindEnvironment } from './helpers/valgrind';

const ADDON = path.join(__dirname, '..', 'build', 'Release', 'streamcoder.node');

/** valgrind's first few error reports (each a block of `==pid==` lines ending in a blank one). */
function firstErrors(stderr: string, count = 3): string {
  const blocks = stderr.split(/^==\d+== $/m).filter((b) => /^==\d+== (Invalid|Syscall|Conditional|Use of|Mismatched|Source and|.*definitely lost)/m.test(b));
  return blocks.slice(0, count).join('\n') || stderr.slice(-6000);
}

test('decoding, encoding (a sweep of sizes too), scaling, AudioEncoder, the Client thread and the error paths are memcheck-clean', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = await valgrindEnvironment(dir);
    // Asynchronous: the test process's event loop stays free for vitest while valgrind runs.
    const run = await new Promise<{ error: Error | null; status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile('valgrind', [
        '--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite', '--show-leak-kinds=definite',
        `--suppressions=${path.join(__dirname, 'helpers', 'valgrind.supp')}`, '--num-callers=20',
        process.execPath, path.join(__dirname, 'helpers', 'memcheck-exerciser.js'), path.dirname(fixture('odd-853x479.mp4')), dir,
      ], { encoding: 'utf8', env, timeout: 600_000, maxBuffer: 1 << 28 }, (error, stdout, stderr) => {
        resolve({ error: error && (error as NodeJS.ErrnoException).code === 'ENOENT' ? error : null, status: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      });
    });
    expect(run.error, 'valgrind must be installed (scripts/bootstrap.js installs it)').toBeNull();
    const report = `${run.stdout}\n${run.stderr}`;
    expect(run.stdout, run.stderr.slice(-6000)).toContain('exerciser done');
    expect(report.match(/ERROR SUMMARY: \d+ errors/)?.[0], firstErrors(run.stderr)).toBe('ERROR SUMMARY: 0 errors');
    expect(run.status, report.slice(-6000)).toBe(0);
  } finally {
    cleanup();
  }
}, 600_000);

test("under valgrind, libhwy's load-time RDTSCP probe is answered by the preloaded stand-in, so the addon loads on CPUs without RDTSCP", async () => {
  // This machine may have RDTSCP (then valgrind would run the probe anyway): what is checked is
  // that the dynamic loader, inside valgrind, binds libhwy's call to the stand-in, not to itself.
  const { dir, cleanup } = tempDir();
  try {
    const env = { ...(await valgrindEnvironment(dir)), LD_DEBUG: 'bindings' };
    const run = await runChild('valgrind', ['--tool=none', process.execPath, '-e', `require(${JSON.stringify(ADDON)}); console.log('loaded')`], { env, timeout: 300_000 });
    expect(run.stdout, run.stderr.slice(-4000)).toContain('loaded');
    expect(run.status).toBe(0);
    const binding = run.stderr.split('\n').find((line) => line.includes('_ZN3hwy8platform15TimerResolutionEv'));
    expect(binding, 'libhwy is loaded with the addon (libavcodec -> libjxl -> libhwy)').toBeDefined();
    expect(binding).toMatch(/binding file \S*libhwy\.so\.1 \[0\] to \S*valgrind-cpu-probes\.so \[0\]/);
  } finally {
    cleanup();
  }
}, 300_000);
