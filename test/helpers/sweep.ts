// Runs lists of buffer-safety cases in child processes (test/helpers/buffer-safety-runner.js) and
// turns what they report into failures that name the case: guard bytes changed, pixels that
// differ, and crashes (a SIGSEGV at the end of mapped memory, a malloc abort after an overrun of
// a frame the library allocated), after which a fresh child goes on with the next case, so one
// crash neither kills the test runner nor hides the cases after it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { distModule } from './workers';

const RUNNER = path.join(__dirname, 'buffer-safety-runner.js');

// glibc's malloc checker: preloaded, it puts a check byte after every allocation and aborts in
// free() when it was overwritten. Debian's libc6 ships it; elsewhere the sweep runs without it
// (an overrun of a library-allocated frame then surfaces only when glibc happens to notice).
const MALLOC_DEBUG = ['/lib/x86_64-linux-gnu/libc_malloc_debug.so.0', '/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0', '/lib/aarch64-linux-gnu/libc_malloc_debug.so.0'].find((f) => fs.existsSync(f));

export interface SweepCase {
  /** Human-readable name, e.g. `decode yuv420p 13x7 -> rgb24`. */
  id: string;
  [key: string]: unknown;
}

export interface SweepResult {
  /** One line per failed check: `<case id>: <op> <what>`. */
  failures: string[];
  /** md5 per frame of the cases that asked for it: case index -> [frame 0's md5, ...]. */
  md5: Map<number, string[]>;
  /** Cases that ran to their end (crashed ones excluded), and their indices. */
  completed: number;
  ended: Set<number>;
  crashes: number;
  children: number;
}

/**
 * Most crashes one sweep investigates before it gives up on the rest (each costs two children);
 * STREAMCODER_SWEEP_MAX_CRASHES raises it, to list every crashing case of a broken build.
 */
const MAX_CRASHES = Number(process.env.STREAMCODER_SWEEP_MAX_CRASHES ?? 24);

interface ChildRun {
  lines: string[];
  crashed: boolean;
  why: string;
}

// Asynchronous, so the test process's event loop stays free for vitest's own messages while a
// sweep runs (a blocked loop for tens of seconds makes its RPC time out).
function runChild(casesFile: string, first: number, gcEvery: number, last?: number): Promise<ChildRun> {
  const env = { ...process.env };
  if (MALLOC_DEBUG) {
    // After whatever is preloaded already: under `npm run test:asan` that is ASan's runtime,
    // which must come first (its malloc then shadows the checker's, and ASan checks instead).
    env.LD_PRELOAD = [env.LD_PRELOAD, MALLOC_DEBUG].filter(Boolean).join(':');
    env.GLIBC_TUNABLES = [env.GLIBC_TUNABLES, 'glibc.malloc.check=3'].filter(Boolean).join(':');
  }
  const args = ['--expose-gc', '--single-threaded-gc', RUNNER, casesFile, String(first), String(gcEvery)];
  if (last !== undefined) args.push(String(last));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const lines = stdout.split('\n').filter(Boolean);
      const done = lines[lines.length - 1] === 'runner done';
      const why = signal ? `killed by ${signal}` : `exit code ${code}`;
      const tail = stderr.trim().split('\n').slice(-3).join(' / ');
      resolve({ lines, crashed: !done || code !== 0, why: tail ? `${why}: ${tail.slice(0, 300)}` : why });
    });
  });
}

/**
 * Runs every case; each child handles cases from `first` on and runs a full collection every
 * `gcEvery` cases. After a crash, the cases since the last clean collection run again in one
 * child with a collection after every case: the first that crashes there is named (a corrupted
 * heap is found when the overrun frame is freed, which a collection in a later case may do).
 * Then a fresh child goes on after it.
 */
export async function runSweep(cases: SweepCase[], dir: string, options: { gcEvery?: number } = {}): Promise<SweepResult> {
  distModule('index');
  const gcEvery = options.gcEvery ?? 256;
  const casesFile = path.join(dir, `cases-${process.pid}-${Date.now()}.json`);
  fs.writeFileSync(casesFile, JSON.stringify(cases));
  const failures = new Set<string>();
  const result: SweepResult = { failures: [], md5: new Map(), completed: 0, ended: new Set(), crashes: 0, children: 0 };
  const ended = result.ended;
  // Where a child stopped: the case started and not ended (-1 if none), the first case after
  // the last clean collection, the last case ended.
  const absorb = (run: ChildRun, first: number, record: boolean) => {
    let open = -1;
    let clean = first;
    let last = first - 1;
    for (const text of run.lines) {
      const [tag, index, ...rest] = text.split(' ');
      const i = Number(index);
      if (tag === 'start') open = i;
      else if (tag === 'end') {
        open = -1;
        last = i;
        if (record) ended.add(i);
      } else if (tag === 'gc') clean = i + 1;
      else if (!record) continue;
      else if (tag === 'fail') failures.add(`${cases[i].id}: ${rest.join(' ')}`);
      else if (tag === 'md5') {
        const list = result.md5.get(i) ?? [];
        list[Number(rest[0])] = rest[1];
        result.md5.set(i, list);
      } else if (tag === 'runner' && index === 'failed') failures.add(`runner failed: ${rest.join(' ')}`);
    }
    return { open, clean, last };
  };
  let first = 0;
  while (first < cases.length) {
    if (result.crashes >= MAX_CRASHES) {
      failures.add(`... stopped after ${MAX_CRASHES} crashes: the ${cases.length - first} cases from ${cases[first].id} on were not run`);
      break;
    }
    const run = await runChild(casesFile, first, gcEvery);
    result.children++;
    const at = absorb(run, first, true);
    if (!run.crashed) break;
    const suspect = at.open >= 0 ? at.open : at.last;
    const again = await runChild(casesFile, at.clean, 1, Math.max(suspect, at.clean));
    result.children++;
    let named = suspect;
    let how = '';
    if (again.crashed) {
      const pinned = absorb(again, at.clean, false);
      named = pinned.open >= 0 ? pinned.open : pinned.last;
      if (named !== suspect) how = ` (first seen while running ${cases[suspect]?.id ?? 'the runner'}; pinned down by a collection after every case)`;
    } else {
      how = ' (did not crash when run again)';
    }
    result.crashes++;
    const name = cases[named]?.id ?? `after case ${named}`;
    failures.add(`${name}: crashed: ${run.why}${how}`);
    first = Math.max(named, suspect) + 1;
  }
  fs.rmSync(casesFile, { force: true });
  result.failures = [...failures];
  result.completed = ended.size;
  return result;
}

/**
 * The failures, grouped for a readable assertion message: the count, then the first few cases of
 * each kind of failure (the same op and message with the size taken out).
 */
export function summarise(failures: string[], perGroup = 6): string {
  if (failures.length === 0) return 'no failures';
  const groups = new Map<string, string[]>();
  for (const f of failures) {
    const key = f.replace(/\b\d+x\d+\b/g, 'WxH').replace(/\b\d+\b/g, 'N');
    const list = groups.get(key) ?? [];
    list.push(f);
    groups.set(key, list);
  }
  const out = [`${failures.length} failures in ${groups.size} groups:`];
  for (const [key, list] of groups) {
    out.push(`  [${list.length}x] ${key}`);
    for (const f of list.slice(0, perGroup)) out.push(`      ${f}`);
  }
  return out.join('\n');
}

/** Writes every failure to $STREAMCODER_SWEEP_REPORT/<name>.txt when that is set (evidence). */
export function report(name: string, result: SweepResult): void {
  const dir = process.env.STREAMCODER_SWEEP_REPORT;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.txt`), `${result.completed} cases completed, ${result.crashes} crashes, ${result.children} children\n${result.failures.join('\n')}\n`);
}
