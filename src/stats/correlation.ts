/**
 * Correlation coefficients with two-sided p-values, matching scipy 1.10: pearsonr (exact beta
 * p-value), spearmanr (average ranks, Student t) and kendalltau (τ-b / τ-c, exact or asymptotic
 * p-value by scipy's rule; O(n log n)).
 */
import { UserError } from "../util/errors.js";
import { betaCdf, normalSf, studentTSf } from "./distributions.js";

export interface CorrelationResult {
  statistic: number;
  /** Two-sided p-value. */
  pvalue: number;
}

function checkPair(x: readonly number[], y: readonly number[], min: number): void {
  if (x.length !== y.length)
    throw new UserError(`x and y differ in length (${x.length} vs ${y.length})`, { field: "y" });
  if (x.length < min) throw new UserError(`need at least ${min} pairs, got ${x.length}`, { field: "x" });
  for (const [name, v] of [
    ["x", x],
    ["y", y],
  ] as const) {
    const i = v.findIndex((e) => typeof e !== "number" || !Number.isFinite(e));
    if (i >= 0)
      throw new UserError(`not a finite number: ${JSON.stringify(v[i])}`, { field: `${name}[${i}]` });
  }
}

function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s / v.length;
}

/** Pearson r as scipy computes it (normalised centred vectors), NaN for a constant input. */
function pearsonR(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  const mx = mean(x);
  const my = mean(y);
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  const nx = Math.sqrt(sxx);
  const ny = Math.sqrt(syy);
  if (nx === 0 || ny === 0) return Number.NaN;
  let r = 0;
  for (let i = 0; i < n; i++) r += ((x[i] - mx) / nx) * ((y[i] - my) / ny);
  return Math.max(-1, Math.min(1, r));
}

/** scipy.stats.pearsonr: p from Beta(n/2 − 1, n/2 − 1) on [−1, 1]. */
export function pearson(x: readonly number[], y: readonly number[]): CorrelationResult {
  checkPair(x, y, 2);
  const r = pearsonR(x, y);
  if (Number.isNaN(r)) return { statistic: Number.NaN, pvalue: Number.NaN };
  if (x.length === 2) return { statistic: Math.sign(r), pvalue: 1 };
  const ab = x.length / 2 - 1;
  // 2·P(R ≥ |r|) = 2·I_{(1−|r|)/2}(ab, ab) by symmetry; the lower tail keeps small p-values precise.
  const p = 2 * betaCdf((1 - Math.abs(r)) / 2, ab, ab);
  return { statistic: r, pvalue: Math.min(1, p) };
}

/** Ranks 1..n with ties given their average rank (scipy.stats.rankdata 'average'). */
export function rankAverage(v: readonly number[]): Float64Array {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => v[i] - v[j] || i - j);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && v[order[j + 1]] === v[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

/** numpy.corrcoef's off-diagonal entry: cov / sd / sd, clipped (exactly ±1 for identical ranks). */
function corrcoef(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  const mx = mean(x);
  const my = mean(y);
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
  }
  if (sxx === 0 || syy === 0) return Number.NaN;
  const r = sxy / (n - 1) / Math.sqrt(sxx / (n - 1)) / Math.sqrt(syy / (n - 1));
  return Math.max(-1, Math.min(1, r));
}

/** scipy.stats.spearmanr: Pearson correlation of average ranks, t test with n − 2 df. */
export function spearman(x: readonly number[], y: readonly number[]): CorrelationResult {
  checkPair(x, y, 2);
  const rs = corrcoef(rankAverage(x), rankAverage(y));
  if (Number.isNaN(rs)) return { statistic: Number.NaN, pvalue: Number.NaN };
  const dof = x.length - 2;
  if (dof <= 0) return { statistic: rs, pvalue: Number.NaN };
  const q = dof / ((rs + 1) * (1 - rs));
  const t = rs * Math.sqrt(Math.max(q, 0));
  const p = Number.isFinite(t) ? 2 * studentTSf(Math.abs(t), dof) : 0;
  return { statistic: rs, pvalue: p };
}

/** Dense ranks 1..k (equal values share a rank). */
function denseRanks(v: readonly number[]): { ranks: Int32Array; distinct: number } {
  const n = v.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => v[i] - v[j]);
  const ranks = new Int32Array(n);
  let r = 0;
  for (let k = 0; k < n; k++) {
    if (k === 0 || v[order[k]] !== v[order[k - 1]]) r++;
    ranks[order[k]] = r;
  }
  return { ranks, distinct: r };
}

/** Σ t(t−1)/2, Σ t(t−1)(t−2), Σ t(t−1)(2t+5) over tie groups of dense ranks. */
function tieStats(ranks: Int32Array, k: number): [number, number, number] {
  const cnt = new Float64Array(k + 1);
  for (const r of ranks) cnt[r]++;
  let t0 = 0;
  let t1 = 0;
  let t2 = 0;
  for (const c of cnt) {
    if (c <= 1) continue;
    t0 += (c * (c - 1)) / 2;
    t1 += c * (c - 1) * (c - 2);
    t2 += c * (c - 1) * (2 * c + 5);
  }
  return [t0, t1, t2];
}

/**
 * Exact two-sided p-value of Kendall's statistic without ties (scipy mstats _kendall_p_exact):
 * 2·P(#concordant ≤ c), c the smaller of concordant and discordant counts, from the
 * distribution of inversions of a random permutation.
 */
function kendallPExact(n: number, concordant: number): number {
  const tot = (n * (n - 1)) / 2;
  const c = Math.min(concordant, tot - concordant);
  let prob: number;
  if (n <= 2) prob = 1;
  else if (c === 0) prob = n < 171 ? 2 / factorial(n) : 0;
  else if (c === 1) prob = n < 172 ? 2 / factorial(n - 1) : 0;
  else if (4 * c === n * (n - 1)) prob = 1;
  else {
    // new[k] = number (or, for n ≥ 171, fraction) of permutations of j items with k inversions.
    let cur = new Float64Array(c + 1);
    cur[0] = 1;
    cur[1] = 1;
    const big = n >= 171;
    for (let j = 3; j <= n; j++) {
      const cum = new Float64Array(c + 1);
      let s = 0;
      for (let k = 0; k <= c; k++) {
        s += cur[k];
        cum[k] = big ? s / j : s;
      }
      if (j <= c) for (let k = c; k >= j; k--) cum[k] -= cum[k - j];
      cur = cum;
    }
    let s = 0;
    for (let k = 0; k <= c; k++) s += cur[k];
    prob = big ? s : (2 * s) / factorial(n);
  }
  return Math.max(0, Math.min(1, prob));
}

function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

/**
 * scipy.stats.kendalltau (method 'auto', two-sided). variant "b": tie-corrected;
 * "c": Stuart's τ-c = 2(C − D)/(n²(m − 1)/m). The p-value is exact when there are no ties and
 * (n ≤ 33 or min(D, n(n−1)/2 − D) ≤ 1), otherwise normal with the tie-corrected variance.
 */
export function kendallTau(
  x: readonly number[],
  y: readonly number[],
  opts: { variant?: "b" | "c" } = {},
): CorrelationResult {
  const variant = opts.variant ?? "b";
  if (variant !== "b" && variant !== "c")
    throw new UserError(`unknown variant '${variant}'`, { field: "variant", expected: "b, c" });
  checkPair(x, y, 2);
  const n = x.length;
  const { ranks: rx, distinct: kx } = denseRanks(x);
  const { ranks: ry, distinct: ky } = denseRanks(y);
  // Order by (x rank, y rank) so that equal pairs are adjacent.
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((i, j) => rx[i] - rx[j] || ry[i] - ry[j]);
  // Discordant pairs with a Fenwick tree over y ranks, one x-tie group at a time.
  const tree = new Float64Array(ky + 1);
  let dis = 0;
  let i = 0;
  while (i < n) {
    let k = i;
    while (k < n && rx[order[k]] === rx[order[i]]) {
      // Earlier groups have smaller x; count those with larger y.
      let le = 0;
      for (let idx = ry[order[k]]; idx > 0; idx &= idx - 1) le += tree[idx];
      dis += i - le;
      k++;
    }
    for (; i < k; i++) for (let idx = ry[order[i]]; idx <= ky; idx += idx & -idx) tree[idx]++;
  }
  let ntie = 0;
  let run = 1;
  for (let k = 1; k <= n; k++) {
    if (k < n && rx[order[k]] === rx[order[k - 1]] && ry[order[k]] === ry[order[k - 1]]) run++;
    else {
      ntie += (run * (run - 1)) / 2;
      run = 1;
    }
  }
  const [xtie, x0, x1] = tieStats(rx, kx);
  const [ytie, y0, y1] = tieStats(ry, ky);
  const tot = (n * (n - 1)) / 2;
  if (xtie === tot || ytie === tot) return { statistic: Number.NaN, pvalue: Number.NaN };
  const conMinusDis = tot - xtie - ytie + ntie - 2 * dis;
  let tau: number;
  if (variant === "b") tau = conMinusDis / Math.sqrt(tot - xtie) / Math.sqrt(tot - ytie);
  else {
    const m = Math.min(kx, ky);
    tau = (2 * conMinusDis) / ((n * n * (m - 1)) / m);
  }
  tau = Math.min(1, Math.max(-1, tau));
  let p: number;
  if (xtie === 0 && ytie === 0 && (n <= 33 || Math.min(dis, tot - dis) <= 1)) p = kendallPExact(n, tot - dis);
  else {
    const m = n * (n - 1);
    const v = (m * (2 * n + 5) - x1 - y1) / 18 + (2 * xtie * ytie) / m + (x0 * y0) / (9 * m * (n - 2));
    const z = conMinusDis / Math.sqrt(v);
    p = 2 * normalSf(Math.abs(z));
  }
  return { statistic: tau, pvalue: p };
}
