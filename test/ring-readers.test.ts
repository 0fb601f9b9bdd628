// FrameRing with several readers: every reader gets every item in order; an item's room is reused
// only once every active reader has moved past it; a 'drop' reader that alone lags is moved past
// items (counted) instead of holding the others back; a reader that detaches holds nothing back.
import { describe, expect, test } from 'vitest';
import { FrameRing } from '../lib';
import { distModule, runWorker } from './helpers/workers';
import { expectError } from './helpers/errors';


const SLOT_BYTES = 4096;

function put(ring: FrameRing, i: number, timeoutMs = 0): void {
  const slot = ring.acquireWrite(timeoutMs);
  slot.data.fill(i & 255);
  new DataView(slot.data.buffer, slot.data.byteOffset).setUint32(0, i);
  slot.commit({ index: i, pts: i, byteLength: SLOT_BYTES });
}

describe('FrameRing with several readers, in one thread', () => {
  test('each reader gets every item in order; the room is reused only once all have released it', () => {
    const ring = FrameRing.create({ slots: 3, slotBytes: SLOT_BYTES, readers: 3 });
    const readers = [ring, FrameRing.attach(ring.buffer, { reader: 1 }), FrameRing.attach(ring.buffer, { reader: 2 })];
    for (let i = 0; i < 3; i++) put(ring, i);
    expectError(() => put(ring, 3), 'ERR_TIMEOUT');
    // Readers 0 and 1 read everything: still no room, reader 2 has not moved.
    for (const reader of readers.slice(0, 2)) {
      for (let i = 0; i < 3; i++) {
        const item = reader.acquireRead(0)!;
        expect(item.index).toBe(i);
        item.release();
      }
    }
    expectError(() => put(ring, 3), 'ERR_TIMEOUT');
    expect(ring.stats.readers.map((r) => r.pending)).toEqual([0, 0, 3]);
    // Reader 2 holds item 0 in place: its room is still not free.
    const held = readers[2].acquireRead(0)!;
    expect([held.index, new DataView(held.data.buffer, held.data.byteOffset).getUint32(0)]).toEqual([0, 0]);
    expectError(() => put(ring, 3), 'ERR_TIMEOUT');
    held.release();
    put(ring, 3);
    expect(ring.stats.depth).toBe(3);
    for (let i = 1; i < 4; i++) {
      const item = readers[2].acquireRead(0)!;
      expect(item.index).toBe(i);
      item.release();
    }
    ring.close();
    for (const reader of readers) {
      if (reader !== readers[2]) {
        const item = reader.acquireRead(0)!;
        expect(item.index).toBe(3);
        item.release();
      }
      expect(reader.acquireRead(0)).toBeNull();
    }
    expect(ring.stats).toMatchObject({ depth: 0, bytesInUse: 0, written: 4, read: 4 });
  });

  test('a reader that detaches holds nothing back, and what only it held is freed at once', () => {
    const ring = FrameRing.create({ slots: 2, slotBytes: SLOT_BYTES, readers: 2 });
    const other = FrameRing.attach(ring.buffer, { reader: 1 });
    put(ring, 0);
    put(ring, 1);
    for (let i = 0; i < 2; i++) ring.acquireRead(0)!.release();
    other.acquireRead(0); // holds item 0
    expectError(() => put(ring, 2), 'ERR_TIMEOUT');
    other.detach();
    expect(ring.stats.readers[1].state).toBe('detached');
    for (let i = 2; i < 10; i++) {
      put(ring, i);
      expect(ring.acquireRead(0)!.index).toBe(i);
      ring.release();
    }
    expectError(() => other.acquireRead(0), 'ERR_CLOSED', /detached/);
    other.detach(); // idempotent
  });

  test('a detached reader rejoins at the oldest item still held: it reads on in order, and what it missed counts as dropped', () => {
    const ring = FrameRing.create({ slots: 3, slotBytes: SLOT_BYTES, readers: 2 });
    const first = FrameRing.attach(ring.buffer, { reader: 1 });
    let next = 0;
    const step = (reader: FrameRing | null) => {
      put(ring, next);
      const item = ring.acquireRead(0)!;
      expect(item.index).toBe(next);
      item.release();
      if (reader) {
        const got = reader.acquireRead(0)!;
        expect(got.index).toBe(next);
        got.release();
      }
      next++;
    };
    step(first);
    put(ring, next++); // unread by reader 1 when it leaves
    ring.acquireRead(0)!.release();
    first.detach();
    expect(ring.stats.readers[1]).toMatchObject({ state: 'detached', dropped: 0 });
    // Away for long enough that the entries wrap several times.
    for (let i = 0; i < 100; i++) step(null);
    // A new object (a new thread) takes its place.
    const again = FrameRing.attach(ring.buffer, { reader: 1 });
    again.rejoin();
    expect(ring.stats.readers[1]).toMatchObject({ state: 'active', pending: 0, dropped: 101 });
    for (let i = 0; i < 20; i++) step(again);
    expect(ring.stats.readers[1].dropped).toBe(101);
    // Holding items back again: the ring fills behind it.
    for (let i = 0; i < 3; i++) put(ring, next + i);
    for (let i = 0; i < 3; i++) ring.acquireRead(0)!.release();
    expectError(() => put(ring, next + 3), 'ERR_TIMEOUT');
    expect(again.acquireRead(0)!.index).toBe(next);
    again.rejoin(); // an active reader: nothing changes
    expect(ring.stats.readers[1]).toMatchObject({ state: 'active', pending: 3 });
  });

  test('a rejoining reader of compressed video resumes at a keyframe, the packets before it counted', () => {
    const ring = FrameRing.create({ slots: 8, slotBytes: SLOT_BYTES, readers: 2 });
    const other = FrameRing.attach(ring.buffer, { reader: 1 });
    const packet = (i: number) => {
      const slot = ring.acquireWrite(0);
      slot.data[0] = i;
      slot.commit({ kind: 'video-packet', pts: i, dts: i, duration: 1, timeBase: { num: 1, den: 25 }, time: i / 25, keyFrame: i % 5 === 0, byteLength: 16 });
      ring.acquireRead(0)!.release();
    };
    other.detach();
    for (let i = 1; i <= 7; i++) packet(i);
    other.rejoin();
    for (let i = 8; i <= 12; i++) packet(i);
    // 1..7 missed, then 8 and 9 skipped up to the keyframe 10.
    const item = other.acquireRead(0)!;
    expect([item.kind, item.pts, item.keyFrame]).toEqual(['video-packet', 10, true]);
    item.release();
    expect(ring.stats.readers[1].dropped).toBe(9);
  });

  test('a reader that rejoins while the ring still holds where it left off resumes there, nothing dropped', () => {
    const ring = FrameRing.create({ slots: 4, slotBytes: SLOT_BYTES, readers: 2 });
    const other = FrameRing.attach(ring.buffer, { reader: 1 });
    for (let i = 0; i < 3; i++) put(ring, i);
    const first = other.acquireRead(0)!;
    expect(first.index).toBe(0);
    first.release();
    other.detach();
    // Reader 0 has read nothing: items 0..2 are all still held.
    const back = FrameRing.attach(ring.buffer, { reader: 1 });
    back.rejoin();
    expect(ring.stats.readers[1]).toMatchObject({ state: 'active', pending: 2, dropped: 0 });
    const next = back.acquireRead(0)!;
    expect(next.index).toBe(1);
    // One object per reader still holds.
    expectError(() => FrameRing.attach(ring.buffer, { reader: 1 }).acquireRead(0), 'ERR_BUSY');
    next.release();
  });

  test("'drop': a reader that alone holds the others back is moved past the oldest items, counted; one behind with the others is waited for", () => {
    const ring = FrameRing.create({ slots: 4, slotBytes: SLOT_BYTES, readers: 2 });
    const slow = FrameRing.attach(ring.buffer, { reader: 1, onSlow: 'drop' });
    expect(ring.stats.readers.map((r) => r.onSlow)).toEqual(['wait', 'drop']);
    // Both behind (nobody has read): the producer is simply faster, and waits.
    for (let i = 0; i < 4; i++) put(ring, i);
    expectError(() => put(ring, 4), 'ERR_TIMEOUT');
    expect(ring.stats.readers[1].dropped).toBe(0);
    // Reader 0 keeps up (it reads all there is); reader 1 does not read: it is moved past the
    // oldest items one by one, as the producer needs room.
    for (let i = 0; i < 4; i++) ring.acquireRead(0)!.release();
    // The first drop comes once reader 1 has held reader 0 back for 100 ms; later ones at once.
    const started = performance.now();
    for (let i = 4; i < 20; i++) {
      put(ring, i, 1000);
      const item = ring.acquireRead(0)!;
      expect(item.index).toBe(i);
      item.release();
    }
    const dropped = ring.stats.readers[1].dropped;
    expect(dropped).toBeGreaterThan(0);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(900);
    // What reader 1 still gets starts just after the items dropped for it, in order.
    let expected = dropped;
    for (let item = slow.acquireRead(0); item && item.index !== undefined; ) {
      expect(item.index).toBe(expected++);
      item.release();
      if (ring.stats.readers[1].pending === 0) break;
      item = slow.acquireRead(0);
    }
    expect(expected).toBe(20);
    expect(ring.stats.readers[1]).toMatchObject({ dropped, droppedItems: dropped, state: 'active' });
    expect(ring.stats.readers[0].dropped).toBe(0);
  });

  test("'drop' never moves a reader past the item it holds", () => {
    const ring = FrameRing.create({ slots: 2, slotBytes: SLOT_BYTES, readers: 2 });
    const slow = FrameRing.attach(ring.buffer, { reader: 1, onSlow: 'drop' });
    put(ring, 0);
    put(ring, 1);
    const held = slow.acquireRead(0)!;
    for (let i = 0; i < 2; i++) ring.acquireRead(0)!.release();
    expectError(() => put(ring, 2), 'ERR_TIMEOUT');
    expect(new DataView(held.data.buffer, held.data.byteOffset).getUint32(0)).toBe(0);
    held.release();
    put(ring, 2); // item 1 dropped for reader 1 or read later: either way the room came from item 0
    expect(ring.stats.readers[1].dropped + ring.stats.readers[1].pending).toBe(2);
  });

  test("'drop' of compressed pictures skips on to the next keyframe, so a decoder never sees a broken reference", () => {
    const ring = FrameRing.create({ slots: 4, slotBytes: 64, readers: 2 });
    const slow = FrameRing.attach(ring.buffer, { reader: 1, onSlow: 'drop' });
    const packet = (i: number) => ({ kind: 'video-packet' as const, data: new Uint8Array([i]), pts: i, dts: i, duration: 1, timeBase: { num: 1, den: 25 }, time: i / 25, keyFrame: i % 5 === 0 });
    for (let i = 0; i < 4; i++) ring.write(packet(i), 0);
    for (let i = 0; i < 4; i++) ring.acquireRead(0)!.release();
    for (let i = 4; i < 12; i++) {
      ring.write(packet(i), 1000);
      ring.acquireRead(0)!.release();
    }
    const got: number[] = [];
    for (let item = slow.acquireRead(0); item; item = ring.stats.readers[1].pending > 0 ? slow.acquireRead(0) : null) {
      got.push(item.data[0]);
      item.release();
    }
    expect(got.length).toBeGreaterThan(0);
    expect(got[0] % 5).toBe(0); // it resumed at a keyframe
    expect(got).toEqual(Array.from({ length: got.length }, (_, k) => got[0] + k));
    expect(ring.stats.readers[1].dropped + got.length).toBe(12);
  });

  test('bad input: reader counts and indexes out of range, unknown policies and options, two objects on one reader', () => {
    for (const readers of [0, 17, 1.5, '2']) {
      expectError(() => FrameRing.create({ slots: 2, slotBytes: 4, readers: readers as number }), 'ERR_INVALID_ARGUMENT', /readers/);
    }
    const ring = FrameRing.create({ slots: 2, slotBytes: SLOT_BYTES, readers: 2 });
    expectError(() => FrameRing.attach(ring.buffer, { reader: 2 }), 'ERR_INVALID_ARGUMENT', /reader/);
    expectError(() => FrameRing.attach(ring.buffer, { reader: -1 }), 'ERR_INVALID_ARGUMENT', /reader/);
    expectError(() => FrameRing.attach(ring.buffer, { reader: 1, onSlow: 'skip' as 'drop' }), 'ERR_INVALID_ARGUMENT', /onSlow/);
    expectError(() => FrameRing.attach(ring.buffer, { readers: 1 } as object), 'ERR_INVALID_ARGUMENT', /readers/);
    const a = FrameRing.attach(ring.buffer, { reader: 1 });
    const b = FrameRing.attach(ring.buffer, { reader: 1 });
    put(ring, 0);
    a.acquireRead(0)!.release();
    expectError(() => b.acquireRead(0), 'ERR_BUSY', /Reader 1/);
  });
});

// A reader thread: checks every item it gets (index in order after its drops, bytes intact), and
// sleeps `delayMs` after each to play a slow output.
const READER = `
const { FrameRing } = require(workerData.ring);
const ring = FrameRing.attach(workerData.buffer, { reader: workerData.reader, onSlow: workerData.onSlow });
const pause = (ms) => ms > 0 && Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const indexes = [];
const problems = [];
const started = performance.now();
for (let f = ring.acquireRead(20000); f; f = ring.acquireRead(20000)) {
  const view = new DataView(f.data.buffer, f.data.byteOffset, f.data.byteLength);
  if (view.getUint32(0) !== f.index || f.data[f.data.byteLength - 1] !== (f.index & 255)) problems.push(f.index);
  if (indexes.length > 0 && f.index <= indexes[indexes.length - 1]) problems.push('order ' + f.index);
  indexes.push(f.index);
  f.release();
  pause(workerData.delayMs);
  if (indexes.length === workerData.pauseAt) pause(workerData.pauseMs);
  if (workerData.detachAfter && indexes.length === workerData.detachAfter) { ring.detach(); break; }
}
parentPort.postMessage({ received: indexes.length, last: indexes[indexes.length - 1], problems, seconds: (performance.now() - started) / 1000 });
`;

const PRODUCER = `
const { FrameRing } = require(workerData.ring);
const ring = FrameRing.attach(workerData.buffer);
const started = performance.now();
for (let i = 0; i < workerData.frames; i++) {
  const slot = ring.acquireWrite(20000);
  slot.data.fill(i & 255);
  new DataView(slot.data.buffer, slot.data.byteOffset).setUint32(0, i);
  slot.commit({ index: i, byteLength: slot.data.byteLength });
  if (workerData.periodMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.periodMs);
}
ring.close();
parentPort.postMessage({ seconds: (performance.now() - started) / 1000 });
`;

interface ReaderReport { received: number; last: number; problems: unknown[]; seconds: number }

async function fanOut(frames: number, readers: { delayMs?: number; onSlow?: 'wait' | 'drop'; detachAfter?: number; pauseAt?: number; pauseMs?: number }[], periodMs = 0) {
  const ring = FrameRing.create({ slots: 8, slotBytes: SLOT_BYTES, readers: readers.length });
  const runs = readers.map((r, reader) => runWorker<ReaderReport>(READER, { ring: distModule('ring/index'), buffer: ring.buffer, reader, delayMs: r.delayMs ?? 0, onSlow: r.onSlow ?? 'wait', detachAfter: r.detachAfter ?? 0, pauseAt: r.pauseAt ?? -1, pauseMs: r.pauseMs ?? 0 }));
  // The policies are in place before the first item: the producer starts once every reader attached.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const producer = runWorker<{ seconds: number }>(PRODUCER, { ring: distModule('ring/index'), buffer: ring.buffer, frames, periodMs });
  const reports = await Promise.all(runs.map((r) => r.result));
  const { seconds } = await producer.result;
  return { ring, reports, seconds };
}

describe('FrameRing with several reader threads', () => {
  test('three readers on three threads each get all 3000 frames, intact and in order, from 8 slots', async () => {
    const { ring, reports } = await fanOut(3000, [{}, {}, {}]);
    for (const report of reports) expect(report).toMatchObject({ received: 3000, last: 2999, problems: [] });
    expect(ring.stats.maxDepth).toBeLessThanOrEqual(8);
    expect(ring.stats.readers.map((r) => r.dropped)).toEqual([0, 0, 0]);
  });

  test("a slow 'drop' reader loses frames (each counted) while the other two get every one at the producer's pace", async () => {
    // 300 frames every 2 ms (0.6 s); the slow reader takes 15 ms a frame, 4.5 s for all of them.
    const { ring, reports, seconds } = await fanOut(300, [{}, {}, { delayMs: 15, onSlow: 'drop' }], 2);
    expect(reports[0]).toMatchObject({ received: 300, problems: [] });
    expect(reports[1]).toMatchObject({ received: 300, problems: [] });
    expect(reports[2].problems).toEqual([]);
    const dropped = ring.stats.readers[2].dropped;
    expect(dropped).toBeGreaterThan(100);
    expect(reports[2].received + dropped).toBe(300);
    expect(seconds).toBeLessThan(3); // not held to the slow reader's 4.5 s
  });

  test("a 'drop' reader late for a moment (30 ms, past the ring's 16 ms of slack) loses nothing: it catches up", async () => {
    // 30 ms against the 100 ms grace: room for a busy machine's scheduling delays.
    const { ring, reports } = await fanOut(300, [{}, {}, { onSlow: 'drop', pauseAt: 100, pauseMs: 30 }], 2);
    for (const report of reports) expect(report).toMatchObject({ received: 300, problems: [] });
    expect(ring.stats.readers[2].dropped).toBe(0);
  });

  test("a slow 'wait' reader gets every frame, and holds the producer to its pace", async () => {
    const { ring, reports, seconds } = await fanOut(100, [{}, { delayMs: 10 }]);
    for (const report of reports) expect(report).toMatchObject({ received: 100, problems: [] });
    expect(ring.stats.readers[1].dropped).toBe(0);
    expect(seconds).toBeGreaterThan(0.8);
  });

  test('a reader that detaches mid-stream leaves the others to finish', async () => {
    const { reports } = await fanOut(1000, [{}, { detachAfter: 100, delayMs: 1 }, {}]);
    expect(reports[0]).toMatchObject({ received: 1000, problems: [] });
    expect(reports[1]).toMatchObject({ received: 100, last: 99 });
    expect(reports[2]).toMatchObject({ received: 1000, problems: [] });
  });
});
