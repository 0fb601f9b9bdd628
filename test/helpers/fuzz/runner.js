// The fuzzer's child process (started by campaign.ts): decodes a batch of mutants through the
// public Decoder API of the compiled library, one pass after another, and says what happened on
// stdout, one line per event, written synchronously so that the last line before a crash names
// the mutant that was being decoded:
//   S <id>          starting mutant <id>
//   P <id>          a frame (or GOP) came out: progress, for the parent's hang timer
//   D <id> <json>   mutant <id> done: per pass, frames, StreamcoderError codes, failure; peak RSS, ms
//   M <id> <rss>    resident memory passed the bound: the process exits (code 70)
//   E               batch done
//   L <message>     the library did not load (exit code 72): no mutant ran
// Anything but a StreamcoderError is a failure; so is a frame that does not match what the
// decoder declared (size, format, buffer length). Plain JavaScript on dist/: starts fast, and runs
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

function checkInfo(dec, pass) {
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

let peakRss = 0;
function checkMemory(id) {
  const rss = process.memoryUsage.rss();
  peakRss = Math.max(peakRss, rss);
  if (rss > job.maxRss) {
    say(`M ${id} ${rss}`);
    process.exit(70);
  }
}

/** One read by `api`: the number of frames it gave (0 at the end). */
async function readOnce(dec, api, target) {
  switch (api) {
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

async function runPass(id, file, pass) {
  const result = { frames: 0, errors: [], messages: [] };
  const options = { pixelFormat: pass.pixelFormat, ...job.decoderOptions };
  if (pass.width) options.width = pass.width;
  if (pass.height) options.height = pass.height;
  if (pass.threads !== undefined) options.threads = pass.threads;
  if (pass.maxPixels !== undefined) options.maxPixels = pass.maxPixels;
  if (pass.maxGopBytes !== undefined) options.maxGopBytes = pass.maxGopBytes;
  let dec = null;
  try {
    dec = pass.api.startsWith('read') ? await Decoder.open(file, options) : Decoder.openSync(file, options);
    checkInfo(dec, pass);
    const target = pass.api === 'into' || pass.api === 'readInto' ? bufferAtMemoryEnd(dec.frameBytes) : null;
    const cap = dec.frameBytes > LARGE_FRAME_BYTES ? LARGE_FRAMES : MAX_FRAMES;
    // After an error the reader may go on (a corrupt packet is skipped); three in a row end the pass.
    for (let errorsInRow = 0; result.frames < cap && errorsInRow < 3; ) {
      let n;
      try {
        n = await readOnce(dec, pass.api, target);
      } catch (error) {
        if (!(error instanceof StreamcoderError)) throw error;
        noteError(result, error);
        errorsInRow++;
        continue;
      }
      if (n === 0) break;
      errorsInRow = 0;
      const before = result.frames;
      result.frames += n;
      say(`P ${id}`);
      checkMemory(id);
      if (pass.seek !== undefined && before === 0) dec.seek(pass.seek);
    }
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
// real memory, and a crash that shows only in the next job, as a heap overrun's would; the
// harness must classify each and pin it on the job that caused it.
let crashLater = false;
async function injectFault(fault, id) {
  if (fault === 'segv') process.kill(process.pid, 'SIGSEGV');
  if (fault === 'abort') process.abort();
  if (fault === 'hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  if (fault === 'crash-later') crashLater = true;
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
    if (fault) await injectFault(fault, id);
    const results = [];
    for (const pass of passes) results.push(await runPass(id, file, pass));
    // Collect now, so that a corrupted heap shows while this mutant is still the one named.
    global.gc?.();
    checkMemory(id);
    say(`D ${id} ${JSON.stringify({ passes: results, peakRss, ms: Math.round(performance.now() - started) })}`);
  }
  say('E');
}

main().catch((error) => {
  say(`X ${JSON.stringify(describeError(error))}`);
  process.exit(71);
});
