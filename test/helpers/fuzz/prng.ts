// A small seeded PRNG, so that every mutant is a pure function of (campaign seed, mutant index):
// `npm run fuzz -- --seed S --only I` rebuilds mutant I exactly, on any machine, in any order.
// Math.random cannot be seeded; crypto is overkill. sfc32 seeded through splitmix32 is fast and
// statistically fine for choosing mutations.

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** The generator of mutant `index` in the campaign `seed`. */
  static for(seed: number, index: number, stream = 0): Random {
    const mix = splitmix32((seed >>> 0) ^ Math.imul(index + 1, 0x27d4eb2f) ^ Math.imul(stream + 1, 0x165667b1));
    return new Random(mix(), mix(), mix(), mix());
  }

  private constructor(a: number, b: number, c: number, d: number) {
    this.#a = a;
    this.#b = b;
    this.#c = c;
    this.#d = d | 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    if (n <= 0) throw new RangeError(`Random.below(${n})`);
    return Math.floor((this.next() / 0x1_0000_0000) * n);
  }

  /** An integer in [lo, hi], both included. */
  between(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /** One of `choices`, each with its weight. */
  weighted<T>(choices: readonly (readonly [T, number])[]): T {
    const total = choices.reduce((sum, [, w]) => sum + w, 0);
    let at = (this.next() / 0x1_0000_0000) * total;
    for (const [value, w] of choices) {
      if (at < w) return value;
      at -= w;
    }
    return choices[choices.length - 1][0];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}
