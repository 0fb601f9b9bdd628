// Runs decode jobs in child processes (runner.js), many per child for speed, and turns whatever
// happens to a child into a verdict per job. A child that dies takes its batch with it: the job
// it was decoding is re-run alone, and if that one survives alone, the jobs it had finished
// before are re-run one per child, since a heap overrun can crash a later, innocent decode. A
// child that stops making progress is killed and its job re-run alone with a longer limit before
// it counts as a hang (the machine is shared; a slow decode is not a hang). A child whose
// resident memory passes the bound is killed: "unbounded memory".
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pass } from './plan';

export const RUNNER = path.join(__dirname, 'runner.js');
// glibc's checking malloc (a preloaded library since glibc 2.34): a heap overrun is caught at
// the next free or malloc that touches the damaged chunk, instead of maybe much later.
const MALLOC_DEBUG = '/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0';

export interface Job {
  id: number;
  file: string;
  passes: Pass[];
  /** Only for the harness's own test: a fault the runner causes on purpose (see runner.js). */
  fault?: 'segv' | 'abort' | 'hang' | 'memory' | 'crash-later' | 'amplify';
}

export interface PassResult {
  /** Video frames, or copied video packets. */
  frames: number;
  /** AudioFrames and copied audio packets (item methods); absent from runners before issue 11. */
  audio?: number;
  /** The decoder's audioSkipped at the end of the pass: sound a frame method passed over. */
  audioSkipped?: number;
  errors: string[];
  /** `CODE: message` of the first error of each code. */
  messages: string[];
  failure?: string;
}

export type Verdict =
  | { kind: 'ok'; passes: PassResult[]; slow?: boolean }
  | { kind: 'error'; passes: PassResult[]; slow?: boolean }
  | { kind: 'failure'; passes: PassResult[]; detail: string }
  | { kind: 'crash' | 'hang' | 'memory' | 'amplification'; detail: string; reproduced: boolean };

export interface JobResult {
  job: Job;
  verdict: Verdict;
  /** Of the child while it decoded this job (sampled after each frame), and the job's time. */
  peakRss?: number;
  /** The child's resident memory when it started this job: what the job added is peakRss - baseRss. */
  baseRss?: number;
  ms?: number;
  /** The job's file size, where the caller noted it (amplification per KB). */
  inputBytes?: number;
}

interface Done {
  passes: PassResult[];
  peakRss: number;
  baseRss: number;
  ms: number;
}

export interface RunOptions {
  /** The package root whose dist/ and native build are run (another checkout works too). */
  root: string;
  /** Where batch files go (a temp dir). */
  workDir: string;
  /** A job that shows no progress for this long is killed (then confirmed alone with 3x). */
  hangMs: number;
  maxRssBytes: number;
  mallocCheck: boolean;
  /** Extra Decoder options for every pass (e.g. maxPixels). */
  decoderOptions?: Record<string, unknown>;
  maxFrames?: number;
}

interface ChildRun {
  done: Map<number, Done>;
  /** The job that was running when the child ended, if it ended early. */
  current: number | null;
  lastStarted: number | null;
  ended: 'clean' | 'crash' | 'hang' | 'memory' | 'runner-error' | 'not-loaded';
  detail: string;
}

let batchCounter = 0;

/** Whether this process (and so its children) runs under AddressSanitizer (npm run test:asan). */
export function underSanitizer(): boolean {
  return /asan/.test(process.env.LD_PRELOAD ?? '');
}

/** glibc's checking malloc is there, and no sanitizer has replaced malloc already. */
export function mallocCheckAvailable(): boolean {
  return fs.existsSync(MALLOC_DEBUG) && !underSanitizer();
}

/** A process's resident memory now (0 once it is gone). */
export function rssBytes(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
  } catch {
    return 0;
  }
}

function tail(text: string, lines = 6): string {
  return text.trim().split('\n').slice(-lines).join(' | ');
}

/** What a dying child said that names the bug: a sanitizer's summary and our first frame, glibc's heap message, or the last lines. */
export function crashSummary(stderr: string): string {
  const ours = /#\d+ 0x[0-9a-f]+ in (streamcoder::[^\n]*?)(?: \/[^\n]*)?\n/.exec(stderr)?.[1];
  const where = ours ? ` in ${ours}` : '';
  const sanitizer = /SUMMARY: (\w+Sanitizer: [^\n]+)/.exec(stderr)?.[1] ?? /([^\n]*runtime error: [^\n]+)/.exec(stderr)?.[1];
  if (sanitizer) return `${sanitizer.trim()}${where}`;
  const glibc = /^((?:free|malloc|realloc|double free|corrupted|munmap_chunk|malloc_consolidate)[^\n]*)$/m.exec(stderr)?.[1];
  if (glibc) return glibc;
  return tail(stderr);
}

function runChild(jobs: readonly Job[], o: RunOptions, hangMs = o.hangMs): Promise<ChildRun> {
  const jobFile = path.join(o.workDir, `batch-${process.pid}-${batchCounter++}.json`);
  fs.writeFileSync(jobFile, JSON.stringify({ root: o.root, maxRss: o.maxRssBytes, maxFrames: o.maxFrames, decoderOptions: o.decoderOptions ?? {}, jobs }));
  const env = { ...process.env };
  if (o.mallocCheck) {
    env.LD_PRELOAD = [env.LD_PRELOAD, MALLOC_DEBUG].filter(Boolean).join(':');
    env.GLIBC_TUNABLES = 'glibc.malloc.check=3';
  }
  const child = spawn(process.execPath, ['--expose-gc', RUNNER, jobFile], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const run: ChildRun = { done: new Map(), current: null, lastStarted: null, ended: 'clean', detail: '' };
  let killedFor: 'hang' | 'memory' | null = null;
  let memoryLine = '';
  let runnerError = '';
  let loadError = '';
  let sawEnd = false;
  let stderr = '';
  let pending = '';
  const kill = (why: 'hang' | 'memory') => {
    killedFor ??= why;
    child.kill('SIGKILL');
  };
  let timer = setTimeout(() => kill('hang'), hangMs);
  const poll = setInterval(() => {
    if (child.pid !== undefined && rssBytes(child.pid) > o.maxRssBytes) kill('memory');
  }, 100);
  child.stdout.on('data', (chunk: Buffer) => {
    clearTimeout(timer);
    timer = setTimeout(() => kill('hang'), hangMs);
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const [tag, id, ...rest] = line.split(' ');
      if (tag === 'S') {
        run.current = Number(id);
        run.lastStarted = run.current;
      } else if (tag === 'D') {
        run.done.set(Number(id), JSON.parse(rest.join(' ')) as Done);
        run.current = null;
      } else if (tag === 'M') {
        memoryLine = `resident memory ${Math.round(Number(rest[0]) / 2 ** 20)} MB`;
      } else if (tag === 'E') {
        sawEnd = true;
      } else if (tag === 'L') {
        loadError = [id, ...rest].join(' ');
      } else if (tag === 'X') {
        runnerError = [id, ...rest].join(' ');
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    // Enough for a sanitizer's whole report (its summary is at the end, our frame near the top).
    stderr = (stderr + chunk.toString('utf8')).slice(-32000);
  });
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      fs.rmSync(jobFile, { force: true });
      const how = signal ?? `exit code ${code}`;
      if (loadError) {
        run.ended = 'not-loaded';
        run.detail = `the library did not load: ${loadError}`;
      } else if (killedFor === 'hang') {
        run.ended = 'hang';
        run.detail = `no progress for ${hangMs} ms`;
      } else if (killedFor === 'memory' || memoryLine) {
        run.ended = 'memory';
        run.detail = `${memoryLine || `resident memory over ${Math.round(o.maxRssBytes / 2 ** 20)} MB`} (unbounded memory)`;
      } else if (runnerError) {
        run.ended = 'runner-error';
        run.detail = `runner: ${runnerError}`;
      } else if (code !== 0 || signal !== null || !sawEnd) {
        run.ended = 'crash';
        run.detail = `${how}${run.current === null ? ' (after the last job finished)' : ''}${stderr.trim() ? `: ${crashSummary(stderr)}` : ''}`;
      }
      resolve(run);
    });
  });
}

function verdictOf(passes: PassResult[]): Verdict {
  const failure = passes.find((p) => p.failure);
  if (failure) return { kind: 'failure', passes, detail: failure.failure! };
  return { kind: passes.some((p) => p.errors.length > 0) ? 'error' : 'ok', passes };
}

// A library that does not load is retried for a while (a rebuild of the addon takes seconds),
// then the run stops: it would otherwise blame a mutant for what no mutant did.
const LOAD_RETRIES = 10;
const LOAD_RETRY_MS = 3000;

/** runChild, retried while the library does not load; throws if it never does. */
async function runLoaded(jobs: readonly Job[], o: RunOptions, hangMs = o.hangMs): Promise<ChildRun> {
  for (let attempt = 0; ; attempt++) {
    const run = await runChild(jobs, o, hangMs);
    if (run.ended !== 'not-loaded') return run;
    if (attempt >= LOAD_RETRIES) throw new Error(`fuzz runner: ${run.detail} (${LOAD_RETRIES + 1} attempts in ${(LOAD_RETRIES * LOAD_RETRY_MS) / 1000} s)`);
    await new Promise((resolve) => setTimeout(resolve, LOAD_RETRY_MS));
  }
}

/** Re-runs one job alone: what it does by itself. */
async function alone(job: Job, o: RunOptions, hangMs = o.hangMs): Promise<ChildRun> {
  return runLoaded([job], o, hangMs);
}

/** The verdict of each job, in order; a child's death is pinned on the job that caused it. */
export async function runJobs(jobs: readonly Job[], o: RunOptions): Promise<JobResult[]> {
  const results = new Map<number, JobResult>();
  let pending = [...jobs];
  while (pending.length > 0) {
    const run = await runLoaded(pending, o);
    for (const job of pending) {
      const done = run.done.get(job.id);
      if (done) results.set(job.id, { job, verdict: verdictOf(done.passes), peakRss: done.peakRss, baseRss: done.baseRss, ms: done.ms });
    }
    if (run.ended === 'clean') break;
    // The job in progress, or the last one started if the child died between jobs or at exit.
    const suspectId = run.current ?? run.lastStarted ?? pending[0].id;
    const at = pending.findIndex((j) => j.id === suspectId);
    const suspect = pending[at];
    const before = pending.slice(0, at).filter((j) => results.has(j.id));
    pending = pending.slice(at + 1);
    for (const result of await isolate(suspect, before, run, o)) results.set(result.job.id, result);
  }
  return jobs.map((job) => results.get(job.id)!);
}

async function isolate(suspect: Job, before: Job[], run: ChildRun, o: RunOptions): Promise<JobResult[]> {
  if (run.ended === 'runner-error') return [{ job: suspect, verdict: { kind: 'failure', passes: [], detail: run.detail } }];
  const solo = await alone(suspect, o, run.ended === 'hang' ? o.hangMs * 3 : o.hangMs);
  const soloPasses = solo.done.get(suspect.id)?.passes;
  if (solo.ended === run.ended || (solo.ended !== 'clean' && !soloPasses)) {
    return [{ job: suspect, verdict: { kind: solo.ended === 'runner-error' ? 'crash' : solo.ended, detail: solo.detail, reproduced: true } as Verdict }];
  }
  if (run.ended === 'hang') {
    // Finished alone with three times the time: slow (a loaded machine), not hung.
    const verdict = verdictOf(soloPasses!);
    return [{ job: suspect, verdict: verdict.kind === 'failure' ? verdict : { ...verdict, slow: true } as Verdict }];
  }
  if (run.ended === 'memory') {
    // Within the bound alone, over it after the jobs before it in one process: memory that grows
    // from decoder to decoder (a leak), which is unbounded memory too.
    return [{ job: suspect, verdict: { kind: 'memory', detail: `${run.detail}, but not alone: memory grew across the ${before.length + 1} decodes of one process`, reproduced: false } }];
  }
  // A crash that the suspect does not cause alone: look for the job that damaged the heap.
  const culprits: JobResult[] = [];
  for (const job of before) {
    const again = await alone(job, o);
    if (again.ended === 'crash') culprits.push({ job, verdict: { kind: 'crash', detail: again.detail, reproduced: true } });
  }
  if (culprits.length > 0) return [...culprits, { job: suspect, verdict: verdictOf(soloPasses!) }];
  return [{ job: suspect, verdict: { kind: 'crash', detail: `${run.detail} (in a batch of ${before.length + 1}; no job crashes alone: ${before.map((j) => j.id).concat(suspect.id).join(',')})`, reproduced: false } }];
}

/** What one job costs with a child to itself (for the amplification check), or null if it did not finish. */
export async function costAlone(job: Job, o: RunOptions): Promise<{ ms: number; peakRss: number } | null> {
  const run = await alone(job, o, o.hangMs * 3);
  const done = run.done.get(job.id);
  return done ? { ms: done.ms, peakRss: done.peakRss } : null;
}

export function defaultWorkDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-fuzz-'));
}
