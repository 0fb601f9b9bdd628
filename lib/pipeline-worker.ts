// The two threads of `pipeline()`: one decodes into the ring, the other pushes from it. This file
// is the worker entry point (dist/pipeline-worker.js); it does nothing when imported elsewhere.
//
// Messages to the parent: { type: 'ready', buffer, info, contents } (decode side, once the ring
// exists; `contents` says what it carries: decoded or copied sound, pictures or video packets),
// { type: 'decoded', frames, dropped } (decode side, twice a second: pictures delivered, corrupt
// packets skipped), { type: 'stats', frames, server, streamSeconds } (push side, twice a second:
// pictures served), { type: 'done', ... }
// (finished normally), { type: 'stopped', ... } (the other side or the caller ended the ring; the
// push side closes its output first and reports as 'done' does), { type: 'error', error } (this
// side failed: it has already aborted the ring with the same error, so the other side stops too).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Decoder, type DecoderOptions } from './decoder';
import { StreamcoderError } from './errors';
import { FrameRing, type RingItem } from './ring';
import type { WriterInput } from './frame-writer';
import { Server } from './server';
import { containerTakes, type AudioOptions, type WriterOptions } from './writer-options';
import type { AudioFrame, Packet, StreamInfo } from './types';


/**
 * What becomes of the input's sound: `auto` copies it where the output's container takes its
 * codec and encodes it otherwise; `copy` must copy; `encode` decodes and encodes; `none` drops it.
 */
export type AudioMode = 'auto' | 'copy' | 'encode' | 'none';

export interface DecodeWorkerData {
  streamcoderPipeline: 'decode';
  input: string;
  decoder: DecoderOptions;
  slots: number;
  loop: boolean;
  maxFrames: number;
  audio: AudioMode;
  video: 'encode' | 'copy';
  /** The output and its forced format: whether its container takes the sound's codec. */
  output: string;
  format: string;
}

export interface PushWorkerData {
  streamcoderPipeline: 'push';
  output: string;
  server: WriterOptions;
  /** How the sound is encoded when it is not copied. */
  audio: AudioOptions;
  video: 'encode' | 'copy';
  realtime: boolean;
  loop: boolean;
  /** The input is a network stream (a relay). */
  liveInput: boolean;
}

/** What the decoding side delivers into the ring, which the pushing side opens its Server for. */
export interface RingContents {
  audio: 'copy' | 'decoded' | 'none';
  video: 'frames' | 'packets';
}

export interface SerializedError {
  code: string;
  message: string;
  averror?: number;
  stack?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = typeof (error as { code?: unknown }).code === 'string' ? (error as unknown as { code: string }).code : 'ERR_INTERNAL';
    const averror = (error as { averror?: unknown }).averror;
    return { code, message: error.message, averror: typeof averror === 'number' ? averror : undefined, stack: error.stack };
  }
  return { code: 'ERR_INTERNAL', message: String(error) };
}

/** How often the push side reports the server's counters (bit rate, late frames) for progress. */
const STATS_INTERVAL_MS = 500;

function post(message: object): void {
  parentPort!.postMessage(message);
}

/** Bytes a ring slot gets for one compressed video packet (stream copy): a large keyframe fits. */
const PACKET_SLOT_BYTES = 4 << 20;

/**
 * Opens the input with the sound handled as `data.audio` asks. `auto` opens it for copying first
 * (the codec is known only then) and opens it again for decoding when the output cannot hold it.
 */
function openInput(data: DecodeWorkerData): { decoder: Decoder<never>; contents: RingContents } {
  const base: DecoderOptions = { ...data.decoder, ...(data.video === 'copy' ? { video: 'copy' as const } : {}) };
  const video = data.video === 'copy' ? 'packets' : 'frames';
  if (data.audio === 'none') return { decoder: Decoder.openSync(data.input, base) as Decoder<never>, contents: { audio: 'none', video } };
  const decoded = (): { decoder: Decoder<never>; contents: RingContents } => {
    const decoder = Decoder.openSync(data.input, { ...base, audio: { sampleFormat: 'f32' } }) as Decoder<never>;
    return { decoder, contents: { audio: decoder.info.audio ? 'decoded' : 'none', video } };
  };
  if (data.audio === 'encode') return decoded();
  const decoder = Decoder.openSync(data.input, { ...base, audio: 'copy' }) as Decoder<never>;
  const sound = decoder.info.audio;
  if (sound === null) return { decoder, contents: { audio: 'none', video } };
  if (containerTakes(data.output, data.format, sound.parameters.codec)) return { decoder, contents: { audio: 'copy', video } };
  decoder.close();
  if (data.audio === 'copy') {
    throw new StreamcoderError(
      `Cannot copy the input's ${sound.parameters.codec} sound into the output's container: encode it instead (audio: { codec: 'aac' }, or leave audio unset)`,
      'ERR_UNSUPPORTED',
    );
  }
  return decoded();
}

/** The ring for what `decoder` delivers: `slots` pictures (or packets), and a second of sound beside them. */
function ringFor(decoder: Decoder<never>, contents: RingContents, slots: number): FrameRing {
  const output = decoder.info.audio?.output;
  const soundBytes = contents.audio === 'decoded' && output ? output.sampleRate * output.channels * 4
    : contents.audio === 'copy' ? 256 << 10 : 0;
  const slotBytes = contents.video === 'packets' ? PACKET_SLOT_BYTES : decoder.frameBytes;
  return FrameRing.create({ slots, slotBytes, spareBytes: soundBytes });
}

function runDecode(data: DecodeWorkerData): void {
  let decoder: Decoder<never> | null = null;
  let ring: FrameRing | null = null;
  try {
    const opened = openInput(data);
    decoder = opened.decoder;
    ring = ringFor(decoder, opened.contents, data.slots);
    post({ type: 'ready', buffer: ring.buffer, info: decoder.info, contents: opened.contents });
    // Pictures (or video packets) delivered, in all and since the input last started over.
    let frames = 0;
    let framesThisPass = 0;
    let busy = 0;
    let reported = performance.now();
    for (;;) {
      if (performance.now() - reported >= STATS_INTERVAL_MS) {
        reported = performance.now();
        post({ type: 'decoded', frames, dropped: decoder.corruptPackets });
      }
      if (data.maxFrames > 0 && frames >= data.maxFrames) break;
      let slot;
      try {
        slot = ring.acquireWrite();
      } catch {
        // The ring was aborted (or closed) by the other side or the caller: stop quietly; whoever
        // ended it reports why.
        post({ type: 'stopped', frames, busySeconds: busy / 1000 });
        return;
      }
      const started = performance.now();
      // A picture is decoded straight into the slot; sound and packets come back as objects.
      let item = decoder.extractItemInto(slot.data);
      if (item === null && data.loop && framesThisPass > 0) {
        decoder.seek(0);
        framesThisPass = 0;
        item = decoder.extractItemInto(slot.data);
      }
      busy += performance.now() - started;
      if (item === null) break;
      if (item.kind === 'video') {
        slot.commit(item);
      } else {
        slot.cancel();
        try {
          ring.write(item as AudioFrame | Packet);
        } catch (error) {
          // Ended by the other side or the caller: stop quietly. Anything else (a packet larger
          // than the whole ring) is this side's failure.
          if (!ring.ended) throw error;
          post({ type: 'stopped', frames, busySeconds: busy / 1000 });
          return;
        }
      }
      if (item.kind === 'video' || item.kind === 'video-packet') {
        frames++;
        framesThisPass++;
      }
    }
    ring.close();
    post({ type: 'decoded', frames, dropped: decoder.corruptPackets });
    post({ type: 'done', frames, busySeconds: busy / 1000 });
  } catch (error) {
    ring?.abort(error);
    post({ type: 'error', error: serializeError(error) });
  } finally {
    decoder?.close();
  }
}

function runPush(data: PushWorkerData, buffer: SharedArrayBuffer, info: StreamInfo, contents: RingContents): void {
  let server: Server | null = null;
  const ring = FrameRing.attach(buffer);
  try {
    server = Server.openSync(data.output, {
      ...data.server,
      from: info,
      video: contents.video === 'packets' ? 'copy' : 'encode',
      audio: contents.audio === 'copy' ? 'copy' : contents.audio === 'decoded' ? data.audio : false,
      // A looped input starts its timestamps over, and a live input may too (a publisher that
      // restarts): the output's timeline carries on instead, unless the caller chose otherwise.
      ...(data.server.timeline === undefined && (data.loop || data.liveInput) ? { timeline: 'continue' as const } : {}),
    });
    const srv = server;
    // Items, not bare bytes: each goes out at its source time, so gaps, variable frame rates and
    // the offset between sound and pictures survive.
    // (A picture's pixelFormat is the decoder's, one of PIXEL_FORMATS: the ring types it as any string.)
    const serve = data.realtime ? (item: RingItem) => srv.serveFrameBlock(item as WriterInput) : (item: RingItem) => srv.serveFrame(item as WriterInput);
    let frames = 0;
    let busy = 0;
    // When the first picture's serve began and the last one's ended.
    let first = 0;
    let last = 0;
    const streamSeconds = () => (frames > 0 ? (last - first) / 1000 : 0);
    let stopped = false;
    let reported = performance.now();
    for (;;) {
      if (performance.now() - reported >= STATS_INTERVAL_MS) {
        reported = performance.now();
        post({ type: 'stats', frames, server: srv.stats, streamSeconds: streamSeconds() });
      }
      let item;
      try {
        item = ring.acquireRead();
      } catch {
        // Aborted by the other side or the caller: the output is still closed cleanly below.
        stopped = true;
        break;
      }
      if (item === null) break;
      const picture = item.kind === 'video' || item.kind === 'video-packet';
      const started = performance.now();
      if (frames === 0 && picture) first = started;
      serve(item);
      busy += performance.now() - started;
      item.release();
      if (picture) {
        last = performance.now();
        frames++;
      }
    }
    const closing = performance.now();
    server.closeSync();
    busy += performance.now() - closing;
    post({
      type: stopped ? 'stopped' : 'done',
      frames,
      busySeconds: busy / 1000,
      streamSeconds: streamSeconds(),
      server: server.stats,
      firstFrameAt: frames > 0 ? performance.timeOrigin + first : null,
    });
    server = null;
  } catch (error) {
    ring.abort(error);
    post({ type: 'error', error: serializeError(error) });
  } finally {
    try {
      server?.closeSync();
    } catch {
      // Closing after a failure may fail the same way; the first error is the one reported.
    }
  }
}

if (!isMainThread && parentPort && typeof workerData === 'object' && workerData !== null) {
  const data = workerData as DecodeWorkerData | PushWorkerData;
  if (data.streamcoderPipeline === 'decode') {
    runDecode(data);
  } else if (data.streamcoderPipeline === 'push') {
    parentPort.once('message', (message: { type: 'start'; buffer: SharedArrayBuffer; info: StreamInfo; contents: RingContents } | { type: 'stop' }) => {
      if (message.type === 'start') runPush(data, message.buffer, message.info, message.contents);
      else post({ type: 'stopped', frames: 0, busySeconds: 0 });
      // No listener is left on parentPort now, so the thread ends by itself.
    });
  }
}
