// One scenario per process (argv[2]): an async call is given a buffer, and while the call runs on
// the thread pool, the buffer's memory is taken away from under it: transferred and collected,
// or shrunk to nothing. The library must neither crash nor touch the memory after it is gone;
// it either finishes from its own copy or rejects with a typed error. Prints one JSON line with
// what happened; a crash shows as a signal in the parent. Run with --expose-gc.
'use strict';

const path = require('node:path');
const fs = require('node:fs');
const { Decoder, Encoder, Server } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const [scenario, source, outDir] = process.argv.slice(2);
const WIDTH = 1920;
const HEIGHT = 1080;
const FRAME = (WIDTH * HEIGHT * 3) / 2; // yuv420p

// A flat picture whose luma is `y`, so what was encoded can be read back and checked.
function fill(view, y) {
  view.fill(y, 0, WIDTH * HEIGHT);
  view.fill(128, WIDTH * HEIGHT);
  return view;
}

// Takes the memory away: transferred to a clone that is dropped and collected at once.
function transferAway(buffer) {
  structuredClone(buffer, { transfer: [buffer] });
  globalThis.gc();
  globalThis.gc();
}

async function settle(promise) {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, name: error.name, code: error.code, message: error.message };
  }
}

// Memory churn after the call, so freed pages get reused and any stale pointer shows.
function churn() {
  const keep = [];
  for (let i = 0; i < 20; i++) keep.push(new Uint8Array(FRAME).fill(i));
  return keep.length;
}

function lumaOfEncodedFrames(file) {
  const dec = Decoder.openSync(file, { pixelFormat: 'gray' });
  const means = [];
  for (let f = dec.extractFrame(); f; f = dec.extractFrame()) {
    let sum = 0;
    for (let i = 0; i < f.data.length; i += 97) sum += f.data[i];
    means.push(Math.round(sum / Math.ceil(f.data.length / 97)));
  }
  dec.close();
  return means;
}

async function encodeWhileTaken(kind) {
  const file = path.join(outDir, `${kind}.mkv`);
  const enc = await Encoder.open(file, { width: WIDTH, height: HEIGHT, pixelFormat: 'yuv420p', codec: 'libx264', preset: 'medium', frameRate: 25 });
  const results = [];
  for (let i = 0; i < 3; i++) {
    let view;
    if (kind === 'encode-transfer') view = fill(new Uint8Array(FRAME), 60 + 60 * i);
    else if (kind === 'encode-resize') view = fill(new Uint8Array(new ArrayBuffer(FRAME, { maxByteLength: FRAME })), 60 + 60 * i);
    else if (kind === 'encode-growable-shared') view = fill(new Uint8Array(new SharedArrayBuffer(FRAME, { maxByteLength: 2 * FRAME }), 0, FRAME), 60 + 60 * i);
    const pending = enc.encode(view);
    if (kind === 'encode-transfer') transferAway(view.buffer);
    else if (kind === 'encode-resize') view.buffer.resize(0);
    else view.buffer.grow(2 * FRAME);
    churn();
    results.push(await settle(pending));
  }
  await enc.close();
  return { results, luma: lumaOfEncodedFrames(file) };
}

async function serveWhileTaken() {
  // A paced serve waits for its deadline on the pool thread: the memory goes away meanwhile.
  const file = path.join(outDir, 'serve.flv');
  const srv = await Server.open(file, { format: 'flv', width: WIDTH, height: HEIGHT, pixelFormat: 'yuv420p', frameRate: 5, preset: 'ultrafast' });
  const results = [];
  for (let i = 0; i < 3; i++) {
    const view = fill(new Uint8Array(FRAME), 60 + 60 * i);
    const pending = srv.serveBlock(view);
    transferAway(view.buffer);
    churn();
    results.push(await settle(pending));
  }
  await srv.close();
  return { results, luma: lumaOfEncodedFrames(file) };
}

async function readIntoWhileTaken(kind) {
  const dec = await Decoder.open(source, { pixelFormat: 'gray' });
  const bytes = dec.frameBytes;
  const results = [];
  const reference = Decoder.openSync(source, { pixelFormat: 'gray' });
  for (let i = 0; i < 3; i++) {
    const expected = reference.extractFrame().data;
    let view;
    if (kind === 'readinto-transfer') view = new Uint8Array(bytes);
    else if (kind === 'readinto-resize') view = new Uint8Array(new ArrayBuffer(bytes, { maxByteLength: bytes }));
    else if (kind === 'readinto-shared') view = new Uint8Array(new SharedArrayBuffer(bytes));
    else view = new Uint8Array(new SharedArrayBuffer(bytes, { maxByteLength: 2 * bytes }), 0, bytes);
    const pending = dec.readInto(view);
    if (kind === 'readinto-transfer') transferAway(view.buffer);
    else if (kind === 'readinto-resize') view.buffer.resize(0);
    else if (kind === 'readinto-growable-shared') view.buffer.grow(2 * bytes);
    churn();
    const result = await settle(pending);
    if (result.ok) result.samePicture = Buffer.compare(Buffer.from(view), Buffer.from(expected)) === 0;
    delete result.value;
    results.push(result);
  }
  reference.close();
  dec.close();
  return { results };
}

async function detachedBeforeTheCall() {
  const enc = await Encoder.open(path.join(outDir, 'before.mkv'), { width: 64, height: 64, pixelFormat: 'gray', codec: 'libx264' });
  const view = new Uint8Array(64 * 64);
  transferAway(view.buffer);
  const results = [await settle(enc.encode(view)), await settle(Promise.resolve().then(() => enc.encodeFrame(view)))];
  await enc.close();
  return { results };
}

const scenarios = {
  'encode-transfer': () => encodeWhileTaken('encode-transfer'),
  'encode-resize': () => encodeWhileTaken('encode-resize'),
  'encode-growable-shared': () => encodeWhileTaken('encode-growable-shared'),
  'serve-transfer': serveWhileTaken,
  'readinto-transfer': () => readIntoWhileTaken('readinto-transfer'),
  'readinto-resize': () => readIntoWhileTaken('readinto-resize'),
  'readinto-shared': () => readIntoWhileTaken('readinto-shared'),
  'readinto-growable-shared': () => readIntoWhileTaken('readinto-growable-shared'),
  'detached-before': detachedBeforeTheCall,
};

scenarios[scenario]().then(
  (outcome) => {
    fs.writeSync(1, `${JSON.stringify(outcome)}\n`);
    process.exit(0);
  },
  (error) => {
    fs.writeSync(1, `${JSON.stringify({ crashed: String(error && error.stack) })}\n`);
    process.exit(1);
  },
);
