// The per-item fast paths (issue 22): a Decoder's async reads take sound and packets in batches
// read ahead on the pool, and an Encoder's encode() queues items that one pool task writes in
// order. What they must keep: every item exactly once and in order whatever the mix of calls,
// errors at the next call or at close, copies of what the caller may reuse, and bounded memory.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Decoder, Encoder, StreamcoderError, type DecoderOptions, type MediaItem, type Packet } from '../lib';
import { fixture, tempDir } from './helpers/fixtures';
import { probePackets } from './helpers/media';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const av = fixture('av.mp4'); // 2 s: 50 pictures, 94 AAC frames

/** What identifies an item: its kind, place and bytes. */
function signature(item: MediaItem): string {
  const kind = 'kind' in item && item.kind ? item.kind : 'video';
  const pts = 'pts' in item ? item.pts : null;
  const digest = crypto.createHash('sha1').update(item.data).digest('hex').slice(0, 12);
  return `${kind} ${item.time} ${pts} ${item.data.length} ${digest}`;
}

function syncItems(options: DecoderOptions): string[] {
  using dec = Decoder.openSync(av, options);
  const items: string[] = [];
  for (let item = dec.extractItem(); item; item = dec.extractItem()) items.push(signature(item));
  return items;
}

const MODES: [string, DecoderOptions][] = [
  ['packets (video and audio copied)', { video: 'copy', audio: 'copy' }],
  ['pictures and decoded sound', { audio: true }],
  ['pictures and copied sound', { audio: 'copy' }],
];

describe('a Decoder read ahead', () => {
  test.each(MODES)('%s: for await gives the very items of a sync loop, in order', async (_, options) => {
    const expected = syncItems(options);
    expect(expected.length).toBeGreaterThan(140);
    await using dec = await Decoder.open(av, options);
    const got: string[] = [];
    for await (const item of dec) got.push(signature(item));
    expect(got).toEqual(expected);
  });

  test.each(MODES)('%s: a break, then any read, goes on with the next item: nothing read ahead is lost', async (_, options) => {
    const expected = syncItems(options);
    for (const stopAfter of [1, 3, 17, 64, 65, 100]) {
      await using dec = await Decoder.open(av, options);
      const got: string[] = [];
      for await (const item of dec) {
        got.push(signature(item));
        if (got.length === stopAfter) break;
      }
      // Alternately the sync and the async forms, the Into form with a buffer for pictures.
      const target = new Uint8Array(Math.max(1, dec.frameBytes));
      for (let i = 0; ; i++) {
        let item: MediaItem | null;
        if (i % 3 === 0) item = dec.extractItem();
        else if (i % 3 === 1) item = await dec.readItem();
        else {
          const info = dec.extractItemInto(target);
          item = info && (info.kind === 'video' ? { ...info, data: target.slice(0, dec.frameBytes) } as MediaItem : info as MediaItem);
        }
        if (!item) break;
        got.push(signature(item));
      }
      expect(got, `a break after ${stopAfter}`).toEqual(expected);
    }
  });

  test('the frame methods after items read ahead: the pictures go on in order, the sound passed over is counted as skipped', async () => {
    await using dec = await Decoder.open(av, { audio: true });
    const seen: number[] = [];
    let audio = 0;
    for (let i = 0; i < 5; i++) {
      const item = (await dec.readItem())!;
      if (item.kind === 'audio') audio++;
      else seen.push((item as { index: number }).index);
    }
    let i = 0;
    for (let frame = await dec.read(); frame; frame = i++ % 2 ? await dec.read() : dec.extractFrame()) seen.push(frame.index);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // 94 chunks in all: those read as items, and the rest passed over (read ahead or not).
    expect(audio + dec.audioSkipped).toBeGreaterThanOrEqual(90);
  });

  test('seek drops what was read ahead: the items after it are those of a sync decoder that seeks the same way', async () => {
    for (const [options, at] of [[{ video: 'copy', audio: 'copy' }, 0], [{ audio: true }, 0.5], [{ audio: 'copy' }, 1.2]] as const) {
      using sync = Decoder.openSync(av, options);
      sync.extractItem();
      sync.seek(at);
      // Decoded sound after a seek is not bit-exact against another decoder that read a
      // different amount before its seek (sync reads alone do it too): FFmpeg's AAC decoder
      // after a flush differs by up to 1e-5 (-100 dB) with what it decoded before. So its
      // chunks are compared by place and length.
      const place = (item: MediaItem) => (item.kind === 'audio' ? signature(item).split(' ').slice(0, 4).join(' ') : signature(item));
      const expected: string[] = [];
      for (let item = sync.extractItem(); item; item = sync.extractItem()) expected.push(place(item));
      await using dec = await Decoder.open(av, options);
      await dec.readItem();
      dec.seek(at);
      const got: string[] = [];
      for await (const item of dec) got.push(place(item));
      expect(got, `seek to ${at}`).toEqual(expected);
      expect(got.length).toBeGreaterThan(30);
    }
  });

  test('an overlapping read is ERR_BUSY while a batch is read; a close in between frees what was read ahead', async () => {
    const dec = await Decoder.open(av, { video: 'copy', audio: 'copy' });
    const first = dec.readItem();
    await expect(dec.read()).rejects.toMatchObject({ code: 'ERR_BUSY' });
    expect(await first).not.toBeNull();
    dec.close();
    await expect(dec.readItem()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    expect(() => dec.extractItem()).toThrow(StreamcoderError);
  });
});

describe('an Encoder queue', () => {
  /** ffprobe's packets of `file` as comparable lines. */
  function packetsOf(file: string): string[] {
    return (['video', 'audio'] as const).flatMap((type) => probePackets(file, type).map((p) => `${p.kind} ${p.pts} ${p.dts} ${p.keyFrame} ${crypto.createHash('sha1').update(p.data).digest('hex')}`));
  }

  test('stream copy with for await and await encode writes the very packets of the sync loop', async () => {
    const syncOut = path.join(dir, 'sync.flv');
    {
      using dec = Decoder.openSync(av, { video: 'copy', audio: 'copy' });
      const enc = Encoder.openSync(syncOut, { from: dec.info, video: 'copy', audio: 'copy' });
      for (let item = dec.extractItem(); item; item = dec.extractItem()) enc.encodeFrame(item);
      enc.closeSync();
    }
    const queuedOut = path.join(dir, 'queued.flv');
    await using dec = await Decoder.open(av, { video: 'copy', audio: 'copy' });
    const enc = await Encoder.open(queuedOut, { from: dec.info, video: 'copy', audio: 'copy' });
    for await (const item of dec) await enc.encode(item);
    await enc.close();
    const expected = packetsOf(syncOut);
    expect(expected.length).toBeGreaterThan(140);
    expect(packetsOf(queuedOut)).toEqual(expected);
    expect(enc.stats.packets + enc.stats.audioPackets).toBe(expected.length);
  });

  test('each item is copied when queued: its buffer may be overwritten at once', async () => {
    await using dec = await Decoder.open(av, { video: 'copy', audio: 'copy' });
    const out = path.join(dir, 'reused.mkv');
    const enc = await Encoder.open(out, { from: dec.info, video: 'copy', audio: 'copy' });
    const reference = path.join(dir, 'reference.mkv');
    const ref = await Encoder.open(reference, { from: dec.info, video: 'copy', audio: 'copy' });
    for await (const item of dec) {
      await ref.encode({ ...item, data: item.data.slice() } as Packet);
      const pending = enc.encode(item);
      item.data.fill(0xee); // the caller reuses its memory before the item is written
      await pending;
    }
    await Promise.all([enc.close(), ref.close()]);
    expect(packetsOf(out)).toEqual(packetsOf(reference));
  });

  test('pictures: encode, the sync method between, close: every picture, in order, exact (FFV1)', async () => {
    await using dec = await Decoder.open(av, { pixelFormat: 'yuv420p' });
    const out = path.join(dir, 'pictures.mkv');
    const enc = await Encoder.open(out, { from: dec.info, codec: 'ffv1', pixelFormat: 'yuv420p' });
    let n = 0;
    for await (const frame of dec) {
      if (n++ % 10 === 9) enc.encodeFrame(frame); // waits for what is queued, then writes
      else await enc.encode(frame);
    }
    await enc.close();
    expect(enc.stats.frames).toBe(50);
    using decoded = Decoder.openSync(out, { pixelFormat: 'yuv420p' });
    using source = Decoder.openSync(av, { pixelFormat: 'yuv420p' });
    for (let i = 0; i < 50; i++) expect(Buffer.compare(decoded.extractFrame()!.data, source.extractFrame()!.data), `picture ${i}`).toBe(0);
    expect(decoded.extractFrame()).toBeNull();
  });

  /** Every item of `av.mp4`, copied. */
  function packets(): Packet[] {
    using dec = Decoder.openSync(av, { video: 'copy', audio: 'copy' });
    const items: Packet[] = [];
    for (let item = dec.extractItem(); item; item = dec.extractItem()) items.push(item as Packet);
    return items;
  }

  async function copyEncoder(file: string): Promise<Encoder> {
    using dec = Decoder.openSync(av, { video: 'copy', audio: 'copy' });
    return Encoder.open(path.join(dir, file), { from: dec.info, video: 'copy', audio: 'copy' });
  }

  test('a full queue: encode waits for room, the calls meanwhile are ERR_BUSY, and every accepted item is written', async () => {
    // 720p pictures (1.3 MiB each) into FFV1: the queue's 32 MiB fill after about 24, long
    // before the pool has encoded a few of them.
    const width = 1280, height = 720;
    const enc = await Encoder.open(path.join(dir, 'full.mkv'), { width, height, frameRate: 25, pixelFormat: 'yuv420p', codec: 'ffv1' });
    const picture = new Uint8Array((width * height * 3) / 2).fill(128);
    const calls = Array.from({ length: 40 }, () => enc.encode(picture));
    const outcomes = await Promise.allSettled(calls);
    const accepted = outcomes.filter((o) => o.status === 'fulfilled').length;
    const busy = outcomes.filter((o) => o.status === 'rejected' && (o.reason as StreamcoderError).code === 'ERR_BUSY').length;
    expect(accepted + busy).toBe(40);
    expect(busy).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThanOrEqual(24);
    // Once it has room, encode goes on.
    await enc.encode(picture);
    await enc.close();
    expect(enc.stats.frames).toBe(accepted + 1);
  });

  test('an item refused in its turn: the others are written, and the refusal is thrown by the next call of any kind', async () => {
    const items = packets().filter((item) => item.kind === 'video-packet');
    for (const next of ['encodeFrame', 'close'] as const) {
      const enc = await copyEncoder(`refused-${next}.mkv`);
      for (const item of items.slice(0, 10)) await enc.encode(item);
      await enc.encode({ ...items[10], dts: 0, pts: 0, time: 0 }); // time going back: refused
      // The sync call goes after the queue, and throws its refusal (its own item not written).
      const surfaced = next === 'encodeFrame'
        ? (() => { try { enc.encodeFrame(items[12]); } catch (error) { return error; } })()
        : await enc.close().then(() => undefined, (error) => error);
      expect(surfaced, next).toBeInstanceOf(StreamcoderError);
      expect((surfaced as StreamcoderError).code).toBe('ERR_INVALID_ARGUMENT');
      expect((surfaced as Error).message).toMatch(/timestamps must increase/);
      if (next === 'encodeFrame') {
        for (const item of items.slice(11)) await enc.encode(item);
        await enc.close();
        expect(enc.stats.packets).toBe(items.length - 1);
      } else {
        expect(enc.closed).toBe(true);
        expect(enc.stats.packets).toBe(10);
      }
    }
  });

  test('an item refused in its turn, then only encode: a later encode rejects with it', async () => {
    const items = packets().filter((item) => item.kind === 'video-packet');
    const enc = await copyEncoder('refused-encode.mkv');
    for (const item of items.slice(0, 10)) await enc.encode(item);
    await enc.encode({ ...items[10], dts: 0, pts: 0, time: 0 });
    let surfaced: unknown;
    for (const item of items.slice(11)) {
      try {
        await enc.encode(item);
      } catch (error) {
        surfaced = error;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 5)); // the pool gets its turn
    }
    expect(surfaced).toBeInstanceOf(StreamcoderError);
    await enc.close().catch(() => {});
    expect(enc.closed).toBe(true);
  });
});
