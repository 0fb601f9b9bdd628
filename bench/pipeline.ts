// npm run bench:pipeline — two parts, each against its references in the same run:
//
// (1) Hand-off of 1080p rgb24 frames (6,220,800 bytes) from one worker thread to another through
//     a FrameRing, against one plain memcpy of the same bytes (Uint8Array.set) on one thread, and
//     against what the ring replaces: postMessage of a copy. Goal: the ring costs no more than
//     one copy (ratio >= 1).
// (2) pipeline() unpaced (libx264 veryfast push to a local nginx-rtmp), on the native relay and
//     on worker threads, against decode alone, push alone (pre-decoded frames, cycled), the single
//     thread loop that decodes and pushes in turn, and the ffmpeg CLI doing the same push. Goals:
//     pipeline >= 0.95 x the slower stage, above the single-thread loop, and not slower than the CLI.
//
// Medians of interleaved rounds (ROUNDS=n, default 3). Workers run the compiled dist/ (built by
// scripts/bootstrap.js, which the npm script runs first).
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Decoder, FrameRing, Server, pipeline, type PipelineStats } from '../lib';
import { fixture } from '../test/helpers/fixtures';
import { probeFrameCount } from '../test/helpers/ffmpeg-cli';
import { startRtmpServer } from '../test/helpers/servers';
import { measure, measureCommand, report, rounds } from './common';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const RING_JS = path.join(__dirname, '..', 'dist', 'ring', 'index.js');
const FRAME = 1920 * 1080 * 3;
const HANDOFF_FRAMES = 600;

// ---------- (1) ring hand-off ----------

function runWorker(code: string, workerData: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(`const { workerData, parentPort } = require('node:worker_threads');\n${code}`, { eval: true, workerData });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

// The producer stamps the frame number in the first bytes (a real producer decodes into the
// slot: that work is the decoder's, not the ring's); the consumer checks it and releases.
const RING_PRODUCER = `
const { FrameRing } = require(workerData.ring);
const ring = FrameRing.attach(workerData.buffer);
for (let i = 0; i < workerData.frames; i++) {
  const slot = ring.acquireWrite();
  slot.data[0] = i & 255;
  slot.commit({ index: i, width: 1920, height: 1080, pixelFormat: 'rgb24' });
}
ring.close();
parentPort.postMessage('done');
`;
const RING_CONSUMER = `
const { FrameRing } = require(workerData.ring);
const ring = FrameRing.attach(workerData.buffer);
let n = 0;
for (let f = ring.acquireRead(); f; f = ring.acquireRead()) {
  if (f.index !== n || f.data[0] !== (n & 255) || f.data.byteLength !== ${FRAME}) throw new Error('bad frame ' + n);
  f.release();
  n++;
}
parentPort.postMessage(n);
`;

async function ringHandOff(): Promise<number> {
  const ring = FrameRing.create({ slots: 4, slotBytes: FRAME });
  const [, received] = await Promise.all([
    runWorker(RING_PRODUCER, { ring: RING_JS, buffer: ring.buffer, frames: HANDOFF_FRAMES }),
    runWorker(RING_CONSUMER, { ring: RING_JS, buffer: ring.buffer }),
  ]);
  return received as number;
}

function memcpy(): number {
  const source = new Uint8Array(FRAME).fill(7);
  const target = new Uint8Array(FRAME);
  for (let i = 0; i < HANDOFF_FRAMES; i++) {
    source[0] = i & 255;
    target.set(source);
  }
  if (target[0] !== ((HANDOFF_FRAMES - 1) & 255)) throw new Error('memcpy check');
  return HANDOFF_FRAMES;
}

// The alternative the ring replaces: each frame copied into a message (structured clone).
const POST_PRODUCER = `
const frame = new Uint8Array(${FRAME}).fill(7);
const { port } = workerData;
let i = 0;
const credit = new Int32Array(workerData.credit);
for (; i < workerData.frames; i++) {
  // Same bound as the ring: at most 4 frames in flight.
  while (Atomics.load(credit, 0) >= 4) Atomics.wait(credit, 0, Atomics.load(credit, 0), 100);
  Atomics.add(credit, 0, 1);
  frame[0] = i & 255;
  port.postMessage(frame);
}
port.postMessage(null);
parentPort.postMessage('done');
`;
const POST_CONSUMER = `
const { port } = workerData;
const credit = new Int32Array(workerData.credit);
let n = 0;
port.on('message', (frame) => {
  if (frame === null) { parentPort.postMessage(n); port.close(); return; }
  if (frame[0] !== (n & 255)) throw new Error('bad frame ' + n);
  n++;
  Atomics.sub(credit, 0, 1);
  Atomics.notify(credit, 0);
});
`;

async function postMessageCopy(): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const credit = new SharedArrayBuffer(4);
  const producer = new Promise((resolve, reject) => {
    const w = new Worker(`const { workerData, parentPort } = require('node:worker_threads');\n${POST_PRODUCER}`, {
      eval: true,
      workerData: { port: port1, credit, frames: HANDOFF_FRAMES },
      transferList: [port1 as never],
    });
    w.once('message', resolve);
    w.once('error', reject);
  });
  const consumer = new Promise((resolve, reject) => {
    const w = new Worker(`const { workerData, parentPort } = require('node:worker_threads');\n${POST_CONSUMER}`, {
      eval: true,
      workerData: { port: port2, credit },
      transferList: [port2 as never],
    });
    w.once('message', resolve);
    w.once('error', reject);
  });
  const [, received] = await Promise.all([producer, consumer]);
  return received as number;
}

const handOff = await rounds(ROUNDS, [
  () => measure('memcpy of one frame (Uint8Array.set)', memcpy),
  () => measure('FrameRing hand-off, two workers, 4 slots', ringHandOff),
  () => measure('postMessage of a copy, two workers', postMessageCopy),
]);
report(`(1) 1080p rgb24 frames (${FRAME} bytes) from one thread to another, ${HANDOFF_FRAMES} frames (median of ${ROUNDS})`, handOff, 'memcpy of one frame (Uint8Array.set)');

// ---------- (2) pipeline ----------

const input = fixture('bench-1080p.mp4');
const frames = probeFrameCount(input);
const PUSH_BASE = { codec: 'libx264', preset: 'veryfast', gopSize: 60 } as const;
const rtmp = await startRtmpServer();
let stream = 0;
const url = () => rtmp.liveUrl(`bench${stream++}`);

// Push alone: 30 distinct decoded frames (93 MB of yuv420p), served in a cycle.
const pool: Uint8Array[] = [];
{
  const dec = Decoder.openSync(input, { pixelFormat: 'yuv420p' });
  for (let i = 0; i < 30; i++) {
    const target = new Uint8Array(dec.frameBytes);
    if (!dec.extractFrameInto(target)) break;
    pool.push(target);
  }
  dec.close();
}
const info = Decoder.openSync(input, { pixelFormat: 'yuv420p' });
const from = info.info;
info.close();

// Two settings: every stage with FFmpeg's automatic thread count (on this 2-core machine both
// stages then compete for the same cores), and one thread per stage (the case the two-thread
// design is for: each stage gets a core of its own).
for (const threads of [0, 1]) {
  const PUSH = { ...PUSH_BASE, threads };
  const DEC = { pixelFormat: 'yuv420p', threads } as const;
  let lastStats: PipelineStats | null = null;
  const stages = await rounds(ROUNDS, [
    () => measure('decode only (extractFrameInto, yuv420p)', () => {
      const dec = Decoder.openSync(input, DEC);
      const target = new Uint8Array(dec.frameBytes);
      let n = 0;
      while (dec.extractFrameInto(target)) n++;
      dec.close();
      return n;
    }),
    () => measure('push only (serveFrame, libx264 veryfast)', () => {
      const srv = Server.openSync(url(), { from, ...PUSH, pixelFormat: 'yuv420p' });
      for (let i = 0; i < frames; i++) srv.serveFrame(pool[i % pool.length]);
      srv.closeSync();
      return frames;
    }),
    () => measure('single thread: decode, push, in turn', () => {
      const dec = Decoder.openSync(input, DEC);
      const srv = Server.openSync(url(), { from: dec.info, ...PUSH, pixelFormat: 'yuv420p' });
      const target = new Uint8Array(dec.frameBytes);
      let n = 0;
      while (dec.extractFrameInto(target)) {
        srv.serveFrame(target);
        n++;
      }
      srv.closeSync();
      dec.close();
      return n;
    }),
    () => measure('pipeline() unpaced, two workers, 8 slots', async () => {
      lastStats = await pipeline({ input, output: url(), decoder: DEC, server: PUSH, realtime: false, slots: 8, engine: 'workers' });
      return lastStats.frames;
    }),
    () => measure('pipeline() unpaced, native relay, 8 slots', async () => {
      lastStats = await pipeline({ input, output: url(), decoder: DEC, server: PUSH, realtime: false, slots: 8 });
      return lastStats.frames;
    }),
    // The same push by the ffmpeg CLI: libx264 veryfast, GOP 60, zerolatency (what the library
    // defaults to for a network output), CRF 23 (both's default), the same thread counts.
    () => measureCommand('ffmpeg CLI, the same push', frames, 'ffmpeg', [
      '-v', 'error', '-threads', String(threads), '-i', input, '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '60',
      '-threads', String(threads), '-an', '-f', 'flv', url(),
    ]),
  ]);
  const slower = Math.min(stages.get('decode only (extractFrameInto, yuv420p)')!, stages.get('push only (serveFrame, libx264 veryfast)')!);
  stages.set('the slower stage (reference)', slower);
  report(`(2) 1080p H.264 -> yuv420p -> libx264 veryfast -> nginx-rtmp, ${frames} frames, threads=${threads === 0 ? 'auto' : threads} per stage (median of ${ROUNDS})`, stages, 'the slower stage (reference)');
  report(`(2) the same against the ffmpeg CLI, threads=${threads === 0 ? 'auto' : threads}`, new Map(
    ['ffmpeg CLI, the same push', 'pipeline() unpaced, native relay, 8 slots', 'pipeline() unpaced, two workers, 8 slots'].map((name) => [name, stages.get(name)!]),
  ), 'ffmpeg CLI, the same push');
  const s = lastStats as PipelineStats | null;
  if (s) {
    console.log(`last pipeline run: decodeFps ${s.decodeFps.toFixed(1)} (decoder thread alone), pushFps ${s.pushFps.toFixed(1)} (pusher thread alone), ` +
      `maxDepth ${s.maxDepth}, producerWaits ${s.producerWaits}, consumerWaits ${s.consumerWaits}`);
  }
}
await rtmp.stop();
