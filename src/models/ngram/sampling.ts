/** Seeded sampling for n-gram generation: seed mixing, the sfc32 generator, temperature and top-p. */
import type { Dist } from "./model.js";

/** splitmix32 step: a well-mixed 32-bit value from any integer. */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Combines numbers (e.g. a seed and a sample index) into one 32-bit seed; any finite numbers work. */
export function combineSeeds(...parts: number[]): number {
  let h = 0x12345678;
  for (const p of parts) {
    const v = Number.isFinite(p) ? Math.trunc(p) : 0;
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296) >>> 0;
    h = mix32(h ^ lo);
    h = mix32(h ^ hi);
  }
  return h;
}

/** sfc32 PRNG: uniform floats in [0, 1). */
export function makeRng(seed: number): () => number {
  let a = mix32(seed);
  let b = mix32(a);
  let c = mix32(b);
  let d = 1;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Samples a byte with temperature and nucleus (top-p) truncation; `weights` is scratch space. */
export function sampleByte(
  d: Dist,
  temperature: number,
  topP: number | undefined,
  rng: () => number,
  weights: Float64Array,
): number {
  let total = 1;
  if (temperature === 1) {
    weights.set(d.p);
  } else {
    const inv = 1 / temperature;
    if (d.tInv !== inv || d.tWeights === null) {
      // exp/log dominate sampling, so skip them for repeated values: bytes unseen in training
      // share one probability and come in runs.
      const { p, max } = d;
      const tw = d.tWeights ?? new Float64Array(256);
      let t = 0;
      let lastP = -1;
      let lastQ = 0;
      for (let w = 0; w < 256; w++) {
        if (p[w] !== lastP) {
          lastP = p[w];
          // (p / max)^(1/T), relative to the max so that it can't underflow to all zeros.
          lastQ = Math.exp(Math.log(lastP / max) * inv);
        }
        tw[w] = lastQ;
        t += lastQ;
      }
      d.tInv = inv;
      d.tWeights = tw;
      d.tTotal = t;
    }
    weights.set(d.tWeights!);
    total = d.tTotal;
  }
  if (topP !== undefined && topP < 1) {
    if (d.byRank === null) {
      const { p } = d;
      const idx = Array.from({ length: 256 }, (_, w) => w);
      idx.sort((a, b) => p[b] - p[a] || a - b);
      d.byRank = Uint8Array.from(idx);
    }
    // Weights fall with p, so the nucleus is a prefix of the ranking.
    const keep = Math.max(0, topP) * total;
    let cum = 0;
    for (let k = 0; k < 256; k++) {
      const w = d.byRank[k];
      if (k > 0 && cum >= keep) weights[w] = 0;
      else cum += weights[w];
    }
    total = cum;
  }
  let r = rng() * total;
  let last = d.argmax;
  for (let w = 0; w < 256; w++) {
    const q = weights[w];
    if (q <= 0) continue;
    last = w;
    r -= q;
    if (r < 0) return w;
  }
  return last;
}
