/**
 * Small, fast, seeded pseudo-random generator: xoshiro128** (Blackman & Vigna) seeded through
 * splitmix32. Deterministic across platforms, so bootstrap results are reproducible from the seed.
 */

import { binomPmf } from "./distributions.js";

export type Seed = number | string;

const TWO_32 = 4294967296;
const TWO_53 = 9007199254740992;

/** 32-bit FNV-1a of a string, to accept readable seeds such as a run id. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare = Number.NaN;

  constructor(seed: Seed = 0) {
    let lo: number;
    let hi: number;
    if (typeof seed === "string") {
      lo = hashString(seed);
      hi = hashString(`${seed}\u0000`);
    } else {
      if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`);
      // Use the integer part's low and high words so that large integer seeds stay distinct.
      const t = Math.trunc(seed);
      lo = t >>> 0;
      hi = Math.floor(t / TWO_32) >>> 0;
    }
    // splitmix32 expands the seed words into a state that is never all zero.
    let a = (lo ^ Math.imul(hi, 0x9e3779b9)) | 0;
    const next = (): number => {
      a = (a + 0x9e3779b9) | 0;
      let t = a ^ (a >>> 16);
      t = Math.imul(t, 0x21f0aaad);
      t ^= t >>> 15;
      t = Math.imul(t, 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    // State words are kept as int32 so V8 stores them unboxed.
    this.s0 = next() | 0;
    this.s1 = (next() ^ hi) | 0;
    this.s2 = next() | 0;
    this.s3 = next() | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_53;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  integer(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n))
      throw new RangeError(`integer(n) needs a positive integer, got ${n}`);
    if (n <= 2097152) {
      // Lemire's multiply-shift; x·n stays below 2^53, so the product is exact.
      let m = this.nextUint32() * n;
      let low = m >>> 0; // m mod 2^32, exact since m < 2^53
      if (low < n) {
        const threshold = (TWO_32 - n) % n;
        while (low < threshold) {
          m = this.nextUint32() * n;
          low = m >>> 0;
        }
      }
      return Math.floor(m / TWO_32);
    }
    if (n <= TWO_32) {
      // Rejection on the smallest covering power of two.
      const bits = Math.ceil(Math.log2(n));
      const mask = bits >= 32 ? TWO_32 - 1 : 2 ** bits - 1;
      for (;;) {
        const r = bits >= 32 ? this.nextUint32() : this.nextUint32() & mask;
        if (r < n) return r;
      }
    }
    // Beyond 2^32 the bias of a 53-bit draw is below 2^-21 per value; such sizes do not occur here.
    return Math.floor(this.uniform() * n);
  }

  /**
   * Fills out with uniform integers in [0, n) (same stream as repeated integer(n) calls), keeping the
   * generator state in locals: the bootstrap inner loop.
   */
  fillIntegers(out: Uint32Array | Int32Array | Float64Array, n: number): void {
    if (!(n >= 1) || !Number.isInteger(n) || n > 2097152) {
      for (let i = 0; i < out.length; i++) out[i] = this.integer(n);
      return;
    }
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    let threshold = -1;
    for (let i = 0; i < out.length; i++) {
      for (;;) {
        const mm = Math.imul(s1, 5);
        const x = Math.imul((mm << 7) | (mm >>> 25), 9) >>> 0;
        const t = s1 << 9;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 11) | (s3 >>> 21);
        const m = x * n;
        const low = m >>> 0; // m mod 2^32, exact since m < 2^53
        if (low < n) {
          if (threshold < 0) threshold = (TWO_32 - n) % n;
          if (low < threshold) continue;
        }
        out[i] = Math.floor(m / TWO_32);
        break;
      }
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  /**
   * Sum of values.length draws with replacement from values (one bootstrap resample of the sum), with
   * the generator inlined; same stream as values.length calls of integer(values.length).
   */
  resampleSum(values: Float64Array): number {
    const n = values.length;
    if (n > 2097152) {
      let total = 0;
      for (let i = 0; i < n; i++) total += values[this.integer(n)];
      return total;
    }
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    const threshold = (TWO_32 - n) % n;
    let total = 0;
    for (let i = 0; i < n; ) {
      const mm = Math.imul(s1, 5);
      const x = Math.imul((mm << 7) | (mm >>> 25), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const m = x * n;
      if (m >>> 0 < threshold) continue;
      total += values[Math.floor(m / TWO_32)];
      i++;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    return total;
  }

  /**
   * Binomial(n, p) draw by exact inversion: from 0 when n·p is small, otherwise a chop-down search
   * outward from the mode (O(sqrt(n·p·q)) steps).
   */
  binomial(n: number, p: number): number {
    if (!(n >= 0) || !Number.isInteger(n) || !(p >= 0 && p <= 1))
      throw new RangeError("binomial(n, p): bad arguments");
    if (n === 0 || p === 0) return 0;
    if (p === 1) return n;
    if (p > 0.5) return n - this.binomial(n, 1 - p);
    const q = 1 - p;
    const r = p / q;
    let u = this.uniform();
    if (n * p < 30) {
      let pk = Math.exp(n * Math.log1p(-p));
      for (let k = 0; k < n; k++) {
        u -= pk;
        if (u < 0) return k;
        pk *= ((n - k) / (k + 1)) * r;
      }
      return n;
    }
    const mode = Math.floor((n + 1) * p);
    const pm = binomPmf(mode, n, p);
    u -= pm;
    if (u < 0) return mode;
    let down = pm;
    let up = pm;
    for (let j = 1; ; j++) {
      const lo = mode - j;
      const hi = mode + j;
      if (lo >= 0) {
        // pmf(k−1) = pmf(k) · k / ((n − k + 1)·r)
        down *= (lo + 1) / ((n - lo) * r);
        u -= down;
        if (u < 0) return lo;
      }
      if (hi <= n) {
        up *= ((n - hi + 1) / hi) * r;
        u -= up;
        if (u < 0) return hi;
      }
      // Rounding can leave u a hair above zero after all mass is spent: fall back to the mode.
      if (lo < 0 && hi > n) return mode;
    }
  }

  /** Standard normal draw (Marsaglia polar method). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = Number.NaN;
      return v;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spare = v * f;
        return u * f;
      }
    }
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.integer(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }
}

/** A new generator for the seed (default 0). */
export function createRng(seed: Seed = 0): Rng {
  return new Rng(seed);
}
