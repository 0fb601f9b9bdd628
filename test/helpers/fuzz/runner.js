// The fuzzer's child process (started by campaign.ts): decodes a batch of mutants through the
// public Decoder API of the compiled library, one pass after another, and says what happened on
// stdout, one line per event, written synchronously so that the last line before a crash names
// the mutant that was being decoded:
//   S <id>          starting mutant <id>
//   P <id>          a frame (or GOP) came out: progress, for the parent's hang timer
//   D <id> <json>   mutant <id> done: per pass, frames, StreamcoderError codes, failure; peak RSS
//                   (and RSS at its start), ms
//   M <id> <rss>    resident memory passed the bound: the process exits (code 70)
//   E               batch done
//   L <message>     the library did not load (exit code 72): no mutant ran
// Anything but a StreamcoderError is a failure; so is a frame that does not match what the
// decoder declared (size, format, buffer length), an AudioFrame unlike info.audio.output (rate,
// channels, format, typed array and its length), a Packet of a stream not copied, or an item
// of a kind not asked for. Plain JavaScript on dist/: starts fast, and runs
// the library exactly as users get it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const say = (line) => fs.writeSync(1, `${line}\n`);

const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
// A library that does not load (an addon being rebuilt by someone else right now) is no finding
// about any mutant: say so, and the parent retries or stops.
let library;
try {
  library = require(path.join(job.root, 'dist', 'index.js'));
} catch (error) {
  say(`L ${JSON.stringify(String(error && error.message).split('\n')[0])}`);
  process.exit(72);
}
const { Decoder, StreamcoderError, setLogLevel } = library;
// Frames beyond this are not decoded: seeds have 3 to 6, mutants rarely many more.
const MAX_FRAMES = job.maxFrames ?? 40;
// Huge declared sizes cost a second a frame: a few are enough to show they work.
const LARGE_FRAME_BYTES = 16 << 20;
const LARGE_FRAMES = 3;
const GOP_BYTES = 256 << 20;
// Items (video and audio) per item pass: 0.4 s of 48 kHz AAC is 20 audio frames.
const MAX_ITEMS = 4 * MAX_FRAMES;

// As test/helpers/guarded-memory.ts: a Uint8Array whose last byte is the last the process may
// touch, so a native write past a caller's picture crashes here instead of passing silently.
function bufferAtMemoryEnd(bytes) {
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  return new Uint8Array(memory.buffer, memory.buffer.byteLength - bytes, bytes);
}

function packedBytes(format, w, h) {
  const chroma = Math.ceil(w / 2) * Math.ceil(h / 2);
  return { rgb24: 3 * w * h, bgr24: 3 * w * h, rgba: 4 * w * h, bgra: 4 * w * h, gray: w * h, yuv420p: w * h + 2 * chroma }[format];
}

class Invariant extends Error {}

const audioAsked = (pass) => pass.audio !== undefined && pass.audio !== false;
const audioCopied = (pass) => pass.audio === 'copy' || (typeof pass.audio === 'object' && pass.audio.copy === true);

function checkAudioInfo(dec, pass) {
  const audio = dec.info.audio;
  if (!audioAsked(pass)) {
    if (audio !== null && audio !== undefined) throw new Invariant('info.audio set without audio asked for');
    return;
  }
  if (audio === null) return;  // no sound in the file (or none left after the mutation)
  const { output } = audio;
  if (audioCopied(pass)) {
    if (output !== null) throw new Invariant(`info.audio.output ${JSON.stringify(output)} for a copied stream`);
  } else {
    const asked = typeof pass.audio === 'object' ? pass.audio : {};
    if (output === null) throw new Invariant('info.audio.output null for a decoded stream');
    if (asked.sampleRate && output.sampleRate !== asked.sampleRate) throw new Invariant(`info.audio.output.sampleRate ${output.sampleRate}, asked for ${asked.sampleRate}`);
    if (asked.channels && output.channels !== asked.channels) throw new Invariant(`info.audio.output.channels ${output.channels}, asked for ${asked.channels}`);
    if (output.sampleFormat !== (asked.sampleFormat ?? 'f32')) throw new Invariant(`info.audio.output.sampleFormat ${output.sampleFormat}, asked for ${asked.sampleFormat ?? 'f32'}`);
    if (!(Number.isInteger(output.sampleRate) && output.sampleRate > 0 && Number.isInteger(output.channels) && output.channels > 0)) throw new Invariant(`info.audio.output ${JSON.stringify(output)}`);
  }
}

function checkInfo(dec, pass) {
  checkAudioInfo(dec, pass);
  if (pass.video === 'copy') {
    // No decoder, no scaler: nothing to decode into.
    if (dec.frameBytes !== 0) throw new Invariant(`frameBytes ${dec.frameBytes} with video: 'copy'`);
    if (!dec.info.videoParameters || typeof dec.info.videoParameters.codec !== 'string') throw new Invariant('info.videoParameters missing with video: \'copy\'');
    return;
  }
  const { width, height, pixelFormat } = dec.info;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) throw new Invariant(`info declares ${width}x${height}`);
  if (pixelFormat !== pass.pixelFormat) throw new Invariant(`info.pixelFormat ${pixelFormat}, asked for ${pass.pixelFormat}`);
  if (pass.width && width !== pass.width) throw new Invariant(`info.width ${width}, asked for ${pass.width}`);
  if (pass.height && height !== pass.height) throw new Invariant(`info.height ${height}, asked for ${pass.height}`);
  // maxPixels bounds the source and the requested size: an open that succeeds is within it.
  const { sourceWidth, sourceHeight } = dec.info;
  if (pass.maxPixels !== undefined && (sourceWidth * sourceHeight > pass.maxPixels || width * height > pass.maxPixels)) {
    throw new Invariant(`opened a ${sourceWidth}x${sourceHeight} source into ${width}x${height} with maxPixels ${pass.maxPixels}`);
  }
  const expected = packedBytes(pixelFormat, width, height);
  if (dec.frameBytes !== expected) throw new Invariant(`frameBytes ${dec.frameBytes} for ${width}x${height} ${pixelFormat}, expected ${expected}`);
}

function checkFrame(dec, frame, withData) {
  const { width, height, pixelFormat } = dec.info;
  if (frame.width !== width || frame.height !== height || frame.pixelFormat !== pixelFormat) {
    throw new Invariant(`frame ${frame.width}x${frame.height} ${frame.pixelFormat}, declared ${width}x${height} ${pixelFormat}`);
  }
  if (withData && (!(frame.data instanceof Uint8Array) || frame.data.byteLength !== dec.frameBytes)) {
    throw new Invariant(`frame.data of ${frame.data?.byteLength} bytes, frameBytes ${dec.frameBytes}`);
  }
}

function checkAudioFrame(dec, frame, pass) {
  if (!audioAsked(pass) || audioCopied(pass)) throw new Invariant(`an AudioFrame with audio ${JSON.stringify(pass.audio)}`);
  const output = dec.info.audio?.output;
  if (!output) throw new Invariant('an AudioFrame from a decoder that declares no decoded audio');
  if (frame.sampleRate !== output.sampleRate || frame.channels !== output.channels || frame.sampleFormat !== output.sampleFormat) {
    throw new Invariant(`AudioFrame ${frame.sampleRate} Hz x${frame.channels} ${frame.sampleFormat}, declared ${output.sampleRate} Hz x${output.channels} ${output.sampleFormat}`);
  }
  const Type = output.sampleFormat === 's16' ? Int16Array : Float32Array;
  if (!(frame.data instanceof Type) || !Number.isInteger(frame.samples) || frame.samples < 0 || frame.data.length !== frame.samples * frame.channels) {
    throw new Invariant(`AudioFrame data ${frame.data?.constructor?.name}[${frame.data?.length}] for ${frame.samples} samples x${frame.channels} ${output.sampleFormat}`);
  }
  if (typeof frame.time !== 'number' || Number.isNaN(frame.time) || typeof frame.pts !== 'number' || Number.isNaN(frame.pts)) throw new Invariant(`AudioFrame time ${frame.time}, pts ${frame.pts}`);
}

function checkPacket(dec, packet, pass) {
  const copied = packet.kind === 'video-packet' ? pass.video === 'copy' : audioCopied(pass);
  if (!copied) throw new Invariant(`a ${packet.kind} with video ${pass.video ?? 'decode'}, audio ${JSON.stringify(pass.audio)}`);
  if (!(packet.data instanceof Uint8Array)) throw new Invariant(`${packet.kind}.data is ${packet.data?.constructor?.name}`);
  const { num, den } = packet.timeBase ?? {};
  if (!(Number.isInteger(num) && num > 0 && Number.isInteger(den) && den > 0)) throw new Invariant(`${packet.kind}.timeBase ${JSON.stringify(packet.timeBase)}`);
  for (const key of ['pts', 'dts', 'time']) {
    if (packet[key] !== null && (typeof packet[key] !== 'number' || Number.isNaN(packet[key]))) throw new Invariant(`${packet.kind}.${key} ${packet[key]}`);
  }
  if (typeof packet.duration !== 'number' || Number.isNaN(packet.duration) || typeof packet.keyFrame !== 'boolean') throw new Invariant(`${packet.kind} duration ${packet.duration}, keyFrame ${packet.keyFrame}`);
}

/** An item (or extractItemInto's description of one): 'video' or 'audio', for the counts. */
function checkItem(dec, item, pass, withData) {
  switch (item.kind) {
    case 'audio':
      checkAudioFrame(dec, item, pass);
      return 'audio';
    case 'audio-packet':
      checkPacket(dec, item, pass);
      return 'audio';
    case 'video-packet':
      checkPacket(dec, item, pass);
      return 'video';
    case 'video': case undefined:
      if (pass.video === 'copy') throw new Invariant('a decoded Frame with video: \'copy\'');
      checkFrame(dec, item, withData);
      return 'video';
    default:
      throw new Invariant(`an item of kind ${item.kind}`);
  }
}

let peakRss = 0;
function checkMemory(id) {
  const rss = process.memoryUsage.rss();
  peakRss = Math.max(peakRss, rss);
  if (rss > job.maxRss) {
    say(`M ${id} ${rss}`);
    process.exit(70);
  }
}

/** One read by `api`: the number of frames it gave (0 at the end), or for the item methods 'video', 'audio' or 0. */
async function readOnce(dec, api, target, pass, reader) {
  switch (api) {
    case 'item': case 'readItem': case 'iterate': {
      let item;
      if (api === 'item') item = dec.extractItem();
      else if (api === 'readItem') item = await dec.readItem();
      else {
        const next = await reader.iterator.next();
        item = next.done ? null : next.value;
      }
      if (item === null) return 0;
      if (typeof item !== 'object') throw new Invariant(`an item that is ${typeof item}`);
      return checkItem(dec, item, pass, true);
    }
    case 'itemInto': {
      let info;
      if (reader.short && reader.calls++ % 2 === 0) {
        // A buffer one byte short, ending where mapped memory ends: a video frame must be
        // refused (ERR_BUFFER_SIZE, and kept for the next call); sound and packets come back as usual.
        try {
          info = dec.extractItemInto(reader.short);
          if (info !== null && (info.kind === 'video' || info.kind === undefined)) throw new Invariant(`extractItemInto put a frame of ${dec.frameBytes} bytes into ${reader.short.length}`);
        } catch (error) {
          if (!(error instanceof StreamcoderError) || error.code !== 'ERR_BUFFER_SIZE') throw error;
          reader.refused++;
          info = dec.extractItemInto(target);
        }
      } else {
        info = dec.extractItemInto(target);
      }
      if (info === null) return 0;
      return checkItem(dec, info, pass, false);
    }
    case 'frame': case 'read': {
      const frame = api === 'frame' ? dec.extractFrame() : await dec.read();
      if (frame === null) return 0;
      checkFrame(dec, frame, true);
      return 1;
    }
    case 'into': case 'readInto': {
      const info = api === 'into' ? dec.extractFrameInto(target) : await dec.readInto(target);
      if (info === null) return 0;
      checkFrame(dec, info, false);
      return 1;
    }
    case 'gop': case 'readGop': {
      const gop = api === 'gop' ? dec.extractGOP() : await dec.readGOP();
      if (gop === null) return 0;
      if (!Array.isArray(gop) || gop.length === 0) throw new Invariant(`a GOP of ${gop?.length} frames`);
      for (const frame of gop) checkFrame(dec, frame, true);
      return gop.length;
    }
    default:
      throw new Error(`unknown api ${api}`);
  }
}

function describeError(error) {
  if (error instanceof Invariant) return `invariant: ${error.message}`;
  if (error instanceof Error) return `${error.name}${error.code ? ` (${error.code})` : ''}: ${error.message}`;
  return `thrown non-Error: ${String(error)}`;
}

// The code of each StreamcoderError, and the message of the first of each code (for --verbose).
function noteError(result, error) {
  result.errors.push(error.code);
  if (!result.messages.some((m) => m.startsWith(`${error.code}: `))) result.messages.push(`${error.code}: ${error.message.slice(0, 300)}`);
}

const ITEM_APIS = new Set(['item', 'itemInto', 'readItem', 'iterate']);

/** A non-negative integer counter of the decoder (audioSkipped, audioCorruptPackets...). */
function counter(dec, name) {
  const value = dec[name];
  if (!Number.isSafeInteger(value) || value < 0) throw new Invariant(`${name} is ${value}`);
  return value;
}

async function runPass(id, file, pass) {
  // frames: video frames (or copied video packets); audio: AudioFrames and audio packets.
  const result = { frames: 0, audio: 0, audioSkipped: 0, errors: [], messages: [] };
  const options = { pixelFormat: pass.pixelFormat, ...job.decoderOptions };
  if (pass.width) options.width = pass.width;
  if (pass.height) options.height = pass.height;
  if (pass.threads !== undefined) options.threads = pass.threads;
  if (pass.maxPixels !== undefined) options.maxPixels = pass.maxPixels;
  // A GOP may hold maxGopBytes by design (1 GiB by default): on top of a decoder of 33-megapixel
  // pictures (~0.8 GB, as the CLI's) that is past the memory bound, which is for memory no bound
  // explains. A pass that does not pick its own bound takes 256 MiB, so that a GOP pass over
  // huge pictures is judged by that bound.
  options.maxGopBytes = pass.maxGopBytes ?? GOP_BYTES;
  if (pass.audio !== undefined) options.audio = pass.audio;
  if (pass.video !== undefined) options.video = pass.video;
  const items = ITEM_APIS.has(pass.api);
  let dec = null;
  let reader = null;
  try {
    dec = pass.api.startsWith('read') || pass.api === 'iterate' ? await Decoder.open(file, options) : Decoder.openSync(file, options);
    checkInfo(dec, pass);
    const into = pass.api === 'into' || pass.api === 'readInto' || pass.api === 'itemInto';
    const target = into ? bufferAtMemoryEnd(Math.max(1, dec.frameBytes)) : null;
    reader = {
      iterator: pass.api === 'iterate' ? dec[Symbol.asyncIterator]() : null,
      short: pass.short && dec.frameBytes > 1 ? bufferAtMemoryEnd(dec.frameBytes - 1) : null,
      calls: 0,
      refused: 0,
    };
    const cap = dec.frameBytes > LARGE_FRAME_BYTES ? LARGE_FRAMES : MAX_FRAMES;
    const seekAfter = items ? (pass.seekAfter ?? 1) : 1;
    let seeked = pass.seek === undefined;
    // After an error the reader may go on (a corrupt packet is skipped); three in a row end the pass.
    for (let errorsInRow = 0; result.frames < cap && result.frames + result.audio < MAX_ITEMS && errorsInRow < 3; ) {
      let n;
      try {
        n = await readOnce(dec, pass.api, target, pass, reader);
      } catch (error) {
        if (!(error instanceof StreamcoderError)) throw error;
        noteError(result, error);
        errorsInRow++;
        continue;
      }
      if (n === 0) break;
      errorsInRow = 0;
      if (n === 'audio') result.audio++;
      else result.frames += n === 'video' ? 1 : n;
      say(`P ${id}`);
      checkMemory(id);
      if (!seeked && (items ? result.frames + result.audio : result.frames) >= seekAfter) {
        seeked = true;
        dec.seek(pass.seek);
      }
    }
    if (reader.iterator) await reader.iterator.return?.();
    // The frame methods deliver video only: whatever audio they pass over is counted, never queued.
    result.audioSkipped = counter(dec, 'audioSkipped');
    counter(dec, 'audioCorruptPackets');
    counter(dec, 'corruptPackets');
  } catch (error) {
    if (error instanceof StreamcoderError) noteError(result, error);
    else result.failure = describeError(error);
  } finally {
    try {
      dec?.close();
    } catch (error) {
      if (!(error instanceof StreamcoderError)) result.failure ??= `close: ${describeError(error)}`;
      else noteError(result, error);
    }
  }
  return result;
}

// Faults on purpose, for the harness's own test (test/fuzz.test.ts): real signals, a real hang,
// real memory, a cost no decode explains (for the amplification check), and a crash that shows only in the next job, as a heap overrun's would; the
// harness must classify each and pin it on the job that caused it.
let crashLater = false;
async function injectFault(fault, id) {
  if (fault === 'segv') process.kill(process.pid, 'SIGSEGV');
  if (fault === 'abort') process.abort();
  if (fault === 'hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  if (fault === 'crash-later') crashLater = true;
  if (fault === 'amplify') {
    // Two seconds of work and 600 MB touched that no decode explains.
    const held = Buffer.alloc(600 << 20, 1);
    const until = performance.now() + 2000;
    while (performance.now() < until) held[Math.floor(Math.random() * held.length)]++;
    checkMemory(id);
  }
  if (fault === 'memory') {
    const held = [];
    for (;;) {
      held.push(Buffer.alloc(32 << 20, 1));
      checkMemory(id);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

async function main() {
  setLogLevel('quiet');
  process.on('exit', () => {
    if (crashLater) process.kill(process.pid, 'SIGSEGV');
  });
  for (const { id, file, passes, fault } of job.jobs) {
    say(`S ${id}`);
    if (crashLater) process.kill(process.pid, 'SIGSEGV');
    const started = performance.now();
    peakRss = 0;
    const baseRss = process.memoryUsage.rss();
    if (fault) await injectFault(fault, id);
    const results = [];
    for (const pass of passes) results.push(await runPass(id, file, pass));
    // Collect now, so that a corrupted heap shows while this mutant is still the one named.
    global.gc?.();
    checkMemory(id);
    say(`D ${id} ${JSON.stringify({ passes: results, peakRss, baseRss, ms: Math.round(performance.now() - started) })}`);
  }
  say('E');
}

main().catch((error) => {
  say(`X ${JSON.stringify(describeError(error))}`);
  process.exit(71);
});
