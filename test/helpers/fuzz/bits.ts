// Bit-level reading and writing for the header rewriters: H.264/HEVC parameter sets are
// exp-Golomb coded and escaped against start-code emulation; MPEG-2, MPEG-4 part 2, VP9 and AV1
// headers put sizes at arbitrary bit offsets.

export class BitReader {
  readonly bytes: Uint8Array;
  /** Position in bits from the start of `bytes`. */
  pos: number;

  constructor(bytes: Uint8Array, bitOffset = 0) {
    this.bytes = bytes;
    this.pos = bitOffset;
  }

  get bitsLeft(): number {
    return this.bytes.length * 8 - this.pos;
  }

  bit(): number {
    if (this.pos >= this.bytes.length * 8) throw new RangeError('read past the end of the bits');
    const value = (this.bytes[this.pos >> 3] >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return value;
  }

  /** An unsigned n-bit value, n up to 32. */
  u(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = value * 2 + this.bit();
    return value;
  }

  skip(n: number): void {
    if (this.pos + n > this.bytes.length * 8) throw new RangeError('skip past the end of the bits');
    this.pos += n;
  }

  /** Unsigned exp-Golomb, ue(v). */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new RangeError('exp-Golomb code longer than 32 bits');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** Signed exp-Golomb, se(v). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

export class BitWriter {
  readonly #bits: number[] = [];

  get length(): number {
    return this.#bits.length;
  }

  u(n: number, value: number): this {
    for (let i = n - 1; i >= 0; i--) this.#bits.push(Math.floor(value / 2 ** i) % 2);
    return this;
  }

  ue(value: number): this {
    const v = value + 1;
    const len = Math.floor(Math.log2(v)) + 1;
    this.u(len - 1, 0);
    return this.u(len, v);
  }

  se(value: number): this {
    return this.ue(value > 0 ? 2 * value - 1 : -2 * value);
  }

  /** Copies bits [from, to) of `reader`'s bytes. */
  copy(reader: BitReader, from: number, to: number): this {
    const r = new BitReader(reader.bytes, from);
    for (let i = from; i < to; i++) this.#bits.push(r.bit());
    return this;
  }

  /** The bits, zero-padded to whole bytes. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.#bits.length / 8));
    this.#bits.forEach((b, i) => {
      if (b) out[i >> 3] |= 0x80 >> (i & 7);
    });
    return out;
  }
}

/** Removes the emulation-prevention bytes (00 00 03 -> 00 00) of a NAL unit's payload. */
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** Inserts emulation-prevention bytes so that no start code appears inside a NAL unit. */
export function escapeRbsp(rbsp: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const byte of rbsp) {
    if (zeros >= 2 && byte <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(byte);
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** Position of the rbsp stop bit: the last 1 bit of `rbsp`, or -1. */
export function stopBitPosition(rbsp: Uint8Array): number {
  for (let i = rbsp.length - 1; i >= 0; i--) {
    if (rbsp[i] !== 0) return i * 8 + 7 - Math.log2(rbsp[i] & -rbsp[i]);
  }
  return -1;
}

/** Writes `value` as an n-bit big-endian field at bit offset `pos` of `bytes` (in place). */
export function writeBitsAt(bytes: Uint8Array, pos: number, n: number, value: number): void {
  for (let i = 0; i < n; i++) {
    const bit = Math.floor(value / 2 ** (n - 1 - i)) % 2;
    const at = pos + i;
    const mask = 0x80 >> (at & 7);
    bytes[at >> 3] = bit ? bytes[at >> 3] | mask : bytes[at >> 3] & ~mask;
  }
}

/** Reads an n-bit big-endian field at bit offset `pos`. */
export function readBitsAt(bytes: Uint8Array, pos: number, n: number): number {
  return new BitReader(bytes, pos).u(n);
}
