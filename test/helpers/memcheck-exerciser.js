// Runs under valgrind (test/memcheck.test.ts): every native path that touches pixel memory,
// the error paths that unwind half-built libav objects, and the threads, on local files only,
// so nothing depends on timing. Plain JavaScript on the compiled library: valgrind runs node as is.
const { execFileSync } = require('node:child_process');
const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');
const { AudioEncoder, Client, Decoder, Encoder, Server, StreamcoderError, onLog, pipeline, setLogLevel } = require('../../dist/index.js');
const { packedBytes } = require('./packed-bytes');

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
  await sound();
  await soundDecode();
  // The Client's reading thread and its cache.
  for (const pixelFormat of ['rgb24', 'gray']) {
    const cli = Client.openSync(fixture('odd-853x479.mp4'), { pixelFormat, width: 427, cacheSize: 3 });
    cli.start();
    for (let i = 0; i < 5; i++) cli.next(10_000);
    cli.extractFrame(3);
    cli.stop();
    cli.close();
  }
  await reconnecting();
  await scaledAndShared();
  await relayed();
  await switched();
  await sweep();
  onLog(null);
  console.log('exerciser done');
}

// A Server whose connection drops: the reconnect thread, the outage buffer and its replay, a new
// session from the first one's streams; then a server that stays away (retries run out). The
// server is a plain TCP listener here (MPEG-TS over tcp://) that hangs up on its first two
// sessions, each after some bytes, and keeps the later ones: at most two failures in a row,
// fewer than the three retries, however slowly valgrind runs (a replay of the outage buffer that
// alone passed the limit once made every session fail, and the retries ran out in CI).
async function reconnecting() {
  const sockets = new Set();
  let drops = 0;
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    let received = 0;
    socket.on('data', (chunk) => {
      received += chunk.length;
      if (drops < 2 && received > 20000) {
        drops++;
        socket.destroy();
      }
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const url = `tcp://127.0.0.1:${listener.address().port}`;
  const srv = await Server.open(url, {
    width: 64, height: 48, pixelFormat: 'gray', frameRate: 25, format: 'mpegts', preset: 'ultrafast', gopSize: 5,
    timeoutMs: 5000, reconnect: { retries: 3, backoffMs: 20, maxBackoffMs: 40, outageBufferSeconds: 0.3 },
  });
  const picture = new Uint8Array(64 * 48);
  for (let n = 0; n < 60 && srv.stats.reconnects < 2; n++) {
    crypto.getRandomValues(picture);
    await srv.serve(picture);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  listener.close();
  for (const socket of sockets) socket.destroy();
  let failed = false;
  for (let n = 0; n < 200 && !failed; n++) {
    try {
      await srv.serve(picture);
      await new Promise((resolve) => setTimeout(resolve, 10));
    } catch (error) {
      if (!(error instanceof StreamcoderError)) throw error;
      failed = true;
    }
  }
  await srv.close();
  if (srv.stats.reconnects < 1 || !failed) throw new Error(`reconnecting: ${JSON.stringify(srv.stats)}`);
}

/** `count` interleaved samples of a sine, as an AudioFrame at `time`. */
function tone(sampleRate, channels, count, time, format = 'f32') {
  const data = format === 'f32' ? new Float32Array(count * channels) : new Int16Array(count * channels);
  for (let i = 0; i < data.length; i++) data[i] = format === 'f32' ? Math.sin(i / 10) / 2 : Math.round(Math.sin(i / 10) * 16000);
  return { kind: 'audio', data, sampleFormat: format, sampleRate, channels, samples: count, pts: 0, time };
}

// The audio side: resampling from every kind of input (and a change mid-stream), the FIFO with
// odd chunk sizes, gaps filled with silence, three encoders, ADTS AAC copied through
// aac_adtstoasc, and the refusals.
async function sound() {
  for (const [file, codec] of [['aac.mp4', 'aac'], ['opus.mkv', 'libopus'], ['mp3.flv', 'libmp3lame']]) {
    const enc = Encoder.openSync(path.join(out, file), { width: 64, height: 48, pixelFormat: 'gray', preset: 'ultrafast', audio: { codec } });
    enc.encodeFrame({ data: new Uint8Array(64 * 48), width: 64, height: 48, pixelFormat: 'gray', pts: 0, time: 0, index: 0, keyFrame: true, pictType: 'I' });
    let time = 0;
    for (const [rate, channels, count, format] of [[48000, 2, 1000, 'f32'], [44100, 1, 777, 's16'], [22050, 6, 333, 'f32'], [48000, 2, 1, 'f32']]) {
      for (let i = 0; i < 3; i++, time += count / rate) await enc.encode(tone(rate, channels, count, time, format));
    }
    enc.encodeFrame(tone(48000, 2, 480, time + 0.3));  // a gap: silence
    expectFailure(() => enc.encodeFrame(tone(48000, 2, 480, 0)));  // back in time
    expectFailure(() => enc.encodeFrame({ ...tone(48000, 2, 480, time + 1), data: new Float32Array(3) }));
    await enc.close();
  }
  const adts = path.join(out, 'tone.aac');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=duration=0.5', '-c:a', 'aac', '-f', 'adts', adts]);
  const bytes = fs.readFileSync(adts);
  const parameters = { mediaType: 'audio', codec: 'aac', codecTag: 0, extradata: null, profile: 1, level: -99, bitRate: 0, width: 0, height: 0, pixelFormat: '', sampleAspectRatio: { num: 0, den: 1 }, sampleRate: 44100, channels: 1, channelLayout: 'mono', sampleFormat: 'fltp', frameSize: 1024, timeBase: { num: 1, den: 44100 } };
  const copy = Encoder.openSync(path.join(out, 'copy.flv'), { width: 64, height: 48, pixelFormat: 'gray', preset: 'ultrafast', audio: 'copy', from: { width: 64, height: 48, frameRate: { num: 25, den: 1 }, audio: { parameters } } });
  for (let offset = 0, n = 0; offset + 7 <= bytes.length; n++) {
    const length = ((bytes[offset + 3] & 3) << 11) | (bytes[offset + 4] << 3) | (bytes[offset + 5] >> 5);
    copy.encodeFrame({ kind: 'audio-packet', data: bytes.subarray(offset, offset + length), pts: n * 1024, dts: n * 1024, duration: 1024, timeBase: { num: 1, den: 44100 }, time: null, keyFrame: true });
    offset += length;
  }
  copy.closeSync();
  expectFailure(() => Encoder.openSync(path.join(out, 'x.flv'), { width: 64, height: 48, audio: { codec: 'libopus' } }));
  expectFailure(() => Encoder.openSync(path.join(out, 'x.mp4'), { width: 64, height: 48, audio: { codec: 'nosuch' } }));
}

// The decode side of sound (issue 11): a file with two audio tracks (AAC stereo 44.1 kHz, MP3
// mono 22.05 kHz) beside B-framed H.264; items in time order with libswresample converting to
// another rate, layout and s16, a seek with items pending, extractItemInto (exact-size and
// shared buffers, one too small), the frame methods dropping the sound, stream copy of both
// streams handed to an Encoder that copies them, and the refusals. Small: valgrind is slow.
async function soundDecode() {
  const file = path.join(out, 'av-two-tracks.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25:duration=0.6',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=0.6', '-f', 'lavfi', '-i', 'sine=frequency=880:sample_rate=22050:duration=0.6',
    '-map', '0:v', '-map', '1:a', '-map', '2:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '10', '-pix_fmt', 'yuv420p',
    '-c:a:0', 'aac', '-ac:a:0', '2', '-c:a:1', 'libmp3lame', '-ac:a:1', '1', file]);
  const count = { video: 0, audio: 0, 'video-packet': 0, 'audio-packet': 0 };
  const tally = (item) => { count[item.kind ?? 'video']++; };
  // Resampled to 48 kHz mono s16; items sync, a seek while the other stream's items are queued, then async.
  const resampled = Decoder.openSync(file, { audio: { sampleRate: 48000, channels: 1, sampleFormat: 's16' } });
  for (let i = 0; i < 8; i++) tally(resampled.extractItem());
  resampled.seek(0.3);
  for (let item = await resampled.readItem(); item; item = await resampled.readItem()) {
    if (item.kind === 'audio' && !(item.data instanceof Int16Array && item.sampleRate === 48000 && item.channels === 1)) throw new Error('resampled audio unlike what was asked');
    tally(item);
  }
  resampled.close();
  // The second track upmixed to 5.1 at 96 kHz (f32), pictures decoded into caller buffers.
  const into = Decoder.openSync(file, { audio: { stream: 1, sampleRate: 96000, channels: 6 }, pixelFormat: 'rgba', width: 33 });
  const exact = new Uint8Array(into.frameBytes);
  const shared = new Uint8Array(new SharedArrayBuffer(into.frameBytes));
  const short = new Uint8Array(into.frameBytes - 1);
  let refused = 0;
  for (let n = 0; ; n++) {
    let info;
    try {
      info = into.extractItemInto(n % 3 === 2 ? short : n % 2 ? shared : exact);
    } catch (error) {
      if (!(error instanceof StreamcoderError) || error.code !== 'ERR_BUFFER_SIZE') throw error;
      refused++;
      continue;  // the frame is kept for the next call
    }
    if (info === null) break;
    tally(info);
  }
  if (refused === 0) throw new Error('extractItemInto never refused the short buffer');
  into.close();
  // audio: true (the source's rate and layout, f32) with the frame methods: video only, the sound dropped and counted.
  const frames = Decoder.openSync(file, { audio: true, pixelFormat: 'yuv420p' });
  frames.extractFrame();
  frames.extractGOP();
  await frames.read();
  while (frames.extractFrameInto(new Uint8Array(frames.frameBytes)));
  if (frames.audioSkipped === 0) throw new Error('the frame methods counted no skipped audio');
  frames.close();
  // Stream copy of both, for await, a seek to a keyframe, and the packets muxed by an Encoder that copies them.
  const copy = await Decoder.open(file, { audio: 'copy', video: 'copy' });
  const muxer = Encoder.openSync(path.join(out, 'copied.mkv'), { from: copy.info, video: 'copy', audio: 'copy' });
  let copyFirst = null;
  for await (const packet of copy) {
    tally(packet);
    muxer.encodeFrame(packet);
    if (packet.kind === 'video-packet' && !copyFirst) copyFirst = packet;
  }
  muxer.closeSync();
  copy.seek(0.2);
  tally(copy.extractItem());
  expectFailure(() => copy.extractFrame());  // ERR_INVALID_STATE: no video decoder
  copy.close();
  // The same through the queues of issue 22: items read ahead in batches, a break and the sync
  // form after it, the frame methods passing over sound read ahead, an Encoder's write queue
  // with a refused packet in it (thrown by close), and a decoder closed with items read ahead.
  const ahead = await Decoder.open(file, { audio: 'copy', video: 'copy' });
  const queued = await Encoder.open(path.join(out, 'queued.mkv'), { from: ahead.info, video: 'copy', audio: 'copy' });
  let n = 0;
  for await (const packet of ahead) {
    await queued.encode(packet);
    if (++n === 5) break;
  }
  for (let packet = ahead.extractItem(); packet; packet = ahead.extractItem()) await queued.encode(packet);
  await queued.encode({ ...copyFirst, time: 0, pts: 0, dts: -100 });
  await queued.close().then(() => { throw new Error('the refused packet was not thrown by close'); }, (error) => { if (!(error instanceof StreamcoderError)) throw error; });
  ahead.seek(0);
  await ahead.readItem();
  ahead.close();
  const passed = await Decoder.open(file, { audio: true, pixelFormat: 'yuv420p' });
  await passed.readItem();
  await passed.readItem();
  while (await passed.read());
  passed.close();
  // Closed with items pending in both queues; the refusals.
  const pending = Decoder.openSync(file, { audio: { stream: 1, copy: true } });
  tally(pending.extractItem());
  pending.close();
  pending.close();
  expectFailure(() => Decoder.openSync(file, { audio: { stream: 2 } }));
  expectFailure(() => Decoder.openSync(file, { audio: { sampleRate: 1 } }));
  expectFailure(() => Decoder.openSync(fixture('audio-only.m4a'), { audio: true }));
  for (const [kind, n] of Object.entries(count)) if (n === 0) throw new Error(`no ${kind} items`);
}

// A sweep of sizes, not examples (issue 9: the fixed sizes above missed a write past the end of
// every other width). Under valgrind each buffer is its own exact-size allocation, so one byte
// read or written past it is reported. Sizes: every width 1..64, each with heights 1, 2 and the
// height h = (37 w mod 64) + 1 (over the widths, that takes every height 1..64 once): 192 sizes,
// plus odd and even sizes of a few hundred pixels. About 6000 pictures (4600 decoded, 1700
// encoders of 2 frames): ~30 s of valgrind; test/buffer-safety-*.test.ts sweep every size
// outside valgrind.
function sweepSizes() {
  const sizes = [];
  for (let w = 1; w <= 64; w++) for (const h of new Set([1, 2, ((w * 37) % 64) + 1])) sizes.push([w, h]);
  return [...sizes, [127, 129], [360, 640], [600, 400], [257, 255]];
}

/** Pseudo-random bytes (fixed seed) as a raw video file of at least `bytes`. */
function noiseFile(name, bytes) {
  const data = Buffer.alloc(bytes);
  let s = 12345;
  for (let i = 0; i < bytes; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  const file = path.join(out, name);
  require('node:fs').writeFileSync(file, data);
  return file;
}

const raw = (format, w, h) => ({ format: 'rawvideo', formatOptions: { video_size: `${w}x${h}`, pixel_format: format, framerate: 25 } });

async function sweep() {
  const sizes = sweepSizes();
  const largest = Math.max(...sizes.map(([w, h]) => 3 * w * h));
  const noise = noiseFile('sweep-noise.raw', 3 * largest);
  let n = 0;
  // Decode, unscaled (output size = source size), from three common decoder output formats, the
  // four read paths in rotation, into exact-size buffers (a SharedArrayBuffer every other time).
  for (const source of ['yuv420p', 'nv12', 'rgb24']) {
    for (const [w, h] of sizes) {
      for (const pixelFormat of FORMATS) {
        const dec = Decoder.openSync(noise, { ...raw(source, w, h), pixelFormat });
        if (dec.frameBytes !== packedBytes(pixelFormat, w, h)) throw new Error(`${source} ${w}x${h} ${pixelFormat}: frameBytes ${dec.frameBytes}`);
        const exact = n % 2 ? new Uint8Array(new SharedArrayBuffer(dec.frameBytes)) : new Uint8Array(dec.frameBytes);
        switch (n++ % 4) {
          case 0: dec.extractFrameInto(exact); break;
          case 1: await dec.readInto(exact); break;
          case 2: dec.extractFrame(); break;
          default: await dec.read();
        }
        dec.close();
      }
    }
  }
  // Decode, scaled: one source to every size of the sweep.
  for (const [w, h] of sizes) {
    for (const pixelFormat of FORMATS) {
      const dec = Decoder.openSync(noise, { ...raw('yuv420p', 53, 37), pixelFormat, width: w, height: h });
      const exact = new Uint8Array(dec.frameBytes);
      if (n++ % 2) dec.extractFrameInto(exact);
      else await dec.readInto(exact);
      dec.close();
    }
  }
  // Encode from exact-size pictures: rawvideo (yuv420p: a conversion from every format but
  // yuv420p) and png (rgb24, rgba or gray: a conversion from bgr24, bgra and yuv420p), sync and
  // async, every size of the sweep.
  for (const [w, h] of sizes) {
    for (const pixelFormat of FORMATS) {
      for (const codec of ['rawvideo', 'png']) {
        if (codec === 'png' && !['bgr24', 'bgra', 'yuv420p'].includes(pixelFormat)) continue;
        const enc = Encoder.openSync(path.join(out, 'sweep.nut'), { width: w, height: h, frameRate: 25, pixelFormat, codec });
        const picture = new Uint8Array(packedBytes(pixelFormat, w, h)).fill(w + h);
        enc.encodeFrame(picture);
        await enc.encode(new Uint8Array(new SharedArrayBuffer(picture.length)));
        await enc.close();
      }
    }
  }
}

// Issue 13: a writer given Frames of other sizes and formats scales them (swscale, a padded copy,
// the cascaded context of a large ratio), sync and async; and the standalone AudioEncoder (its
// FIFO, resampling, flush, the packets' bytes handed to JS, misuse after close).
async function scaledAndShared() {
  const enc = Encoder.openSync(path.join(out, 'scaled.nut'), { width: 32, height: 18, frameRate: 25, pixelFormat: 'yuv420p', codec: 'rawvideo' });
  for (const [w, h] of [[1, 1], [7, 5], [33, 19], [64, 48], [853, 479], [1920, 1080]]) {
    for (const pixelFormat of FORMATS) {
      const frame = { data: new Uint8Array(packedBytes(pixelFormat, w, h)).fill(w), width: w, height: h, pixelFormat, pts: null, time: null };
      if ((w + h) % 2) enc.encodeFrame(frame);
      else await enc.encode(frame);
    }
  }
  expectFailure(() => enc.encodeFrame({ data: new Uint8Array(10), width: 7, height: 5, pixelFormat: 'rgb24', pts: null, time: null }));
  await enc.close();
  const audio = AudioEncoder.openSync({ codec: 'aac', bitRate: '64k', sampleRate: 48000, channels: 2 });
  const packets = [];
  for (const [i, [rate, channels, format]] of [[44100, 1, 'f32'], [48000, 2, 's16'], [22050, 2, 'f32']].entries()) {
    packets.push(...audio.encode(tone(rate, channels, 777, i * 0.1, format)));
  }
  packets.push(...audio.flush());
  if (packets.length === 0 || !audio.parameters.extradata?.length) throw new Error('AudioEncoder made no packets or no global header');
  audio.close();
  expectFailure(() => audio.encode(tone(48000, 2, 100, 1)));
  expectFailure(() => AudioEncoder.openSync({ codec: 'libx264' }));
}

// Issue 22: pipeline() on the native relay: decoded frames handed to encoders by reference (the
// same size), scaled from them (a ladder), converted pictures (rgb24), copied packets, an output
// that fails alone, an abort while running, each freeing what it queued.
async function relayed() {
  const unpaced = { realtime: false, server: { preset: 'ultrafast', threads: 1 } };
  await pipeline({ input: fixture('av.mp4'), outputs: [
    { url: path.join(out, 'relay-a.mkv'), server: { preset: 'ultrafast', threads: 1 } },
    { url: path.join(out, 'relay-b.mkv'), width: 33, height: 19, server: { preset: 'ultrafast', threads: 1 } },
    { url: path.join(out, 'no-such-dir', 'relay-c.mkv'), server: { preset: 'ultrafast', threads: 1 } },
  ], realtime: false, slots: 2 });
  await pipeline({ input: fixture('odd-853x479.mp4'), output: path.join(out, 'relay-rgb.nut'), decoder: { pixelFormat: 'rgb24', width: 101 }, ...unpaced, server: { codec: 'rawvideo' } });
  await pipeline({ input: fixture('av.mp4'), outputs: [{ url: path.join(out, 'relay-copy.mkv') }, { url: path.join(out, 'relay-copy.flv') }], video: 'copy', realtime: false });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  await pipeline({ input: fixture('av.mp4'), output: path.join(out, 'relay-abort.mkv'), loop: true, signal: controller.signal, ...unpaced }).then(
    () => { throw new Error('the aborted pipeline resolved'); },
    (error) => { if (!(error instanceof StreamcoderError) || error.code !== 'ERR_ABORTED') throw error; },
  );
}

// The input switch: a file that ends, a fallback that never connects, the slate (a still of
// another size, then the black card) with silence until maxFrames; thumbnails of both.
async function switched() {
  const slate = path.join(out, 'slate.png');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=magenta:size=48x30', '-frames:v', '1', slate]);
  let thumbnails = 0;
  for (const withSlate of [true, false]) {
    await pipeline({
      input: fixture('av.mp4'), output: path.join(out, `switched-${withSlate}.mkv`), server: { preset: 'ultrafast', threads: 1 },
      fallbacks: ['tcp://127.0.0.1:9'], ...(withSlate ? { slate } : {}), inputTimeoutMs: 300, maxFrames: 90,
      thumbnails: { onThumbnail: () => thumbnails++, width: 32, everyMs: 500 },
    });
  }
  if (thumbnails === 0) throw new Error('no thumbnail was made');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
