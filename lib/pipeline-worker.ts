// The two threads of `pipeline()`: one decodes into the ring, the other pushes from it. This file
// is the worker entry point (dist/pipeline-worker.js); it does nothing when imported elsewhere.
//
// Messages to the parent: { type: 'ready', buffer, info } (decode side, once the ring exists),
// { type: 'stats', server } (push side, twice a second), { type: 'done', ... } (finished normally), { type: 'stopped' } (the other side or the caller
// ended the ring), { type: 'error', error } (this side failed: it has already aborted the ring
// with the same error, so the other side stops too).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Decoder, type DecoderOptions } from './decoder';
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

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
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
    for (;;) {
      if (data.maxFrames > 0 && frames >= data.maxFrames) break;
      let slot;
      try {
        slot = ring.acquireWrite();
      } catch {
        // The ring was aborted (or closed) by the other side or the caller: stop quietly; whoever
        // ended it reports why.
        post({ type: 'stopped', frames });
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
    let first = 0;
    let reported = performance.now();
    for (;;) {
      if (performance.now() - reported >= STATS_INTERVAL_MS) {
        reported = performance.now();
        post({ type: 'stats', server: srv.stats });
      }
      let slot;
      try {
        slot = ring.acquireRead();
      } catch {
        post({ type: 'stopped', frames });
        return;
      }
      if (slot === null) break;
      if (frames === 0) first = performance.now();
      const started = performance.now();
      // The bytes, not the Frame: the server numbers the frames itself, so a looped input (whose
      // timestamps start again) still makes one increasing timeline.
      serve(slot.data);
      busy += performance.now() - started;
      slot.release();
      frames++;
    }
    const closing = performance.now();
    server.closeSync();
    busy += performance.now() - closing;
    post({ type: 'done', frames, busySeconds: busy / 1000, streamSeconds: frames > 0 ? seconds(first) : 0, server: server.stats, firstFrameAt: frames > 0 ? performance.timeOrigin + first : null });
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
      else post({ type: 'stopped', frames: 0 });
      // No listener is left on parentPort now, so the thread ends by itself.
    });
  }
}
