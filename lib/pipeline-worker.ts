// The two threads of `pipeline()`: one decodes into the ring, the other pushes from it. This file
// is the worker entry point (dist/pipeline-worker.js); it does nothing when imported elsewhere.
//
// Messages to the parent: { type: 'ready', buffer, info } (decode side, once the ring exists),
// { type: 'dropped', dropped } (decode side, when the count of corrupt packets skipped grows),
// { type: 'stats', server, streamSeconds } (push side, twice a second), { type: 'done', ... }
// (finished normally), { type: 'stopped', ... } (the other side or the caller ended the ring; the
// push side closes its output first and reports as 'done' does), { type: 'error', error } (this
// side failed: it has already aborted the ring with the same error, so the other side stops too).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Decoder, type DecoderOptions } from './decoder';
import { StreamcoderError } from './errors';
import { FrameRing } from './ring';
import { Server } from './server';
import type { WriterOptions } from './writer-options';
import type { StreamInfo } from './types';


export interface DecodeWorkerData {
  streamcoderPipeline: 'decode';
  input: string;
  decoder: DecoderOptions;
  slots: number;
  loop: boolean;
  maxFrames: number;
}

export interface PushWorkerData {
  streamcoderPipeline: 'push';
  output: string;
  server: WriterOptions;
  realtime: boolean;
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

function runDecode(data: DecodeWorkerData): void {
  let decoder: Decoder | null = null;
  let ring: FrameRing | null = null;
  try {
    decoder = Decoder.openSync(data.input, data.decoder);
    ring = FrameRing.forInfo(decoder.info, { slots: data.slots });
    post({ type: 'ready', buffer: ring.buffer, info: decoder.info });
    let frames = 0;
    let framesThisPass = 0;
    let busy = 0;
    let dropped = 0;
    for (;;) {
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
      let info = decoder.extractFrameInto(slot.data);
      if (info === null && data.loop && framesThisPass > 0) {
        decoder.seek(0);
        framesThisPass = 0;
        info = decoder.extractFrameInto(slot.data);
      }
      busy += performance.now() - started;
      if (decoder.corruptPackets !== dropped) {
        dropped = decoder.corruptPackets;
        post({ type: 'dropped', dropped });
      }
      if (info === null) break;
      slot.commit(info);
      frames++;
      framesThisPass++;
    }
    ring.close();
    post({ type: 'done', frames, busySeconds: busy / 1000 });
  } catch (error) {
    ring?.abort(error);
    post({ type: 'error', error: serializeError(error) });
  } finally {
    decoder?.close();
  }
}

function runPush(data: PushWorkerData, buffer: SharedArrayBuffer, info: StreamInfo): void {
  let server: Server | null = null;
  const ring = FrameRing.attach(buffer);
  try {
    server = Server.openSync(data.output, { ...data.server, from: info });
    const srv = server;
    const serve = data.realtime ? (bytes: Uint8Array) => srv.serveFrameBlock(bytes) : (bytes: Uint8Array) => srv.serveFrame(bytes);
    let frames = 0;
    let busy = 0;
    // When the first frame's serve began and the last one's ended.
    let first = 0;
    let last = 0;
    const streamSeconds = () => (frames > 0 ? (last - first) / 1000 : 0);
    let stopped = false;
    let reported = performance.now();
    for (;;) {
      if (performance.now() - reported >= STATS_INTERVAL_MS) {
        reported = performance.now();
        post({ type: 'stats', server: srv.stats, streamSeconds: streamSeconds() });
      }
      let slot;
      try {
        slot = ring.acquireRead();
      } catch {
        // Aborted by the other side or the caller: the output is still closed cleanly below.
        stopped = true;
        break;
      }
      if (slot === null) break;
      // The decoding side commits only frames (audio and packets are not carried yet).
      if (slot.kind !== 'video') throw new StreamcoderError(`The ring carried a ${slot.kind} item to a video-only push`, 'ERR_INTERNAL');
      const started = performance.now();
      if (frames === 0) first = started;
      // The bytes, not the Frame: the server numbers the frames itself, so a looped input (whose
      // timestamps start again) still makes one increasing timeline.
      serve(slot.data);
      last = performance.now();
      busy += last - started;
      slot.release();
      frames++;
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
    parentPort.once('message', (message: { type: 'start'; buffer: SharedArrayBuffer; info: StreamInfo } | { type: 'stop' }) => {
      if (message.type === 'start') runPush(data, message.buffer, message.info);
      else post({ type: 'stopped', frames: 0, busySeconds: 0 });
      // No listener is left on parentPort now, so the thread ends by itself.
    });
  }
}
