// Runs under valgrind (test/memcheck.test.ts): every native path that touches pixel memory,
// the error paths that unwind half-built libav objects, and the threads, on local files only,
// so nothing depends on timing. Plain JavaScript on the compiled library: valgrind runs node as is.
const path = require('node:path');
const { Client, Decoder, Encoder, StreamcoderError, onLog, setLogLevel } = require('../../dist/index.js');

const [fixtures, out] = process.argv.slice(2);
const fixture = (name) => path.join(fixtures, name);
const FORMATS = ['rgb24', 'bgr24', 'rgba', 'bgra', 'gray', 'yuv420p'];

function expectFailure(call) {
  try {
    call();
  } catch (error) {
    if (error instanceof StreamcoderError) return;
    throw error;
  }
  throw new Error('expected a StreamcoderError');
}

async function main() {
  setLogLevel('warning');
  onLog(() => {});
  for (const pixelFormat of FORMATS) {
    for (const size of [{}, { width: 101 }]) {
      // Decoding into exact-size caller buffers, odd sizes, scaling, GOPs, seeking, async reads.
      const dec = Decoder.openSync(fixture('odd-853x479.mp4'), { pixelFormat, ...size });
      const picture = new Uint8Array(dec.frameBytes);
      dec.extractFrameInto(picture);
      const second = dec.extractFrame().data;
      dec.extractGOP();
      dec.seek(1);
      await dec.read();
      const { width, height } = dec.info;
      dec.close();
      // Encoding from them: sizes the encoder takes (mpeg4 takes odd ones).
      const enc = Encoder.openSync(path.join(out, `${pixelFormat}-${width}.avi`), { width, height, frameRate: 25, pixelFormat, codec: 'mpeg4' });
      enc.encodeFrame(picture);
      enc.encodeFrame(second);
      enc.closeSync();
    }
  }
  const even = Decoder.openSync(fixture('h264-bframes.mp4'), { threads: 4 });
  const enc = await Encoder.open(path.join(out, 'x264.mp4'), { from: even.info, preset: 'ultrafast', maxBFrames: 2 });
  for (let f = even.extractFrame(); f; f = even.extractFrame()) await enc.encode(f);
  await enc.close();
  even.close();
  // Error paths.
  expectFailure(() => Decoder.openSync(fixture('missing.mp4')));
  expectFailure(() => Decoder.openSync(fixture('audio-only.m4a')));
  expectFailure(() => Decoder.openSync(fixture('h264-bframes.mp4'), { codecOptions: { bogus: 1 } }));
  expectFailure(() => Encoder.openSync(path.join(out, 'x.mp4'), { width: 64, height: 64, codec: 'nosuch' }));
  expectFailure(() => Encoder.openSync(path.join(out, 'x.mp4'), { width: 64, height: 64, formatOptions: { bogus: 1 } }));
  // libx264 refuses odd sizes (and leaks a little doing so: see valgrind.supp).
  expectFailure(() => Encoder.openSync(path.join(out, 'x.mp4'), { width: 853, height: 479, codec: 'libx264' }));
  const small = Encoder.openSync(path.join(out, 'small.mp4'), { width: 64, height: 64, preset: 'ultrafast' });
  expectFailure(() => small.encodeFrame(new Uint8Array(10)));
  small.closeSync();
  // The Client's reading thread and its cache.
  for (const pixelFormat of ['rgb24', 'gray']) {
    const cli = Client.openSync(fixture('odd-853x479.mp4'), { pixelFormat, width: 427, cacheSize: 3 });
    cli.start();
    for (let i = 0; i < 5; i++) cli.next(10_000);
    cli.extractFrame(3);
    cli.stop();
    cli.close();
  }
  onLog(null);
  console.log('exerciser done');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
