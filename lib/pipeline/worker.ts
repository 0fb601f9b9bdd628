// The threads of `pipeline()`: one decodes into the ring, one per output pushes from it (each
// output a reader of the ring). This file is the worker entry point (dist/pipeline/worker.js);
// it does nothing when imported elsewhere.
//
// Messages to the parent: { type: 'ready', buffer, info, contents, audio } (decode side, once the
// ring exists; `contents` says what it carries: decoded or copied sound, pictures or video
// packets; `audio` what each output does with the sound), { type: 'decoded', frames, dropped }
// (decode side, twice a second: pictures delivered, corrupt packets skipped), { type: 'stats',
// frames, server, streamSeconds } (push side, twice a second: pictures served), { type: 'done', ... }
// (finished normally), { type: 'stopped', ... } (the ring was ended by another thread or the
// caller; a push side closes its output first and reports as 'done' does), { type: 'error', error }
// (this side failed. The decoding side has aborted the ring with the same error, so every output
// stops too; an output has only detached from the ring, and the parent decides whether the others
// go on).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Decoder, DecoderOptions } from '../decoder';
import { openInput, SOUND_BYTES_PER_STREAM, type OutputAudio, type SoundEncodings, type SoundPlan } from './sound';
import { FrameRing, type RingItem } from '../ring';
import { Server } from '../writer/server';
import type { WriterOptions } from '../writer/options';
import type { AudioFrame, Packet, StreamInfo } from '../types';


export interface DecodeWorkerData {
  streamcoderPipeline: 'decode';
  input: string;
  decoder: DecoderOptions;
  slots: number;
  loop: boolean;
  maxFrames: number;
  video: 'encode' | 'copy';
  /** Each output (a reader of the ring), with its forced format: whether its container takes the sound's codec. */
  outputs: { url: string; format: string; audio: OutputAudio }[];
}

export interface PushWorkerData {
  streamcoderPipeline: 'push';
  /** This output's reader of the ring. */
  reader: number;
  /** The output's name in messages, secrets masked. */
  label: string;
  output: string;
  /** The size it encodes at (the frames' when absent). */
  width?: number;
  height?: number;
  server: WriterOptions;
  onSlow: 'drop' | 'wait';
  video: 'encode' | 'copy';
  realtime: boolean;
  loop: boolean;
  /** The input is a network stream (a relay). */
  liveInput: boolean;
  /** A retry of an output that failed: its reader, detached then, rejoins the ring (FrameRing.rejoin). */
  rejoin: boolean;
}

/** What the decoding side delivers into the ring, which the pushing side opens its Server for. */
export interface RingContents {
  video: 'frames' | 'packets';
  /** The sound's streams and which one each output writes. */
  sound: SoundPlan;
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

/** The ring for what the decoder delivers: `slots` pictures (or packets), and seconds of sound beside them. */
function ringFor(decoder: Decoder<never>, contents: RingContents, slots: number, readers: number): FrameRing {
  const soundBytes = contents.sound.streams.length * SOUND_BYTES_PER_STREAM;
  const slotBytes = contents.video === 'packets' ? PACKET_SLOT_BYTES : decoder.frameBytes;
  return FrameRing.create({ slots, slotBytes, spareBytes: soundBytes, readers });
}

function runDecode(data: DecodeWorkerData): void {
  let decoder: Decoder<never> | null = null;
  let encodings: SoundEncodings | null = null;
  let ring: FrameRing | null = null;
  try {
    const base: DecoderOptions = { ...data.decoder, ...(data.video === 'copy' ? { video: 'copy' as const } : {}) };
    const opened = openInput(data.input, base, data.outputs);
    decoder = opened.decoder;
    encodings = opened.encodings;
    const contents: RingContents = { video: data.video === 'copy' ? 'packets' : 'frames', sound: opened.sound };
    const r = ringFor(decoder, contents, data.slots, data.outputs.length);
    ring = r;
    post({ type: 'ready', buffer: r.buffer, info: decoder.info, contents });
    // Pictures (or video packets) delivered, in all and since the input last started over.
    let frames = 0;
    let framesThisPass = 0;
    let busy = 0;
    let reported = performance.now();
    // Sound and packets are copied in; false once the ring was ended by another thread or the
    // caller (anything else, a packet larger than the whole ring, is this side's failure).
    const write = (items: (AudioFrame | Packet)[]): boolean => {
      try {
        for (const item of items) r.write(item);
        return true;
      } catch (error) {
        if (!r.ended) throw error;
        return false;
      }
    };
    const stopped = () => post({ type: 'stopped', frames, busySeconds: busy / 1000 });
    for (;;) {
      if (performance.now() - reported >= STATS_INTERVAL_MS) {
        reported = performance.now();
        post({ type: 'decoded', frames, dropped: decoder.corruptPackets });
      }
      if (data.maxFrames > 0 && frames >= data.maxFrames) break;
      let slot;
      try {
        slot = r.acquireWrite();
      } catch {
        // The ring was aborted (or closed) by another thread or the caller: stop quietly; whoever
        // ended it reports why.
        stopped();
        return;
      }
      const started = performance.now();
      // A picture is decoded straight into the slot; sound and packets come back as objects.
      const item = decoder.extractItemInto(slot.data);
      if (item === null && data.loop && framesThisPass > 0) {
        slot.cancel();
        decoder.seek(0);
        framesThisPass = 0;
        // The last pass's sound ends before the new pass begins.
        const tails = encodings ? encodings.restart() : [];
        busy += performance.now() - started;
        if (!write(tails)) return stopped();
        continue;
      }
      // Encoded once here for every output of the same setting.
      const sound = item?.kind === 'audio' && encodings ? encodings.encode(item as AudioFrame) : null;
      busy += performance.now() - started;
      if (item === null) {
        slot.cancel();
        break;
      }
      if (item.kind === 'video') {
        slot.commit(item);
      } else {
        slot.cancel();
        if (!write(sound ?? [item as AudioFrame | Packet])) return stopped();
      }
      if (item.kind === 'video' || item.kind === 'video-packet') {
        frames++;
        framesThisPass++;
      }
    }
    if (encodings && !write(encodings.flush())) return stopped();
    r.close();
    post({ type: 'decoded', frames, dropped: decoder.corruptPackets });
    post({ type: 'done', frames, busySeconds: busy / 1000 });
  } catch (error) {
    ring?.abort(error);
    post({ type: 'error', error: serializeError(error) });
  } finally {
    encodings?.close();
    decoder?.close();
  }
}

function runPush(data: PushWorkerData, start: StartMessage): void {
  let server: Server | null = null;
  const ring = FrameRing.attach(start.buffer, { reader: data.reader, onSlow: data.onSlow });
  if (data.rejoin) ring.rejoin();
  // The sound stream this output writes (its packets carry that number in the ring), or null.
  const sound = start.contents.sound.outputs[data.reader];
  try {
    server = Server.openSync(data.output, {
      ...data.server,
      from: sound === null ? start.info : { ...start.info, audio: start.contents.sound.streams[sound] },
      ...(data.width !== undefined ? { width: data.width, height: data.height } : {}),
      video: start.contents.video === 'packets' ? 'copy' : 'encode',
      audio: sound === null ? false : 'copy',
      // A looped input starts its timestamps over, and a live input may too (a publisher that
      // restarts): the output's timeline carries on instead, unless the caller chose otherwise.
      ...(data.server.timeline === undefined && (data.loop || data.liveInput) ? { timeline: 'continue' as const } : {}),
    });
    const srv = server;
    // Items, not bare bytes: each goes out at its source time, so gaps, variable frame rates and
    // the offset between sound and pictures survive.
    const serve = data.realtime ? (item: RingItem) => srv.serveFrameBlock(item) : (item: RingItem) => srv.serveFrame(item);
    let frames = 0;
    let busy = 0;
    // When the first picture's serve began and the last one's ended.
    let first = 0;
    let last = 0;
    const streamSeconds = () => (frames > 0 ? (last - first) / 1000 : 0);
    let stopped = false;
    let reported = performance.now();
    // How far behind the most advanced output this one serves copies (see below). Outputs in step
    // are within an item or two of each other.
    const lagging = Math.max(2, ring.slots >> 1);
    post({ type: 'opened' });
    for (;;) {
      if (performance.now() - reported >= STATS_INTERVAL_MS) {
        reported = performance.now();
        post({ type: 'stats', frames, dropped: dropped(ring, data.reader), server: srv.stats, streamSeconds: streamSeconds() });
      }
      let item;
      try {
        item = ring.acquireRead();
      } catch {
        // Aborted by the decoding side or the caller: the output is still closed cleanly below.
        stopped = true;
        break;
      }
      if (item === null) break;
      const picture = item.kind === 'video' || item.kind === 'video-packet';
      if (item.kind === 'audio-packet' && item.stream !== sound) {
        item.release();
        continue;
      }
      const started = performance.now();
      if (frames === 0 && picture) first = started;
      if (ring.lag >= lagging) {
        // Far behind the other outputs (its link is slow): its serve may block for long, so it
        // serves a copy and gives the slot back first; the others never wait on that call, and
        // its 'drop' policy can move it past what it cannot keep up with.
        const copy = { ...item, data: item.data.slice() };
        item.release();
        serve(copy as RingItem);
      } else {
        serve(item);
        item.release();
      }
      busy += performance.now() - started;
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
      dropped: dropped(ring, data.reader),
      busySeconds: busy / 1000,
      streamSeconds: streamSeconds(),
      server: server.stats,
      firstFrameAt: frames > 0 ? performance.timeOrigin + first : null,
    });
    server = null;
  } catch (error) {
    // This output alone stops: the ring no longer waits for it, and the parent decides whether
    // the others go on (they do, unless every output failed).
    ring.detach();
    post({ type: 'error', error: serializeError(error), dropped: dropped(ring, data.reader), server: server?.stats ?? null });
  } finally {
    try {
      server?.closeSync();
    } catch {
      // Closing after a failure may fail the same way; the first error is the one reported.
    }
  }
}

/** Pictures this output skipped because it fell behind the others. */
function dropped(ring: FrameRing, reader: number): number {
  return ring.stats.readers[reader].dropped;
}

/** What the parent sends a push thread once the ring exists (or `stop` when it never will). */
export interface StartMessage {
  type: 'start';
  buffer: SharedArrayBuffer;
  info: StreamInfo;
  contents: RingContents;
}

if (!isMainThread && parentPort && typeof workerData === 'object' && workerData !== null) {
  const data = workerData as DecodeWorkerData | PushWorkerData;
  if (data.streamcoderPipeline === 'decode') {
    runDecode(data);
  } else if (data.streamcoderPipeline === 'push') {
    parentPort.once('message', (message: StartMessage | { type: 'stop' }) => {
      if (message.type === 'start') runPush(data, message);
      else post({ type: 'stopped', frames: 0, dropped: 0, busySeconds: 0 });
      // No listener is left on parentPort now, so the thread ends by itself.
    });
  }
}
