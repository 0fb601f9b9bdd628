// Runs the buffer-safety sweeps (test/buffer-safety-*.test.ts) in a child process of their own,
// on the compiled library: a write past a picture that ends where mapped memory ends is a
// SIGSEGV, and an overrun of a buffer the library allocated is a malloc abort, either of which
// would kill the test runner instead of failing a test. The parent (test/helpers/sweep.ts)
// starts this script, reads one line per case from its stdout, and after a crash names the case
// that was running and starts a fresh child at the next one.
//
//   node --expose-gc --single-threaded-gc buffer-safety-runner.js <cases.json> <first> <gcEvery> [<last>]
//
// Output lines (written synchronously, so they survive a crash):
//   start <i>                 case i begins
//   fail <i> <op> <message>   a check failed (the case goes on with its next operation)
//   md5 <i> <frame> <hex>     md5 of frame k of case i (cases with `md5: true`), for the parent to
//                             compare with the ffmpeg CLI
//   end <i>                   case i is over
//   gc <i>                    a full collection after case i found nothing: every frame the
//                             library allocated up to here was freed without a malloc complaint
//   runner done
//
// With --single-threaded-gc, gc() frees the memory of collected ArrayBuffers before it returns,
// and the parent preloads glibc's malloc checker (libc_malloc_debug, glibc.malloc.check=3), which
// aborts on free() when the bytes just past an allocation were overwritten: an overrun of a frame
// that extractFrame()/read() allocated is found at the next collection, not by luck.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { packedBytes } = require('./packed-bytes');

const { Decoder, Encoder, Server } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const [casesFile, firstArg, gcEveryArg, lastArg] = process.argv.slice(2);
const cases = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
const first = Number(firstArg ?? 0);
const gcEvery = Number(gcEveryArg ?? 64);
const last = lastArg === undefined ? cases.length - 1 : Math.min(Number(lastArg), cases.length - 1);

function line(text) {
  fs.writeSync(1, `${text}\n`);
}

// Guard bytes: the length of the guard zones, and a pattern that changes from byte to byte and
// from buffer to buffer (a stray write of any constant value is seen; so is a read of guard bytes
// that ends up in an encoded picture, since two encodes of one picture see different guards).
const GUARD = 256;
let guardSeed = 1;
function fillGuard(bytes) {
  let s = (guardSeed = (guardSeed * 69069 + 1) >>> 0);
  for (let i = 0; i < bytes.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    bytes[i] = s >>> 24;
  }
}

/** The bytes of `zone` that differ from `copy`: '' if none, else where and how many. */
function changed(zone, copy, name) {
  let count = 0;
  let firstAt = -1;
  let lastAt = -1;
  for (let i = 0; i < zone.length; i++) {
    if (zone[i] !== copy[i]) {
      if (firstAt < 0) firstAt = i;
      lastAt = i;
      count++;
    }
  }
  return count === 0 ? '' : `${count} guard bytes ${name} the picture changed (offsets ${firstAt}..${lastAt} of the ${zone.length}-byte zone)`;
}

// The end of mapped memory: a WebAssembly.Memory's buffer is followed by pages V8 keeps
// inaccessible, so an access past its last byte is a SIGSEGV (see test/helpers/guarded-memory.ts).
// One memory, grown when a bigger picture needs it.
const WASM_PAGE = 65536;
let memory = null;
function atMemoryEnd(bytes) {
  const pages = Math.ceil((bytes + GUARD) / WASM_PAGE);
  if (memory === null) memory = new WebAssembly.Memory({ initial: pages, maximum: 65536 });
  const have = memory.buffer.byteLength / WASM_PAGE;
  if (have < pages) memory.grow(pages - have);
  const end = memory.buffer.byteLength;
  return new Uint8Array(memory.buffer, end - bytes, bytes);
}

/**
 * A picture-sized view of the given kind, with guard zones filled: `plain` (a Uint8Array at the
 * start of its own ArrayBuffer, guard after), `offset` (at an odd offset inside a bigger
 * ArrayBuffer, guards before and after), `shared` (the same in a SharedArrayBuffer), `memend`
 * (ending exactly where mapped memory ends; guard before it only, since nothing follows).
 * `check()` says what changed in the guard zones.
 */
function makeTarget(kind, bytes, salt) {
  const before = kind === 'plain' ? 0 : GUARD + 1 + (salt % 15);  // odd and even offsets
  if (kind === 'memend') {
    const region = atMemoryEnd(GUARD + before + bytes);
    const zone = new Uint8Array(region.buffer, region.byteOffset, GUARD + before);
    const view = new Uint8Array(region.buffer, region.byteOffset + GUARD + before, bytes);
    if (view.byteOffset + view.length !== memory.buffer.byteLength) throw new Error('memend view does not end where memory ends');
    fillGuard(zone);
    const copy = zone.slice();
    return { view, check: () => changed(zone, copy, 'before') };
  }
  const total = before + bytes + GUARD;
  const buffer = kind === 'shared' ? new SharedArrayBuffer(total) : new ArrayBuffer(total);
  const view = new Uint8Array(buffer, before, bytes);
  const head = new Uint8Array(buffer, 0, before);
  const tail = new Uint8Array(buffer, before + bytes, GUARD);
  fillGuard(head);
  fillGuard(tail);
  const headCopy = head.slice();
  const tailCopy = tail.slice();
  return { view, check: () => [changed(head, headCopy, 'before'), changed(tail, tailCopy, 'after')].filter(Boolean).join('; ') };
}

function md5(bytes) {
  return crypto.createHash('md5').update(bytes).digest('hex');
}

// Allocation-heavy work after frames the library allocated: without the malloc checker, this is
// where glibc most often notices a corrupted chunk header.
function churn() {
  const keep = [];
  for (let i = 0; i < 16; i++) keep.push(Buffer.alloc(64 + i * 97));
  return keep.length;
}

// Whether an op since the last collection had the library allocate a frame.
let allocated = false;

// ---- decode -------------------------------------------------------------------------------

/**
 * Decode case: { id, src: { path, format?, formatOptions? }, out: { pixelFormat, width?, height? },
 *   w, h (the expected output size), ops: ['into.sync.plain', 'frame.async', 'gop.sync', ...],
 *   md5?, ref? }
 * Each op takes the next frame (a GOP op: the next group) from one decoder. With `md5` (true, or
 * a number of frames), the md5 of every frame (or of the first `md5` frames) is reported, for the parent to compare with the ffmpeg CLI's; with `ref`, a
 * second decoder with the same options reads the same frames with extractFrameInto into roomy
 * memory, and every op's pixels must equal them.
 */
async function decodeCase(i, c) {
  const options = { ...c.out, format: c.src.format, formatOptions: c.src.formatOptions };
  const dec = Decoder.openSync(c.src.path, options);
  const ref = c.ref ? Decoder.openSync(c.src.path, options) : null;
  try {
    const bytes = packedBytes(c.out.pixelFormat, c.w, c.h);
    if (dec.frameBytes !== bytes) line(`fail ${i} open frameBytes is ${dec.frameBytes}, expected ${bytes}`);
    if (dec.info.width !== c.w || dec.info.height !== c.h) line(`fail ${i} open info says ${dec.info.width}x${dec.info.height}, expected ${c.w}x${c.h}`);
    const roomy = ref === null ? null : new Uint8Array(bytes + 4096);
    let frameNo = 0;
    // Checks one delivered frame: its description and size, its md5 reported, its pixels
    // against the reference decoder's.
    const delivered = (op, data, info) => {
      if (info.width !== c.w || info.height !== c.h || info.pixelFormat !== c.out.pixelFormat) {
        line(`fail ${i} ${op} frame says ${info.width}x${info.height} ${info.pixelFormat}`);
      }
      if (data.length !== bytes) line(`fail ${i} ${op} ${data.length} bytes, expected ${bytes}`);
      if (c.md5 === true || frameNo < c.md5) line(`md5 ${i} ${frameNo} ${md5(data)}`);
      frameNo++;
      if (ref === null) return;
      const refInfo = ref.extractFrameInto(roomy);
      if (refInfo === null) {
        line(`fail ${i} ${op} the reference decoder ended first`);
        return;
      }
      const expected = roomy.subarray(0, bytes);
      if (data.length === bytes && Buffer.compare(Buffer.from(data.buffer, data.byteOffset, data.length), Buffer.from(expected.buffer, 0, bytes)) !== 0) {
        let diff = 0;
        for (let k = 0; k < bytes; k++) if (data[k] !== expected[k]) diff++;
        line(`fail ${i} ${op} ${diff} of ${bytes} picture bytes differ from the reference decode`);
      }
    };
    let salt = i;
    for (const op of c.ops) {
      const [how, mode, kind] = op.split('.');
      if (how === 'into') {
        const target = makeTarget(kind, bytes, salt++);
        const info = mode === 'sync' ? dec.extractFrameInto(target.view) : await dec.readInto(target.view);
        if (info === null) {
          line(`fail ${i} ${op} the stream ended early`);
          break;
        }
        const guards = target.check();
        if (guards) line(`fail ${i} ${op} ${guards}`);
        delivered(op, target.view, info);
      } else if (how === 'frame') {
        allocated = true;
        const frame = mode === 'sync' ? dec.extractFrame() : await dec.read();
        if (frame === null) {
          line(`fail ${i} ${op} the stream ended early`);
          break;
        }
        delivered(op, frame.data, frame);
        churn();
      } else if (how === 'gop') {
        allocated = true;
        const gop = mode === 'sync' ? dec.extractGOP() : await dec.readGOP();
        if (gop === null || gop.length === 0) {
          line(`fail ${i} ${op} the stream ended early`);
          break;
        }
        for (const frame of gop) delivered(op, frame.data, frame);
        churn();
      } else {
        throw new Error(`unknown op ${op}`);
      }
    }
  } finally {
    dec.close();
    if (ref !== null) ref.close();
  }
}

// ---- encode -------------------------------------------------------------------------------

/** A picture of pseudo-random bytes, the same for the same size and format. */
function picture(pixelFormat, w, h) {
  const bytes = new Uint8Array(packedBytes(pixelFormat, w, h));
  let s = (w * 65537 + h * 257 + pixelFormat.length) >>> 0;
  for (let k = 0; k < bytes.length; k++) {
    s = (s * 1103515245 + 12345) >>> 0;
    bytes[k] = s >>> 24;
  }
  return bytes;
}

/**
 * Encode case: { id, w, h, pixelFormat, codec, format, file, writer: 'encoder' | 'server',
 *   ops: ['sync.plain', 'async.memend', 'block.shared', ...], close: 'sync' | 'async', keep? }
 * Every op writes the same picture from a fresh buffer of its kind; the output's frames must then
 * all be the same picture (the parent checks kept files with the ffmpeg CLI). The picture and its
 * guards must come back untouched. Kept files get the input picture beside them (`.input`).
 */
async function encodeCase(i, c) {
  const source = picture(c.pixelFormat, c.w, c.h);
  const options = { width: c.w, height: c.h, pixelFormat: c.pixelFormat, codec: c.codec, format: c.format, frameRate: 1000 };
  const writer = c.writer === 'server' ? Server.openSync(c.file, options) : Encoder.openSync(c.file, options);
  let closed = false;
  try {
    if (writer.frameBytes !== source.length) line(`fail ${i} open frameBytes is ${writer.frameBytes}, expected ${source.length}`);
    let salt = i;
    for (const op of c.ops) {
      const [mode, kind] = op.split('.');
      const target = makeTarget(kind, source.length, salt++);
      target.view.set(source);
      if (c.writer === 'server') {
        if (mode === 'sync') writer.serveFrame(target.view);
        else if (mode === 'async') await writer.serve(target.view);
        else if (mode === 'block') writer.serveFrameBlock(target.view);
        else await writer.serveBlock(target.view);
      } else if (mode === 'sync') writer.encodeFrame(target.view);
      else await writer.encode(target.view);
      const guards = target.check();
      if (guards) line(`fail ${i} ${op} ${guards}`);
      if (Buffer.compare(Buffer.from(target.view.buffer, target.view.byteOffset, target.view.length), Buffer.from(source)) !== 0) {
        line(`fail ${i} ${op} the caller's picture was changed`);
      }
    }
    if (c.close === 'sync') writer.closeSync();
    else await writer.close();
    closed = true;
    if (writer.stats.frames !== c.ops.length) line(`fail ${i} close stats.frames is ${writer.stats.frames}, expected ${c.ops.length}`);
  } finally {
    if (!closed) writer.closeSync();
  }
  if (c.keep) fs.writeFileSync(`${c.file}.input`, source);
  else fs.rmSync(c.file, { force: true });
}

async function main() {
  for (let i = first; i <= last; i++) {
    line(`start ${i}`);
    const c = cases[i];
    try {
      if (c.ops && c.src) await decodeCase(i, c);
      else await encodeCase(i, c);
    } catch (error) {
      line(`fail ${i} threw ${String(error && error.stack || error).split('\n').slice(0, 2).join(' / ').replace(/\s+/g, ' ')}`);
    }
    line(`end ${i}`);
    if ((i + 1 - first) % gcEvery === 0 || i === last) {
      // Only frames the library allocated need a collection to be checked (a full one costs
      // ~10 ms); the guard zones of the caller's buffers are checked by the op itself.
      if (allocated) global.gc();
      allocated = false;
      line(`gc ${i}`);
    }
  }
  line('runner done');
}

main().catch((error) => {
  line(`runner failed ${String(error && error.stack || error).replace(/\s+/g, ' ')}`);
  process.exit(1);
});
