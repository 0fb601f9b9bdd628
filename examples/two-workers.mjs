// mpegCoder's "dual process" push, as two worker_threads sharing a FrameRing: one thread decodes
// a file straight into the ring's slots, the other pushes each slot to a streaming server at the
// pace of the frame rate (serveFrameBlock). Frames are never copied between the threads, and a
// slow decode never stalls the stream by more than the ring holds (mpegCoder used a queue of 20).
//
//   node examples/two-workers.mjs input.mp4 rtmp://127.0.0.1:1935/live/cam
//
// `pipeline()` does all of this in one call; this file shows the public building blocks, for
// when a thread should do more than decode or push (draw on the frames, read a camera, ...).
// Run `npm run build` first: it imports the compiled library (in an installed package, import
// from 'streamcoder' instead).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import lib from '../dist/index.js';

const { Decoder, FrameRing, Server } = lib;

if (isMainThread) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: node examples/two-workers.mjs <input file or URL> <rtmp:// or rtsp:// URL>');
    process.exit(2);
  }
  const decoder = new Worker(new URL(import.meta.url), { workerData: { role: 'decode', input } });
  // The decoding thread makes the ring (it knows the frame size) and posts its buffer here; the
  // pushing thread attaches to the same memory.
  decoder.once('message', ({ buffer, info }) => {
    const pusher = new Worker(new URL(import.meta.url), { workerData: { role: 'push', output, buffer, info } });
    const ring = FrameRing.attach(buffer); // this thread only watches the counters
    const timer = setInterval(() => console.log(ring.stats), 1000);
    pusher.on('message', (done) => console.log('pushed', done));
    pusher.once('exit', () => clearInterval(timer));
    // Ctrl-C: abort the ring; both threads see it at their next frame and close cleanly.
    process.once('SIGINT', () => ring.abort(new Error('interrupted')));
  });
  decoder.on('error', (e) => console.error('decoder thread:', e.code ?? '', e.message));
} else if (workerData.role === 'decode') {
  const dec = Decoder.openSync(workerData.input, { pixelFormat: 'yuv420p' });
  const ring = FrameRing.forInfo(dec.info, { slots: 20 });
  parentPort.postMessage({ buffer: ring.buffer, info: dec.info });
  try {
    // GOP by GOP, each frame decoded straight into shared memory and committed with its info;
    // waits while the pusher is 20 frames behind.
    while (dec.extractGOPInto(ring)) {}
    ring.close(); // the pusher drains the ring, then gets null
  } catch (error) {
    ring.abort(error); // the pusher's next acquireRead throws this error's code and message
    console.error('decode stopped:', error.code, error.message);
  } finally {
    dec.close();
  }
} else {
  const ring = FrameRing.attach(workerData.buffer);
  const srv = Server.openSync(workerData.output, { from: workerData.info, pixelFormat: 'yuv420p', preset: 'veryfast', tune: 'zerolatency' });
  try {
    for (let frame = ring.acquireRead(); frame; frame = ring.acquireRead()) {
      // The slot itself, not only its bytes: it carries the frame's pts and time, so the frame
      // keeps its place on the timeline (gaps, variable rates). Sleeps until it is due, then sends.
      srv.serveFrameBlock(frame);
      frame.release(); // the slot goes back to the decoder
    }
  } catch (error) {
    ring.abort(error); // a push failure stops the decoder too
    console.error('push stopped:', error.code, error.message);
  } finally {
    srv.closeSync();
    parentPort.postMessage(srv.stats);
  }
}
