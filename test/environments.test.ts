// The per-environment design of the addon under worker_threads: each worker loads its own
// instance, errors are typed in each, and a worker that exits with objects still open has them
// closed at teardown instead of crashing the process.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect, test } from 'vitest';
import { fixture } from './helpers/fixtures';

const root = path.join(__dirname, '..');

function runWorker(source: string, workerData: unknown): Promise<{ result: unknown; exitCode: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData });
    let result: unknown;
    worker.on('message', (message) => (result = message));
    worker.on('error', reject);
    worker.on('exit', (exitCode) => resolve({ result, exitCode }));
  });
}

const WORKER_DECODE = `
  const { workerData, parentPort } = require('node:worker_threads');
  const { Decoder, StreamcoderError } = require(workerData.lib);
  const dec = Decoder.openSync(workerData.file);
  let frames = 0;
  while (dec.extractFrame()) frames++;
  dec.close();
  let code = null;
  try { dec.extractFrame(); } catch (e) { code = e instanceof StreamcoderError ? e.code : 'not typed'; }
  parentPort.postMessage({ frames, code });`;

test('the sync API works in two worker_threads at once, with typed errors in each', async () => {
  const data = { lib: path.join(root, 'dist/index.js'), file: fixture('h264-bframes.mp4') };
  const [a, b] = await Promise.all([runWorker(WORKER_DECODE, data), runWorker(WORKER_DECODE, data)]);
  expect(a).toEqual({ result: { frames: 75, code: 'ERR_CLOSED' }, exitCode: 0 });
  expect(b).toEqual({ result: { frames: 75, code: 'ERR_CLOSED' }, exitCode: 0 });
});

test('a worker that exits or is terminated with decoders still open does not take the process down', async () => {
  const leaveOpen = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { Decoder } = require(workerData.lib);
    const open = [Decoder.openSync(workerData.file), Decoder.openSync(workerData.file)];
    open[0].extractFrame();
    open[1].read();  // async work in flight at exit
    parentPort.postMessage('left open');`;
  const data = { lib: path.join(root, 'dist/index.js'), file: fixture('h264-bframes.mp4') };
  expect(await runWorker(leaveOpen, data)).toEqual({ result: 'left open', exitCode: 0 });

  const worker = new Worker(`${leaveOpen}; setInterval(() => {}, 1000);`, { eval: true, workerData: data });
  await new Promise((resolve) => worker.once('message', resolve));
  expect(await worker.terminate()).toBe(1);
});
