/**
 * Unbiased pass@k estimator (Chen et al. 2021, HumanEval): with n samples of which c pass,
 * pass@k = 1 − C(n−c, k)/C(n, k), and 1 when n − c < k.
 */

/**
 * pass@k for one problem. The binomial ratio is the product Π_{i=n−c+1}^{n} (1 − k/i), accumulated as a
 * sum of log1p terms and finished with expm1, so small values keep their relative precision (the plain
 * 1 − product loses digits when the ratio is near 1). Never forms the binomials.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k))
    throw new RangeError(`pass@k needs integers, got n=${n}, c=${c}, k=${k}`);
  if (c < 0 || c > n) throw new RangeError(`pass@k needs 0 <= c <= n, got c=${c}, n=${n}`);
  if (k < 1 || k > n) throw new RangeError(`pass@k needs 1 <= k <= n, got k=${k}, n=${n}`);
  if (n - c < k) return 1;
  if (c === 0) return 0;
  // Neumaier-compensated Σ log1p(−k/i).
  let s = 0;
  let comp = 0;
  for (let i = n - c + 1; i <= n; i++) {
    const x = Math.log1p(-k / i);
    const t = s + x;
    if (Math.abs(s) >= Math.abs(x)) comp += s - t + x;
    else comp += x - t + s;
    s = t;
  }
  return -Math.expm1(s + comp);
}

/** Mean pass@k over problems, each given as [n, c] or {n, c} (HumanEval estimate_pass_at_k().mean()). */
export function passAtKMean(
  samples: ReadonlyArray<readonly [number, number] | { n: number; c: number }>,
  k: number,
): number {
  if (samples.length === 0) return Number.NaN;
  let total = 0;
  for (const s of samples) {
    const [n, c] = Array.isArray(s) ? s : [(s as { n: number }).n, (s as { c: number }).c];
    total += passAtK(n, c, k);
  }
  return total / samples.length;
}
