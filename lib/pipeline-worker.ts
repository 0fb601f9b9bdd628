// The threads of `pipeline()`: one decodes into the ring, one per output pushes from it (each
// output a reader of the ring). This file is the worker entry point (dist/pipeline-worker.js);
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

/** What one output asked for the sound: a mode, and the encoder's settings for `encode`. */
export interface OutputAudio {
  mode: AudioMode;
  options: AudioOptions;
}

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
}

/** What one output's Server does with the ring's sound: copy it, encode it with these settings, or leave it. */
export type ServedAudio = 'copy' | 'none' | AudioOptions;

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
 * Opens the input with the sound handled as the outputs ask, and says what each output does with
 * it. The input's packets are copied when every output that wants sound can hold its codec (the
 * codec is known only once the input is open); otherwise the input is opened again to decode it,
 * and the outputs that did not ask for settings of their own get AAC.
 */
function openInput(data: DecodeWorkerData): { decoder: Decoder<never>; contents: RingContents; audio: ServedAudio[] } {
  const base: DecoderOptions = { ...data.decoder, ...(data.video === 'copy' ? { video: 'copy' as const } : {}) };
  const video = data.video === 'copy' ? 'packets' : 'frames';
  const modes = data.outputs.map((o) => o.audio.mode);
  const none = () => data.outputs.map((): ServedAudio => 'none');
  if (modes.every((m) => m === 'none')) return { decoder: Decoder.openSync(data.input, base) as Decoder<never>, contents: { audio: 'none', video }, audio: none() };
  const decoded = (): { decoder: Decoder<never>; contents: RingContents; audio: ServedAudio[] } => {
    const decoder = Decoder.openSync(data.input, { ...base, audio: { sampleFormat: 'f32' } }) as Decoder<never>;
    if (!decoder.info.audio) return { decoder, contents: { audio: 'none', video }, audio: none() };
    return { decoder, contents: { audio: 'decoded', video }, audio: data.outputs.map((o) => (o.audio.mode === 'none' ? 'none' : o.audio.options)) };
  };
  const copies = modes.filter((m) => m === 'copy').length;
  if (modes.includes('encode')) {
    if (copies > 0) throw mixedSound();
    return decoded();
  }
  const decoder = Decoder.openSync(data.input, { ...base, audio: 'copy' }) as Decoder<never>;
  const sound = decoder.info.audio;
  if (sound === null) return { decoder, contents: { audio: 'none', video }, audio: none() };
  const codec = sound.parameters.codec;
  const takes = data.outputs.map((o) => o.audio.mode === 'none' || containerTakes(o.url, o.format, codec));
  if (takes.every(Boolean)) return { decoder, contents: { audio: 'copy', video }, audio: modes.map((m) => (m === 'none' ? 'none' : 'copy')) };
  decoder.close();
  const refused = data.outputs.findIndex((o, i) => o.audio.mode === 'copy' && !takes[i]);
  if (refused >= 0) {
    throw new StreamcoderError(
      `Cannot copy the input's ${codec} sound into the container of ${data.outputs.length > 1 ? `output ${refused}` : 'the output'}: encode it instead (audio: { codec: 'aac' }, or leave audio unset)`,
      'ERR_UNSUPPORTED',
    );
  }
  if (copies > 0) throw mixedSound();
  return decoded();
}

function mixedSound(): StreamcoderError {
  return new StreamcoderError(
    "One pipeline cannot both copy the input's sound to some outputs and encode it for others: give every output audio settings, or leave audio unset to let the pipeline choose",
    'ERR_UNSUPPORTED',
  );
}

/** The ring for what `decoder` delivers: `slots` pictures (or packets), and a second of sound beside them. */
function ringFor(decoder: Decoder<never>, contents: RingContents, slots: number, readers: number): FrameRing {
  const output = decoder.info.audio?.output;
  const soundBytes = contents.audio === 'decoded' && output ? output.sampleRate * output.channels * 4
    : contents.audio === 'copy' ? 256 << 10 : 0;
  const slotBytes = contents.video === 'packets' ? PACKET_SLOT_BYTES : decoder.frameBytes;
  return FrameRing.create({ slots, slotBytes, spareBytes: soundBytes, readers });
}

function runDecode(data: DecodeWorkerData): void {
  let decoder: Decoder<never> | null = null;
  let ring: FrameRing | null = null;
  try {
    const opened = openInput(data);
    decoder = opened.decoder;
    ring = ringFor(decoder, opened.contents, data.slots, data.outputs.length);
    post({ type: 'ready', buffer: ring.buffer, info: decoder.info, contents: opened.contents, audio: opened.audio });
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

function runPush(data: PushWorkerData, start: StartMessage): void {
  let server: Server | null = null;
  const ring = FrameRing.attach(start.buffer, { reader: data.reader, onSlow: data.onSlow });
  const audio = start.audio[data.reader];
  try {
    server = Server.openSync(data.output, {
      ...data.server,
      from: start.info,
      ...(data.width !== undefined ? { width: data.width, height: data.height } : {}),
      video: start.contents.video === 'packets' ? 'copy' : 'encode',
      audio: audio === 'none' || start.contents.audio === 'none' ? false : audio,
      // A looped input starts its timestamps over, and a live input may too (a publisher that
      // restarts): the output's timeline carries on instead, unless the caller chose otherwise.
      ...(data.server.timeline === undefined && (data.loop || data.liveInput) ? { timeline: 'continue' as const } : {}),
    });
    const srv = server;
    // Items, not bare bytes: each goes out at its source time, so gaps, variable frame rates and
    // the offset between sound and pictures survive.
    // (A picture's pixelFormat is the decoder's, one of PIXEL_FORMATS: the ring types it as any string.)
    const serve = data.realtime ? (item: RingItem) => srv.serveFrameBlock(item as WriterInput) : (item: RingItem) => srv.serveFrame(item as WriterInput);
    const wantsSound = audio !== 'none';
    let frames = 0;
    let busy = 0;
    // When the first picture's serve began and the last one's ended.
    let first = 0;
    let last = 0;
    const streamSeconds = () => (frames > 0 ? (last - first) / 1000 : 0);
    let stopped = false;
    let reported = performance.now();
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
      if (!picture && !wantsSound) {
        item.release();
        continue;
      }
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
  /** What each output does with the sound, by reader. */
  audio: ServedAudio[];
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
