import { describe, expect, test } from 'vitest';
import { Decoder, FrameRing, StreamcoderError, frameBytes } from '../lib';
import { fixture } from './helpers/fixtures';
import { distModule, runWorker } from './helpers/workers';

function expectError(fn: () => unknown, code: string, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(StreamcoderError);
  expect((thrown as StreamcoderError).code).toBe(code);
  if (message) expect((thrown as StreamcoderError).message).toMatch(message);
}

// Worker bodies. Each frame i is recognisable everywhere: its index, its pts, its length, its
// first and last 4 bytes (i, big-endian) and a fill byte in between, so a lost, duplicated,
// reordered or torn frame is caught by the consumer.
const SLOT_BYTES = 12_288;
const lengthOf = (i: number) => SLOT_BYTES - (i % 7);

const PRODUCER = `
const { FrameRing } = require(workerData.ring);
const ring = FrameRing.attach(workerData.buffer);
const pause = (ms) => ms > 0 && Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
try {
  for (let i = 0; i < workerData.frames; i++) {
    const slot = ring.acquireWrite(20000);
    const len = ${SLOT_BYTES} - (i % 7);
    slot.data.fill(i & 255, 0, len);
    const view = new DataView(slot.data.buffer, slot.data.byteOffset, len);
    view.setUint32(0, i);
    view.setUint32(len - 4, i);
    slot.commit({ index: i, pts: i * 10, time: i / 25, keyFrame: i % 10 === 0, pictType: i % 10 === 0 ? 'I' : 'P', width: 64, height: 64, pixelFormat: 'rgb24', byteLength: len });
    if (workerData.delayEvery && i % workerData.delayEvery === 0) pause(workerData.delayMs);
  }
  if (workerData.abortWith) ring.abort(Object.assign(new Error(workerData.abortWith.message), { code: workerData.abortWith.code }));
  else ring.close();
  parentPort.postMessage({ sent: workerData.frames });
} catch (e) {
  parentPort.postMessage({ error: { code: e.code, message: e.message } });
}
`;

const CONSUMER = `
const { FrameRing } = require(workerData.ring);
const ring = FrameRing.attach(workerData.buffer);
const pause = (ms) => ms > 0 && Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
let received = 0;
const problems = [];
try {
  for (let f = ring.acquireRead(20000); f; f = ring.acquireRead(20000)) {
    const i = received;
    const len = ${SLOT_BYTES} - (i % 7);
    const view = new DataView(f.data.buffer, f.data.byteOffset, f.data.byteLength);
    if (f.index !== i || f.pts !== i * 10 || f.data.byteLength !== len || view.getUint32(0) !== i ||
        view.getUint32(len - 4) !== i || f.data[len >> 1] !== (i & 255) || f.keyFrame !== (i % 10 === 0) ||
        f.pictType !== (i % 10 === 0 ? 'I' : 'P') || f.pixelFormat !== 'rgb24' || f.width !== 64) {
      if (problems.length < 5) problems.push({ expected: i, index: f.index, pts: f.pts, length: f.data.byteLength, head: view.getUint32(0) });
    }
    received++;
    f.release();
    if (workerData.delayEvery && i % workerData.delayEvery === 0) pause(workerData.delayMs);
  }
  parentPort.postMessage({ received, problems, stats: ring.stats });
} catch (e) {
  parentPort.postMessage({ received, problems, error: { code: e.code, message: e.message } });
}
`;

interface ConsumerReport {
  received: number;
  problems: unknown[];
  stats?: { maxDepth: number; producerWaits: number; consumerWaits: number };
  error?: { code: string; message: string };
}

async function handOff(frames: number, slots: number, producer: object, consumer: object) {
  const ring = FrameRing.create({ slots, slotBytes: SLOT_BYTES });
  const path = distModule('ring');
  const p = runWorker<{ sent?: number; error?: unknown }>(PRODUCER, { ring: path, buffer: ring.buffer, frames, ...producer });
  const c = runWorker<ConsumerReport>(CONSUMER, { ring: path, buffer: ring.buffer, ...consumer });
  const [sent, report] = await Promise.all([p.result, c.result]);
  await Promise.all([p.exited, c.exited]);
  return { ring, sent, report };
}

describe('FrameRing in one thread', () => {
  test('hands frames over in order with their info, in place', () => {
    const ring = FrameRing.create({ slots: 4, slotBytes: 16 });
    expect(ring.buffer).toBeInstanceOf(SharedArrayBuffer);
    const w = ring.acquireWrite();
    expect(w.data.buffer).toBe(ring.buffer);
    expect(w.data.byteLength).toBe(16);
    w.data.set([1, 2, 3]);
    w.commit({ width: 2, height: 1, pixelFormat: 'gray', pts: null, time: null, index: 7, keyFrame: true, pictType: 'I' });
    const r = ring.acquireRead()!;
    expect(r).toMatchObject({ width: 2, height: 1, pixelFormat: 'gray', pts: null, time: null, index: 7, keyFrame: true, pictType: 'I' });
    expect(r.data.buffer).toBe(ring.buffer);
    expect(Array.from(r.data)).toEqual([1, 2]); // byteLength from the info: 2x1 gray
    r.release();
    expect(ring.stats).toMatchObject({ depth: 0, maxDepth: 1, written: 1, read: 1, state: 'open' });
  });

  test('wraps around many times without losing or reordering a frame', () => {
    const ring = FrameRing.create({ slots: 3, slotBytes: 8 });
    for (let i = 0; i < 100; i++) {
      for (let k = 0; k < (i % 3) + 1; k++) {
        const n = i * 3 + k;
        const w = ring.acquireWrite(0);
        w.data[0] = n & 255;
        w.commit({ index: n, pts: n, byteLength: 1 });
      }
      for (let k = 0; k < (i % 3) + 1; k++) {
        const r = ring.acquireRead(0)!;
        expect([r.index, r.pts, r.data[0]]).toEqual([i * 3 + k, i * 3 + k, (i * 3 + k) & 255]);
        r.release();
      }
    }
    expect(ring.stats.maxDepth).toBe(3);
  });

  test('the Int32 frame counters wrap without a lost, repeated or misplaced frame', () => {
    const ring = FrameRing.create({ slots: 3, slotBytes: 4 });
    // White-box: start both counters (header words 7 and 8) just below the Int32 wrap.
    const words = new Int32Array(ring.buffer, 0, 32);
    words[7] = words[8] = 0x7ffffffe;
    for (let n = 0; n < 12; n++) {
      const w = ring.acquireWrite(0);
      w.data[0] = n;
      w.commit({ index: n, byteLength: 1 });
      if (n % 2 === 1) {
        for (let k = n - 1; k <= n; k++) {
          const r = ring.acquireRead(0)!;
          expect([r.index, r.data[0]]).toEqual([k, k]);
          r.release();
        }
      }
    }
    expect(ring.stats.depth).toBe(0);
    expect(ring.stats.written).toBeLessThan(0); // it did wrap
  });

  test('a full ring times out the producer, an empty one the consumer', () => {
    const ring = FrameRing.create({ slots: 2, slotBytes: 4 });
    expectError(() => ring.acquireRead(10), 'ERR_TIMEOUT');
    ring.acquireWrite().commit();
    ring.acquireWrite().commit();
    const started = performance.now();
    expectError(() => ring.acquireWrite(30), 'ERR_TIMEOUT', /full/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(ring.stats).toMatchObject({ producerWaits: 1, consumerWaits: 1, depth: 2 });
  });

  test('close lets the consumer drain, then gives null; the producer gets ERR_CLOSED', () => {
    const ring = FrameRing.create({ slots: 4, slotBytes: 4 });
    ring.acquireWrite().commit({ index: 0 });
    ring.acquireWrite().commit({ index: 1 });
    ring.close();
    ring.close();
    expectError(() => ring.acquireWrite(), 'ERR_CLOSED');
    const a = ring.acquireRead()!;
    a.release();
    const b = ring.acquireRead()!;
    b.release();
    expect([a.index, b.index]).toEqual([0, 1]);
    expect(ring.acquireRead()).toBeNull();
    expect(ring.acquireRead(5)).toBeNull();
  });

  test('abort carries the code and message to both sides and drops what was not read', () => {
    const ring = FrameRing.create({ slots: 4, slotBytes: 4 });
    ring.acquireWrite().commit();
    ring.abort(new StreamcoderError('the server went away', 'ERR_CONNECTION_LOST', -104));
    ring.abort(new StreamcoderError('second abort is ignored', 'ERR_IO'));
    expectError(() => ring.acquireRead(), 'ERR_CONNECTION_LOST', /the server went away/);
    expectError(() => ring.acquireWrite(), 'ERR_CONNECTION_LOST');
    expect(ring.error?.averror).toBe(-104);
    expect(ring.stats.state).toBe('aborted');
    const plain = FrameRing.create({ slots: 2, slotBytes: 4 });
    plain.abort();
    expectError(() => plain.acquireRead(), 'ERR_ABORTED');
  });

  test('readAsync resolves frames, null at the end, and rejects on abort, without blocking', async () => {
    const ring = FrameRing.create({ slots: 2, slotBytes: 4 });
    const pending = ring.readAsync(5000);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await new Promise((r) => setTimeout(r, 30));
    ring.acquireWrite().commit({ index: 5 });
    const slot = (await pending)!;
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0); // the event loop ran while it waited
    expect(slot.index).toBe(5);
    slot.release();
    await expect(ring.readAsync(10)).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    ring.close();
    expect(await ring.readAsync()).toBeNull();
    const other = FrameRing.create({ slots: 2, slotBytes: 4 });
    const waiting = other.readAsync();
    setTimeout(() => other.abort(new StreamcoderError('stop', 'ERR_IO')), 10);
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_IO', message: 'stop' });
  });

  test('a decoder writes straight into a slot: the same pixels as a copying read', () => {
    const file = fixture('h264-bframes.mp4');
    const copying = Decoder.openSync(file);
    const direct = Decoder.openSync(file);
    const ring = FrameRing.forInfo(direct.info, { slots: 2 });
    expect(ring.slotBytes).toBe(direct.frameBytes);
    for (let i = 0; i < 5; i++) {
      const w = ring.acquireWrite();
      w.commit(direct.extractFrameInto(w.data)!);
      const r = ring.acquireRead()!;
      const frame = copying.extractFrame()!;
      expect(r.index).toBe(frame.index);
      expect(Buffer.compare(r.data, frame.data)).toBe(0);
      r.release();
    }
    copying.close();
    direct.close();
  });
});

describe('FrameRing bad input', () => {
  test('options out of range', () => {
    expectError(() => FrameRing.create({ slots: 1, slotBytes: 10 }), 'ERR_INVALID_ARGUMENT', /slots/);
    expectError(() => FrameRing.create({ slots: 5000, slotBytes: 10 }), 'ERR_INVALID_ARGUMENT');
    expectError(() => FrameRing.create({ slots: 2, slotBytes: 0 }), 'ERR_BUFFER_SIZE');
    expectError(() => FrameRing.create({ slots: 2.5, slotBytes: 10 }), 'ERR_INVALID_ARGUMENT');
    expectError(() => FrameRing.create(undefined as never), 'ERR_INVALID_ARGUMENT');
    expectError(() => FrameRing.forInfo({ width: 0, height: 10 }, { slots: 2 }), 'ERR_DIMENSIONS');
    expectError(() => FrameRing.forInfo({ width: 4, height: 4, pixelFormat: 'nv12' }, { slots: 2 }), 'ERR_INVALID_ARGUMENT');
    expect(frameBytes(5, 3, 'yuv420p')).toBe(15 + 2 * 3 * 2);
  });

  test('a slot smaller than a frame', () => {
    const ring = FrameRing.create({ slots: 2, slotBytes: 100 });
    const w = ring.acquireWrite();
    expectError(() => w.commit({ width: 10, height: 10, pixelFormat: 'rgb24' }), 'ERR_BUFFER_SIZE', /300 bytes.*100 bytes/);
    expectError(() => w.commit({ byteLength: 101 }), 'ERR_BUFFER_SIZE');
    const dec = Decoder.openSync(fixture('h264-bframes.mp4'));
    expectError(() => dec.extractFrameInto(w.data), 'ERR_BUFFER_SIZE');
    dec.close();
    w.commit({ byteLength: 100 }); // the slot is still held and usable after the refusals
    expect(ring.stats.written).toBe(1);
  });

  test('a buffer that is not a SharedArrayBuffer, or not a ring', () => {
    expectError(() => FrameRing.attach(new ArrayBuffer(4096) as never), 'ERR_INVALID_ARGUMENT', /SharedArrayBuffer/);
    expectError(() => FrameRing.attach(new Uint8Array(new SharedArrayBuffer(4096)) as never), 'ERR_INVALID_ARGUMENT');
    expectError(() => FrameRing.attach(null as never), 'ERR_INVALID_ARGUMENT');
    expectError(() => FrameRing.attach(new SharedArrayBuffer(4096)), 'ERR_INVALID_ARGUMENT', /magic/);
    expectError(() => FrameRing.attach(new SharedArrayBuffer(16)), 'ERR_INVALID_ARGUMENT', /header/);
    // A ring buffer cut short, and one from a future layout.
    const ring = FrameRing.create({ slots: 2, slotBytes: 64 });
    const cut = new SharedArrayBuffer(ring.buffer.byteLength - 64);
    new Uint8Array(cut).set(new Uint8Array(ring.buffer, 0, cut.byteLength));
    expectError(() => FrameRing.attach(cut), 'ERR_INVALID_ARGUMENT', /size/);
    const future = new SharedArrayBuffer(ring.buffer.byteLength);
    new Uint8Array(future).set(new Uint8Array(ring.buffer));
    new Int32Array(future)[1] = 99;
    expectError(() => FrameRing.attach(future), 'ERR_UNSUPPORTED', /version/);
    expect(FrameRing.attach(ring.buffer).slots).toBe(2);
  });

  test('commit twice, release twice or without acquire, acquire twice, a second producer', () => {
    const ring = FrameRing.create({ slots: 4, slotBytes: 4 });
    expectError(() => ring.commit(), 'ERR_INVALID_STATE', /acquireWrite first/);
    expectError(() => ring.release(), 'ERR_INVALID_STATE', /acquireRead first/);
    const w = ring.acquireWrite();
    expectError(() => ring.acquireWrite(), 'ERR_INVALID_STATE', /not committed/);
    w.commit();
    expectError(() => w.commit(), 'ERR_INVALID_STATE', /already committed/);
    const next = ring.acquireWrite();
    expectError(() => w.commit(), 'ERR_INVALID_STATE'); // a stale slot cannot commit the new one
    next.commit();
    const r = ring.acquireRead()!;
    expectError(() => ring.acquireRead(), 'ERR_INVALID_STATE', /not released/);
    r.release();
    expectError(() => r.release(), 'ERR_INVALID_STATE', /already released/);
    expectError(() => ring.release(), 'ERR_INVALID_STATE');
    expect(ring.stats).toMatchObject({ written: 2, read: 1 });
    const intruder = FrameRing.attach(ring.buffer);
    expectError(() => intruder.acquireWrite(), 'ERR_BUSY', /producer/);
    expectError(() => intruder.acquireRead(), 'ERR_BUSY', /consumer/);
    expectError(() => w.commit({ pixelFormat: 'rgb24' } as never), 'ERR_INVALID_STATE');
    expectError(() => ring.acquireWrite().commit('x' as never), 'ERR_INVALID_ARGUMENT');
  });
});

describe('FrameRing across two worker threads', () => {
  test('fast producer, slow consumer: every frame once, in order, depth bounded by the ring', async () => {
    const { sent, report } = await handOff(400, 4, {}, { delayEvery: 5, delayMs: 2 });
    expect(sent).toEqual({ sent: 400 });
    expect(report.error).toBeUndefined();
    expect(report.problems).toEqual([]);
    expect(report.received).toBe(400);
    expect(report.stats!.maxDepth).toBeLessThanOrEqual(4);
    expect(report.stats!.producerWaits).toBeGreaterThan(0); // the ring filled and held the producer back
  });

  test('slow producer, fast consumer: every frame once, in order', async () => {
    const { report, ring } = await handOff(300, 3, { delayEvery: 4, delayMs: 2 }, {});
    expect(report.problems).toEqual([]);
    expect(report.received).toBe(300);
    expect(ring.stats.consumerWaits).toBeGreaterThan(0);
    expect(ring.stats.maxDepth).toBeLessThanOrEqual(3);
  });

  test('memory stays the ring: 5000 frames through 2 slots', async () => {
    const { report, ring } = await handOff(5000, 2, {}, {});
    expect(report.problems).toEqual([]);
    expect(report.received).toBe(5000);
    expect(ring.stats.maxDepth).toBeLessThanOrEqual(2);
    expect(ring.buffer.byteLength).toBeLessThan(2 * SLOT_BYTES + 4096);
  });

  test('an abort in the producer reaches the consumer as a typed error', async () => {
    const { report } = await handOff(10, 4, { abortWith: { code: 'ERR_INVALID_DATA', message: 'corrupt input at frame 10' } }, { delayEvery: 1, delayMs: 5 });
    expect(report.error).toEqual({ code: 'ERR_INVALID_DATA', message: 'corrupt input at frame 10' });
    expect(report.received).toBeLessThanOrEqual(10);
    expect(report.problems).toEqual([]);
  });

  test('an abort by the consumer wakes a producer blocked on a full ring', async () => {
    const ring = FrameRing.create({ slots: 2, slotBytes: SLOT_BYTES });
    const p = runWorker<{ error?: { code: string; message: string } }>(PRODUCER, { ring: distModule('ring'), buffer: ring.buffer, frames: 1000 });
    // This thread is the consumer: read two frames, then give up with an error.
    for (let i = 0; i < 2; i++) {
      const f = (await ring.readAsync(20000))!;
      expect(f.index).toBe(i);
      f.release();
    }
    await new Promise((r) => setTimeout(r, 50)); // let the producer fill the ring and block
    ring.abort(new StreamcoderError('push failed', 'ERR_CONNECTION_LOST'));
    expect(await p.result).toEqual({ error: { code: 'ERR_CONNECTION_LOST', message: 'push failed' } });
    expect(await p.exited).toBe(0);
  });

  test('the main thread consumes with readAsync while a worker produces', async () => {
    const ring = FrameRing.create({ slots: 3, slotBytes: SLOT_BYTES });
    const p = runWorker(PRODUCER, { ring: distModule('ring'), buffer: ring.buffer, frames: 200 });
    let n = 0;
    for (let f = await ring.readAsync(20000); f; f = await ring.readAsync(20000)) {
      expect([f.index, new DataView(f.data.buffer, f.data.byteOffset).getUint32(0), f.data.byteLength]).toEqual([n, n, lengthOf(n)]);
      f.release();
      n++;
    }
    expect(n).toBe(200);
    await p.exited;
  });
});
