// Runs code in real worker_threads for the tests. Workers cannot load lib/*.ts (vitest compiles
// those only for the test's own thread), so worker code requires the compiled library in dist/,
// which `npm test` builds first; a stale dist/ is refused rather than silently tested.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

const ROOT = path.join(__dirname, '..', '..');

/** Absolute path of dist/<name>.js, checked to be at least as new as lib/<name>.ts. */
export function distModule(name: string): string {
  const built = path.join(ROOT, 'dist', `${name}.js`);
  const source = path.join(ROOT, 'lib', `${name}.ts`);
  if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(source).mtimeMs) {
    throw new Error(`dist/${name}.js is missing or older than lib/${name}.ts: run \`npm run build:ts\` (npm test does)`);
  }
  return built;
}

export interface WorkerRun<T> {
  worker: Worker;
  /** The first message the worker posts; rejects if it throws or exits first. */
  result: Promise<T>;
  /** Resolves with the exit code. */
  exited: Promise<number>;
}

/**
 * Starts `body` (the text of a CommonJS module body; `workerData`, `parentPort` and `require` are
 * in scope) in a new worker thread.
 */
export function runWorker<T = unknown>(body: string, workerData: unknown): WorkerRun<T> {
  const code = `const { workerData, parentPort } = require('node:worker_threads');\n${body}`;
  const worker = new Worker(code, { eval: true, workerData });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const result = new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with code ${code} before reporting`)));
  });
  return { worker, result, exited };
}
