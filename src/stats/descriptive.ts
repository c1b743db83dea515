/** Accurate elementary summaries shared by the statistics modules. */

/** Sum with Neumaier compensation (error independent of n, unlike naive summation). */
export function sum(values: ArrayLike<number>): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    const t = s + x;
    if (Math.abs(s) >= Math.abs(x)) c += s - t + x;
    else c += x - t + s;
    s = t;
  }
  return s + c;
}

/** Arithmetic mean (NaN for an empty input). */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  return sum(values) / values.length;
}

/** Variance with the given delta degrees of freedom (two-pass, compensated). NaN when n <= ddof. */
export function variance(values: ArrayLike<number>, ddof = 1): number {
  const n = values.length;
  if (n <= ddof) return Number.NaN;
  const m = mean(values);
  let s = 0;
  let c = 0;
  let corr = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - m;
    corr += d;
    const x = d * d;
    const t = s + x;
    if (s >= x) c += s - t + x;
    else c += x - t + s;
    s = t;
  }
  // Subtracting (Σd)²/n removes the residual error of the mean itself.
  return (s + c - (corr * corr) / n) / (n - ddof);
}

/** Standard deviation with the given ddof (default 1). */
export function std(values: ArrayLike<number>, ddof = 1): number {
  return Math.sqrt(variance(values, ddof));
}

/**
 * Quantile of already-sorted values with linear interpolation between order statistics (numpy's
 * default `linear` method, Hyndman–Fan type 7).
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0 || Number.isNaN(q)) return Number.NaN;
  if (q <= 0) return sorted[0];
  if (q >= 1) return sorted[n - 1];
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const frac = h - lo;
  const a = sorted[lo];
  const b = sorted[hi];
  return frac === 0 || a === b ? a : a + frac * (b - a);
}

/** Quantile of unsorted values (copies and sorts). */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  return quantileSorted(sorted, q);
}

/** Values as 0/1, accepting booleans or numbers (any non-zero number counts as 1). */
export function toBinary(values: ArrayLike<number | boolean>): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] ? 1 : 0;
  return out;
}

/**
 * numpy's pairwise summation (add.reduce over a contiguous float64 array): blocks of up to 128 summed
 * with 8 interleaved accumulators, larger ranges split in halves. Reproduces numpy sums bit for bit,
 * where matching a reference exactly matters.
 */
export function pairwiseSum(values: ArrayLike<number>, start = 0, end = values.length): number {
  const n = end - start;
  if (n < 8) {
    // numpy starts from -0.0 so that an all −0.0 sum stays −0.0.
    let s = -0;
    for (let i = start; i < end; i++) s += values[i];
    return s;
  }
  if (n <= 128) {
    let r0 = values[start];
    let r1 = values[start + 1];
    let r2 = values[start + 2];
    let r3 = values[start + 3];
    let r4 = values[start + 4];
    let r5 = values[start + 5];
    let r6 = values[start + 6];
    let r7 = values[start + 7];
    let i = start + 8;
    for (; i < start + n - (n % 8); i += 8) {
      r0 += values[i];
      r1 += values[i + 1];
      r2 += values[i + 2];
      r3 += values[i + 3];
      r4 += values[i + 4];
      r5 += values[i + 5];
      r6 += values[i + 6];
      r7 += values[i + 7];
    }
    let s = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < end; i++) s += values[i];
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(values, start, start + half) + pairwiseSum(values, start + half, end);
}
