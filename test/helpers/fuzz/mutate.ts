// Mutant N of campaign S: a seed, picked and changed by Random.for(S, N). Structure-aware
// changes (a header that declares another size, bits flipped inside the size fields, timestamps,
// time bases and sample sizes set to edge values, MP4 box sizes) and blind ones (bit flips, interesting values, inserts, deletes, duplicated chunks,
// truncation, splices of two seeds). Each step says what it did, so a finding can be read.
import { fixChecksums } from './container-checksums';
import { mp4Boxes, walkMp4 } from './container-resize';
import type { DimensionField } from './header-fields';
import type { Random } from './prng';
import type { Seed } from './seeds';
import { writeTiming } from './timing-fields';

export interface Mutant {
  seed: Seed;
  bytes: Uint8Array;
  /** What was done, in order, e.g. `h264-sps@2405 := 1081x17`, `flip bit 3 @120`. */
  steps: string[];
}

const SMALL = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17];
const ODD = [33, 63, 65, 127, 129, 255, 257, 361, 601, 1079, 1081, 1919];
// Sizes of real videos, among them those the scaler overran at (360x640, 600x400, 1080x1920).
const REAL = [352, 360, 400, 480, 600, 640, 720, 1080, 1280, 1920];
const HUGE = [4095, 4096, 8191, 8192, 16383, 16384, 16385, 32767, 65535];

/** A side for a size field: small, odd, real-world, huge, zero, near the original. */
export function pickDimension(random: Random, original: number, max: number, signed = false): number {
  const kind = random.weighted([['small', 25], ['odd', 20], ['oddList', 12], ['real', 12], ['near', 18], ['huge', 5], ['max', 3], ['any', 5]] as const);
  let value: number;
  switch (kind) {
    case 'small': value = random.pick(SMALL); break;
    case 'odd': value = 2 * random.below(128) + 1; break;
    case 'oddList': value = random.pick(ODD); break;
    case 'real': value = random.pick(REAL); break;
    case 'near': value = random.pick([original - 1, original + 1, original - 2, original + 2, original + 3, original * 2 + 1, original * 2 - 1, original >> 1, original * 3]); break;
    case 'huge': value = random.pick(HUGE); break;
    case 'max': value = max; break;
    default: value = random.below(Math.min(max, 4096) + 1);
  }
  value = Math.max(0, Math.min(max, value));
  return signed && random.chance(0.05) ? -Math.max(1, value) : value;
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40];
const INTERESTING_16 = [0, 1, 0x7fff, 0x8000, 0xffff, 0x0100, 0x00ff, 0x1000];
const INTERESTING_32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 0xffff, 0x100];

/** A byte position, near a size field now and then: that is where the crashes were. */
function position(random: Random, length: number, fields: readonly DimensionField[]): number {
  if (fields.length > 0 && random.chance(0.4)) {
    const near = random.pick(fields).offset + random.between(-48, 48);
    return Math.max(0, Math.min(length - 1, near));
  }
  return random.below(length);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

type Step = (buf: Uint8Array, random: Random, seed: Seed, seeds: readonly Seed[]) => [Uint8Array, string] | null;

const BLIND_STEPS: readonly (readonly [Step, number])[] = [
  [(buf, r, s) => {
    const at = position(r, buf.length, s.fields);
    const bit = r.below(8);
    const out = buf.slice();
    out[at] ^= 1 << bit;
    return [out, `flip bit ${bit} @${at}`];
  }, 20],
  [(buf, r, s) => {
    const at = position(r, buf.length, s.fields);
    const value = r.chance(0.7) ? r.pick(INTERESTING_8) : r.below(256);
    const out = buf.slice();
    out[at] = value;
    return [out, `byte @${at} := 0x${value.toString(16)}`];
  }, 15],
  [(buf, r, s) => {
    const wide = r.chance(0.5);
    const size = wide ? 4 : 2;
    if (buf.length < size) return null;
    const at = Math.min(position(r, buf.length, s.fields), buf.length - size);
    const little = r.chance(0.5);
    const value = r.pick(wide ? INTERESTING_32 : INTERESTING_16);
    const out = buf.slice();
    const view = new DataView(out.buffer);
    if (wide) view.setUint32(at, value, little);
    else view.setUint16(at, value, little);
    return [out, `u${size * 8}${little ? 'le' : 'be'} @${at} := 0x${value.toString(16)}`];
  }, 12],
  [(buf, r, s) => {
    const at = position(r, buf.length, s.fields);
    const delta = r.pick([-1, 1]) * r.between(1, 35);
    const out = buf.slice();
    out[at] = (out[at] + delta) & 0xff;
    return [out, `byte @${at} += ${delta}`];
  }, 8],
  [(buf, r, s) => {
    const at = position(r, buf.length, s.fields);
    const n = r.between(1, 16);
    const bytes = r.chance(0.5) ? r.bytes(n) : new Uint8Array(n).fill(r.pick(INTERESTING_8));
    return [concat(buf.subarray(0, at), bytes, buf.subarray(at)), `insert ${n} bytes @${at}`];
  }, 8],
  [(buf, r, s) => {
    const at = position(r, buf.length, s.fields);
    const n = Math.min(buf.length - at, r.between(1, r.chance(0.8) ? 16 : 256));
    return [concat(buf.subarray(0, at), buf.subarray(at + n)), `delete ${n} bytes @${at}`];
  }, 8],
  [(buf, r) => {
    const from = r.below(buf.length);
    const n = Math.min(buf.length - from, r.between(1, 512));
    const to = r.below(buf.length + 1);
    return [concat(buf.subarray(0, to), buf.subarray(from, from + n), buf.subarray(to)), `duplicate ${n} bytes @${from} to @${to}`];
  }, 6],
  [(buf, r) => {
    const from = r.below(buf.length);
    const n = Math.min(buf.length - from, r.between(1, 256));
    const to = r.below(buf.length - n + 1);
    const out = buf.slice();
    out.set(buf.slice(from, from + n), to);
    return [out, `copy ${n} bytes @${from} over @${to}`];
  }, 6],
  [(buf, r, s) => {
    const at = position(r, buf.length, s.fields);
    const n = Math.min(buf.length - at, r.between(1, 16));
    const out = buf.slice();
    out.set(r.bytes(n), at);
    return [out, `randomise ${n} bytes @${at}`];
  }, 6],
  [(buf, r) => {
    if (buf.length < 64) return null;
    const at = r.between(32, buf.length - 1);
    return [buf.slice(0, at), `truncate to ${at} bytes`];
  }, 4],
  [(buf, r, s, seeds) => {
    // The head of this file and the tail of another in the same container.
    const others = seeds.filter((o) => o !== s && o.container === s.container);
    if (others.length === 0) return null;
    const other = r.pick(others);
    const at = r.below(buf.length);
    const from = r.below(other.bytes.length);
    return [concat(buf.subarray(0, at), other.bytes.subarray(from)), `splice @${at} with ${other.name} from @${from}`];
  }, 3],
];

/** Structure-aware: size fields declare another size (one field, one kind of field, or all of them). */
function setDimensions(buf: Uint8Array, random: Random, seed: Seed): [Uint8Array, string] | null {
  if (seed.fields.length === 0) return null;
  const first = random.pick(seed.fields);
  const kind = first.name.split('@')[0];
  const scope = random.weighted([['one', 55], ['kind', 30], ['all', 15]] as const);
  const chosen = scope === 'one' ? [first] : scope === 'kind' ? seed.fields.filter((f) => f.name.startsWith(`${kind}@`)) : seed.fields;
  const sides = random.weighted([['both', 50], ['width', 35], ['height', 15]] as const);
  const max = Math.min(...chosen.map((f) => f.max));
  const signed = chosen.every((f) => f.signed);
  const width = sides === 'height' ? null : pickDimension(random, seed.width, max, signed);
  const height = sides === 'width' ? null : pickDimension(random, seed.height, max, signed);
  let out: Uint8Array | null = buf;
  const done: string[] = [];
  // From the last field to the first: a field that grows the file moves only what follows it.
  for (const field of [...chosen].sort((a, b) => b.offset - a.offset)) {
    const next = field.write(out, width, height, random);
    if (next === null) continue;
    out = next;
    done.push(field.name);
  }
  if (done.length === 0) return null;
  return [out, `${done.reverse().join(',')} := ${width ?? '_'}x${height ?? '_'}`];
}

/** Structure-aware: a few bits flipped inside one size field (and just around it). */
function flipSizeBits(buf: Uint8Array, random: Random, seed: Seed): [Uint8Array, string] | null {
  if (seed.fields.length === 0) return null;
  const field = random.pick(seed.fields);
  const out = buf.slice();
  const flips: number[] = [];
  for (let n = random.between(1, 3); n > 0; n--) {
    const bit = field.offset * 8 + random.below(8 * 12);
    if (bit >= out.length * 8) continue;
    out[bit >> 3] ^= 0x80 >> (bit & 7);
    flips.push(bit);
  }
  return flips.length ? [out, `flip bits ${flips.join(',')} in ${field.name}`] : null;
}

/** Structure-aware: one to three timing or packet-size fields (or every one of a kind) set to edge values. */
function setTiming(buf: Uint8Array, random: Random, seed: Seed): [Uint8Array, string] | null {
  if (seed.timing.length === 0) return null;
  const first = random.pick(seed.timing);
  const kind = first.name.split('@')[0];
  const chosen = random.chance(0.3) ? seed.timing.filter((f) => f.name.startsWith(`${kind}@`)) : [first, ...Array.from({ length: random.below(3) }, () => random.pick(seed.timing))];
  let out = buf;
  const done: string[] = [];
  for (const f of chosen) {
    const step = writeTiming(out, f, random);
    if (step === null) continue;
    out = step[0];
    done.push(step[1]);
  }
  return done.length ? [out, done.join(', ')] : null;
}

/** Structure-aware: an MP4 box size set to a value that lies. */
function setBoxSize(buf: Uint8Array, random: Random, seed: Seed): [Uint8Array, string] | null {
  if (seed.container !== 'mp4') return null;
  const boxes = [...walkMp4(mp4Boxes(buf))];
  if (boxes.length === 0) return null;
  const box = random.pick(boxes);
  const value = random.pick([0, 1, 7, 8, box.size - 1, box.size + 1, box.size * 2, 0x7fffffff, 0xffffffff]) >>> 0;
  const out = buf.slice();
  new DataView(out.buffer).setUint32(box.start, value);
  return [out, `${box.type} box @${box.start} size := ${value}`];
}

function blind(buf: Uint8Array, random: Random, seed: Seed, seeds: readonly Seed[]): [Uint8Array, string] | null {
  return random.weighted(BLIND_STEPS)(buf, random, seed, seeds);
}

/** A mutant of one of `seeds`, all choices made by `random` (Random.for(campaign seed, index)). */
export function makeMutant(seeds: readonly Seed[], random: Random): Mutant {
  const seed = random.pick(seeds);
  let bytes = seed.bytes;
  const steps: string[] = [];
  const apply = (step: [Uint8Array, string] | null) => {
    if (step === null || step[0].length === 0) return;
    bytes = step[0];
    steps.push(step[1]);
  };
  const plan = random.weighted([['size', 36], ['size+blind', 16], ['sizebits', 8], ['timing', 10], ['size+timing', 4], ['box', 4], ['blind', 22]] as const);
  // Structure-aware steps first, on the seed's own layout; blind ones after, which may move it.
  // Timing first: its fields keep their length, so the size fields' offsets stay valid after it.
  if (plan === 'timing' || plan === 'size+timing') apply(setTiming(bytes, random, seed));
  if (plan === 'size' || plan === 'size+blind' || plan === 'size+timing') {
    apply(setDimensions(bytes, random, seed));
    // A second size only while the layout is still the seed's (a grown SPS moves what follows).
    if (random.chance(0.2) && bytes.length === seed.bytes.length) apply(setDimensions(bytes, random, seed));
  }
  if (plan === 'sizebits') apply(flipSizeBits(bytes, random, seed));
  if (plan === 'box') apply(setBoxSize(bytes, random, seed));
  if (plan === 'blind' || plan === 'size+blind' || steps.length === 0) {
    // 1 to 6 blind steps, fewer more often.
    let n = 1;
    while (n < 6 && random.chance(0.45)) n++;
    for (let i = 0; i < n; i++) apply(blind(bytes, random, seed, seeds));
  }
  // Mostly with checksums made right, so the change reaches the decoder; now and then not.
  if (random.chance(0.85)) {
    const fixed = fixChecksums(seed.container, bytes);
    if (fixed) apply([fixed, 'checksums recomputed']);
  }
  return { seed, bytes, steps };
}
