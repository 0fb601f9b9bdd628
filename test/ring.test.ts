import { describe, expect, test } from 'vitest';
import { Decoder, FrameRing, StreamcoderError, frameBytes } from '../lib';
import { fixture } from './helpers/fixtures';
import { distModule, runWorker } from './helpers/workers';
import { expectError } from './helpers/errors';


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
  const path = distModule('ring/index');
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
    // White-box: start the counters (header words 7 and 8, and the cursor of reader 0, the first
    // word of its block after the 32-word header) just below the Int32 wrap.
    const words = new Int32Array(ring.buffer, 0, 64);
    words[7] = words[8] = words[32] = 0x7ffffffe;
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

  test('extractGOPInto decodes GOP by GOP straight into the slots: the same frames, pixels and timeline as extractGOP', () => {
    const file = fixture('h264-bframes.mp4');
    const copying = Decoder.openSync(file);
    const direct = Decoder.openSync(file);
    // One thread: room for a GOP (25 frames) and the next GOP's keyframe, held back uncommitted.
    const ring = FrameRing.forInfo(direct.info, { slots: 26 });
    const sizes: number[] = [];
    for (let gop = copying.extractGOP(); gop; gop = copying.extractGOP()) {
      sizes.push(gop.length);
      const infos = direct.extractGOPInto(ring)!;
      expect(infos.map((i) => i.index)).toEqual(gop.map((f) => f.index));
      expect(ring.stats.depth).toBe(gop.length);
      for (const frame of gop) {
        const item = ring.acquireRead(0)!;
        expect([item.index, item.pts, item.time, item.keyFrame]).toEqual([frame.index, frame.pts, frame.time, frame.keyFrame]);
        expect(Buffer.compare(item.data, frame.data)).toBe(0);
        item.release();
      }
    }
    expect(direct.extractGOPInto(ring)).toBeNull();
    expect(sizes).toEqual([25, 25, 25]);
    copying.close();
    direct.close();
  });
});

describe('FrameRing with audio chunks and packets between the frames', () => {
  const audio = (n: number, samples: number, channels = 2) => {
    const data = new Float32Array(samples * channels).map((_, k) => n + k / 1e6);
    return { kind: 'audio' as const, data, sampleFormat: 'f32' as const, sampleRate: 48000, channels, samples, pts: n * 1024, time: n * 1024 / 48000 };
  };
  const packet = (n: number, bytes: number) => ({
    kind: 'audio-packet' as const, data: new Uint8Array(bytes).fill(n & 255), pts: n * 1024, dts: n * 1024 - 2, duration: 1024,
    timeBase: { num: 1, den: 48000 }, time: n * 1024 / 48000, keyFrame: true,
  });

  test('frames, audio (f32 and s16) and packets come out in commit order with their fields and bytes', () => {
    const ring = FrameRing.create({ slots: 3, slotBytes: 4096 });
    const slot = ring.acquireWrite();
    slot.data.fill(7);
    slot.commit({ width: 32, height: 32, pixelFormat: 'gray', index: 0, pts: 0, time: 0, keyFrame: true, pictType: 'I' });
    ring.write(audio(1, 100));
    const s16 = new Int16Array([1, -2, 3, -4, 32767, -32768]);
    ring.write({ kind: 'audio', data: s16, sampleFormat: 's16', sampleRate: 44100, channels: 1, samples: 6, pts: 5, time: 0.5 });
    ring.write(packet(3, 333));
    const a = ring.acquireRead()!;
    expect(a.kind).toBe('video');
    if (a.kind !== 'video') return;
    expect([a.width, a.height, a.pixelFormat, a.data.byteLength, a.data[1023], a.keyFrame]).toEqual([32, 32, 'gray', 1024, 7, true]);
    a.release();
    const b = ring.acquireRead()!;
    if (b.kind !== 'audio') throw new Error(b.kind);
    expect(b.data).toBeInstanceOf(Float32Array);
    expect([b.samples, b.channels, b.sampleRate, b.sampleFormat, b.pts, b.data.length]).toEqual([100, 2, 48000, 'f32', 1024, 200]);
    expect(Array.from(b.data)).toEqual(Array.from(audio(1, 100).data));
    b.release();
    const c = ring.acquireRead()!;
    if (c.kind !== 'audio') throw new Error(c.kind);
    expect(c.data).toBeInstanceOf(Int16Array);
    expect(Array.from(c.data)).toEqual(Array.from(s16));
    expect([c.sampleRate, c.channels, c.time]).toEqual([44100, 1, 0.5]);
    c.release();
    const d = ring.acquireRead()!;
    if (d.kind !== 'audio-packet') throw new Error(d.kind);
    expect([d.data.byteLength, d.data[332], d.pts, d.dts, d.duration, d.timeBase, d.keyFrame]).toEqual([333, 3, 3072, 3070, 1024, { num: 1, den: 48000 }, true]);
    d.release();
  });

  test('a ring for N frames still holds N frames, and the small items between them take only their bytes', () => {
    const slotBytes = 10_000;
    const ring = FrameRing.create({ slots: 4, slotBytes, spareBytes: 4 * 2048 });
    for (let i = 0; i < 4; i++) {
      ring.acquireWrite(0).commit({ index: i });
      ring.write(audio(i, 256), 0);
    }
    // 4 frames of 10,048 bytes (aligned) and 4 chunks of 2 KB: the arena is full.
    expect(ring.stats).toMatchObject({ depth: 8, bytesInUse: 4 * 10_048 + 4 * 2048 });
    expectError(() => ring.acquireWrite(0), 'ERR_TIMEOUT');
    const first = ring.acquireRead()!;
    first.release();
    // One frame's room back, at the arena's start, where the head has come round to.
    expect(ring.acquireWrite(0).data.byteLength).toBe(slotBytes);
    // Without spare bytes, the frames alone fill the ring: a chunk between them waits.
    const tight = FrameRing.create({ slots: 2, slotBytes });
    tight.acquireWrite(0).commit();
    tight.acquireWrite(0).commit();
    expectError(() => tight.write(audio(0, 1), 0), 'ERR_TIMEOUT');
  });

  test('spare bytes that would fit more pictures still hold `slots` of them: the count is the pictures in the ring', () => {
    // 2 slots of 1000 bytes and 10,000 spare: room for twelve pictures by bytes alone.
    const ring = FrameRing.create({ slots: 2, slotBytes: 1000, spareBytes: 10_000 });
    const packet = (n: number) => ({ kind: 'video-packet' as const, data: new Uint8Array(100).fill(n), pts: n, dts: n, duration: 1, timeBase: { num: 1, den: 25 }, time: n / 25, keyFrame: n === 0 });
    ring.acquireWrite(0).commit({ index: 0 });
    ring.write(audio(0, 64), 0);
    ring.acquireWrite(0).commit({ index: 1 });
    expect(ring.stats).toMatchObject({ depth: 3, pictures: 2 });
    // A third picture waits, by either way in (a frame's slot, a video packet); sound does not.
    expectError(() => ring.acquireWrite(0), 'ERR_TIMEOUT');
    expectError(() => ring.write(packet(2), 0), 'ERR_TIMEOUT');
    expectError(() => ring.acquireWrite(0, 5000), 'ERR_TIMEOUT');
    ring.write(audio(1, 64), 0);
    expect(ring.stats).toMatchObject({ depth: 4, pictures: 2 });
    // The first picture read and released: room for one more, and no more than one.
    ring.acquireRead()!.release();
    expect(ring.stats).toMatchObject({ depth: 3, pictures: 1 });
    ring.write(packet(2), 0);
    expect(ring.stats).toMatchObject({ depth: 4, pictures: 2 });
    expectError(() => ring.acquireWrite(0), 'ERR_TIMEOUT');
    ring.close();
    const kinds: string[] = [];
    for (let item = ring.acquireRead(0); item; item = ring.acquireRead(0)) {
      kinds.push(item.kind);
      item.release();
    }
    expect(kinds).toEqual(['audio', 'video', 'audio', 'video-packet']);
    expect(ring.stats).toMatchObject({ depth: 0, pictures: 0 });
  });

  test('items of random sizes wrap around the arena many times, never overlapping one still held', () => {
    const ring = FrameRing.create({ slots: 4, slotBytes: 5000, entries: 64 });
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const held: { n: number; bytes: Uint8Array }[] = [];
    let written = 0;
    let read = 0;
    const check = (item: { data: ArrayBufferView }, n: number) => {
      const bytes = new Uint8Array(item.data.buffer, item.data.byteOffset, item.data.byteLength);
      expect(bytes.every((b) => b === (n & 255)), `item ${n}`).toBe(true);
    };
    while (read < 3000) {
      // Write while there is room, with sizes from 0 to a whole slot.
      for (;;) {
        const size = Math.floor(random() * 5001);
        let slot;
        try {
          slot = ring.acquireWrite(0, size);
        } catch (error) {
          expect((error as StreamcoderError).code).toBe('ERR_TIMEOUT');
          break;
        }
        slot.data.fill(written & 255);
        slot.commit({ kind: 'video-packet', pts: written, dts: written, duration: 1, timeBase: { num: 1, den: 25 }, time: written / 25, keyFrame: false, byteLength: size });
        held.push({ n: written, bytes: slot.data });
        written++;
      }
      // Everything still queued is intact: nothing written over it.
      for (const h of held) expect(h.bytes.every((b) => b === (h.n & 255)), `held ${h.n}`).toBe(true);
      const reads = 1 + Math.floor(random() * held.length);
      for (let k = 0; k < reads; k++) {
        const item = ring.acquireRead()!;
        if (item.kind !== 'video-packet') throw new Error(item.kind);
        expect(item.pts).toBe(read);
        check(item, read);
        item.release();
        held.shift();
        read++;
      }
    }
    expect(ring.stats.bytesInUse).toBeGreaterThanOrEqual(0);
  });

  test('a cancelled slot publishes nothing and its room is free again', () => {
    const ring = FrameRing.create({ slots: 2, slotBytes: 1000 });
    const first = ring.acquireWrite(0);
    first.data.fill(9);
    first.cancel();
    expectError(() => first.commit(), 'ERR_INVALID_STATE');
    expectError(() => first.cancel(), 'ERR_INVALID_STATE');
    expect(ring.stats).toMatchObject({ depth: 0, written: 0, bytesInUse: 0 });
    // The whole arena is free: two frames fit.
    ring.acquireWrite(0).commit({ index: 2 });
    ring.acquireWrite(0).commit({ index: 3 });
    const read = ring.acquireRead()!;
    expect(read.kind === 'video' && read.index).toBe(2);
  });

  test('entries bound the items at once: tiny items fill them before the bytes', () => {
    const ring = FrameRing.create({ slots: 2, slotBytes: 1 << 20, entries: 5 });
    for (let i = 0; i < 5; i++) ring.write(packet(i, 10), 0);
    expectError(() => ring.write(packet(5, 10), 0), 'ERR_TIMEOUT');
    expect(ring.stats).toMatchObject({ entries: 5, depth: 5, bytesInUse: 5 * 64 });
  });

  test('bad items: larger than the ring, samples that do not fit, unknown kinds, bad time bases', () => {
    const ring = FrameRing.create({ slots: 2, slotBytes: 1000 });
    expectError(() => ring.acquireWrite(0, 3000), 'ERR_BUFFER_SIZE', /does not fit a ring of 2048 bytes/);
    expectError(() => ring.write(audio(0, 1000)), 'ERR_BUFFER_SIZE');
    const slot = ring.acquireWrite(0, 100);
    expectError(() => slot.commit({ kind: 'audio', sampleFormat: 'f32', sampleRate: 48000, channels: 2, samples: 13, pts: 0, time: 0 }), 'ERR_BUFFER_SIZE', /104 bytes, more than the 100 acquired/);
    expectError(() => slot.commit({ kind: 'audio', sampleFormat: 'u8' as 'f32', sampleRate: 48000, channels: 2, samples: 1, pts: 0, time: 0 }), 'ERR_INVALID_ARGUMENT');
    expectError(() => slot.commit({ kind: 'subtitle' as 'video' }), 'ERR_INVALID_ARGUMENT', /kind/);
    expectError(() => slot.commit({ ...packet(0, 1), timeBase: { num: 0, den: 1 }, byteLength: 1 }), 'ERR_INVALID_ARGUMENT', /timeBase/);
    expectError(() => ring.write({ kind: 'video' } as never), 'ERR_INVALID_ARGUMENT');
    // Nothing half-committed: the slot is still held and commits fine.
    slot.commit({ ...packet(0, 1), byteLength: 1 });
    expect(ring.acquireRead()!.kind).toBe('audio-packet');
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
    expectError(() => intruder.acquireRead(), 'ERR_BUSY', /Reader 0 .* another object/);
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
    // The arena (2 frames) and a fixed part: the header, the error area, 16 entries of meta.
    expect(ring.buffer.byteLength).toBeLessThan(2 * SLOT_BYTES + 8192);
  });

  test('an abort in the producer reaches the consumer as a typed error', async () => {
    const { report } = await handOff(10, 4, { abortWith: { code: 'ERR_INVALID_DATA', message: 'corrupt input at frame 10' } }, { delayEvery: 1, delayMs: 5 });
    expect(report.error).toEqual({ code: 'ERR_INVALID_DATA', message: 'corrupt input at frame 10' });
    expect(report.received).toBeLessThanOrEqual(10);
    expect(report.problems).toEqual([]);
  });

  test('an abort by the consumer wakes a producer blocked on a full ring', async () => {
    const ring = FrameRing.create({ slots: 2, slotBytes: SLOT_BYTES });
    const p = runWorker<{ error?: { code: string; message: string } }>(PRODUCER, { ring: distModule('ring/index'), buffer: ring.buffer, frames: 1000 });
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

  test('items of random sizes (audio and packets between frames) cross threads intact, in order, wrapping the arena', async () => {
    const MIXED = `
      const { FrameRing } = require(workerData.ring);
      const ring = FrameRing.attach(workerData.buffer);
      let seed = 99;
      const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      for (let i = 0; i < workerData.items; i++) {
        const size = i % 5 === 0 ? ${SLOT_BYTES} : Math.floor(random() * 3000);
        if (i % 5 === 0) {
          const slot = ring.acquireWrite(20000);
          slot.data.fill(i & 255);
          slot.commit({ index: i, width: 64, height: 64, pixelFormat: 'rgb24' });
        } else if (i % 2 === 0) {
          const samples = Math.floor(size / 8);
          ring.write({ kind: 'audio', data: new Float32Array(samples * 2).fill(i), sampleFormat: 'f32', sampleRate: 48000, channels: 2, samples, pts: i, time: i }, 20000);
        } else {
          ring.write({ kind: 'video-packet', data: new Uint8Array(size).fill(i & 255), pts: i, dts: i, duration: 1, timeBase: { num: 1, den: 25 }, time: i, keyFrame: false }, 20000);
        }
      }
      ring.close();
      parentPort.postMessage({ sent: workerData.items });`;
    const ring = FrameRing.create({ slots: 3, slotBytes: SLOT_BYTES, spareBytes: 4000 });
    const p = runWorker(MIXED, { ring: distModule('ring/index'), buffer: ring.buffer, items: 3000 });
    let n = 0;
    const problems: string[] = [];
    for (let item = await ring.readAsync(20000); item; item = await ring.readAsync(20000)) {
      const ok = item.kind === 'video' ? item.index === n && item.data.every((b) => b === (n & 255))
        : item.kind === 'audio' ? item.pts === n && item.data.every((v) => v === n)
        : item.kind === 'video-packet' && item.pts === n && item.data.every((b) => b === (n & 255));
      if (!ok && problems.length < 5) problems.push(`${n}: ${item.kind}`);
      item.release();
      n++;
    }
    expect(problems).toEqual([]);
    expect(n).toBe(3000);
    expect(await p.result).toEqual({ sent: 3000 });
  });

  test('the main thread consumes with readAsync while a worker produces', async () => {
    const ring = FrameRing.create({ slots: 3, slotBytes: SLOT_BYTES });
    const p = runWorker(PRODUCER, { ring: distModule('ring/index'), buffer: ring.buffer, frames: 200 });
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
