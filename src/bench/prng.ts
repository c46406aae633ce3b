// A small seeded pseudo-random generator (xoshiro128**, seeded with splitmix32), so the synthetic
// trees of the benchmark are the same on every machine and every run.

/** Deterministic 32-bit generator; the same seed gives the same sequence everywhere. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
  }

  /** The next unsigned 32-bit value. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + (this.next() % (max - min + 1));
  }

  /** Fills `buffer` with pseudo-random bytes. */
  fill(buffer: Buffer): void {
    if (buffer.byteOffset % 4 !== 0) {
      for (let i = 0; i < buffer.length; i++) buffer[i] = this.next() & 0xff;
      return;
    }
    const words = Math.floor(buffer.length / 4);
    const view = new Uint32Array(buffer.buffer, buffer.byteOffset, words);
    for (let i = 0; i < words; i++) view[i] = this.next();
    for (let i = words * 4; i < buffer.length; i++) buffer[i] = this.next() & 0xff;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
