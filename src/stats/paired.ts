/**
 * Paired comparisons of two systems scored on the same items: bootstrap of the mean delta, McNemar
 * (exact and chi-square), paired t-test, sign-flip permutation test, effect sizes and flipped items.
 */
import { mean, sum, toBinary, variance } from "./descriptive.js";
import { binomCdf, chi2Sf, studentTSf } from "./distributions.js";
import { type BootstrapOptions, type BootstrapResult, bootstrapCi } from "./intervals.js";
import { Rng, type Seed } from "./rng.js";

function checkPaired(a: ArrayLike<unknown>, b: ArrayLike<unknown>): void {
  if (a.length !== b.length)
    throw new RangeError(`paired samples differ in length (${a.length} vs ${b.length})`);
}

/** Per-item differences a − b. */
export function pairedDifferences(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  checkPaired(a, b);
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i] - b[i];
  return d;
}

export interface PairedBootstrapResult extends BootstrapResult {
  /** Fraction of bootstrap replicates with a positive delta (a better than b). */
  probPositive: number;
  /** Two-sided bootstrap p-value for delta = 0: 2·min(P*(δ <= 0), P*(δ >= 0)), capped at 1. */
  pvalue: number;
}

/**
 * Paired bootstrap of the mean delta mean(a − b): items are resampled jointly, so the interval reflects
 * the correlation between the systems. Options as bootstrapCi (BCa by default, seeded).
 */
export function pairedBootstrap(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: Omit<BootstrapOptions, "statistic"> = {},
): PairedBootstrapResult {
  const result = bootstrapCi(pairedDifferences(a, b), options);
  const reps = result.replicates;
  let pos = 0;
  let nonPos = 0;
  for (let i = 0; i < reps.length; i++) {
    if (reps[i] > 0) pos++;
    else nonPos++;
  }
  let nonNeg = 0;
  for (let i = 0; i < reps.length; i++) if (reps[i] >= 0) nonNeg++;
  const pvalue = Math.min(1, (2 * Math.min(nonPos, nonNeg)) / reps.length);
  return { ...result, probPositive: pos / reps.length, pvalue };
}

/** 2×2 table [[n00, n01], [n10, n11]] of paired binary outcomes: row = x, column = y. */
export function pairedTable(
  x: ArrayLike<number | boolean>,
  y: ArrayLike<number | boolean>,
): [[number, number], [number, number]] {
  checkPaired(x, y);
  const bx = toBinary(x);
  const by = toBinary(y);
  const t: [[number, number], [number, number]] = [
    [0, 0],
    [0, 0],
  ];
  for (let i = 0; i < bx.length; i++) t[bx[i]][by[i]]++;
  return t;
}

export interface McNemarResult {
  statistic: number;
  pvalue: number;
  /** Discordant counts: b = table[0][1] (x = 0, y = 1), c = table[1][0]. */
  b: number;
  c: number;
}

function checkCounts(b: number, c: number): void {
  if (!(Number.isInteger(b) && Number.isInteger(c) && b >= 0 && c >= 0))
    throw new RangeError(`discordant counts must be non-negative integers, got ${b}, ${c}`);
}

/**
 * Exact McNemar test from the discordant counts: two-sided binomial test of b out of b + c at p = 0.5,
 * min(1, 2·BinomCDF(min(b, c); b + c, ½)) (= scipy binomtest, statsmodels mcnemar(exact=True)).
 * statistic = min(b, c). With b + c = 0 the p-value is 1.
 */
export function mcnemarExact(b: number, c: number): McNemarResult {
  checkCounts(b, c);
  const n = b + c;
  const k = Math.min(b, c);
  const pvalue = n === 0 || b === c ? 1 : Math.min(1, 2 * binomCdf(k, n, 0.5));
  return { statistic: k, pvalue, b, c };
}

/**
 * McNemar chi-square test (1 df) like statsmodels mcnemar(exact=False): statistic (|b − c| − 1)²/(b + c)
 * with continuity correction (default; not clipped at 0, so b = c gives 1/(b + c)), (b − c)²/(b + c)
 * without. NaN when b + c = 0.
 */
export function mcnemarChi2(b: number, c: number, correction = true): McNemarResult {
  checkCounts(b, c);
  const n = b + c;
  if (n === 0) return { statistic: Number.NaN, pvalue: Number.NaN, b, c };
  const d = Math.abs(b - c) - (correction ? 1 : 0);
  const statistic = (d * d) / n;
  return { statistic, pvalue: chi2Sf(statistic, 1), b, c };
}

/** McNemar test straight from paired binary outcomes (exact by default). */
export function mcnemar(
  x: ArrayLike<number | boolean>,
  y: ArrayLike<number | boolean>,
  options: { exact?: boolean; correction?: boolean } = {},
): McNemarResult {
  const t = pairedTable(x, y);
  return options.exact === false
    ? mcnemarChi2(t[0][1], t[1][0], options.correction ?? true)
    : mcnemarExact(t[0][1], t[1][0]);
}

export interface TTestResult {
  statistic: number;
  pvalue: number;
  df: number;
  /** mean(a − b). */
  meanDifference: number;
  /** std(a − b, ddof 1) / sqrt(n). */
  stderr: number;
}

/**
 * Two-sided paired t-test (= scipy.stats.ttest_rel): t = mean(d)/(std(d, ddof 1)/√n), df = n − 1.
 * Zero-variance differences give NaN (0/0) or ±Infinity with p = 0, as scipy.
 */
export function pairedTTest(a: ArrayLike<number>, b: ArrayLike<number>): TTestResult {
  const d = pairedDifferences(a, b);
  const n = d.length;
  if (n < 2) throw new RangeError("paired t-test needs at least 2 pairs");
  const m = mean(d);
  const stderr = Math.sqrt(variance(d, 1) / n);
  const statistic = m / stderr;
  const df = n - 1;
  const pvalue = Number.isNaN(statistic) ? Number.NaN : 2 * studentTSf(Math.abs(statistic), df);
  return { statistic, pvalue, df, meanDifference: m, stderr };
}

export interface PermutationResult {
  /** Observed mean difference mean(a − b). */
  statistic: number;
  /** Two-sided p-value P(|mean of sign-flipped d| >= |observed|). */
  pvalue: number;
  /** True when all 2^m sign patterns of the m non-zero differences were enumerated. */
  exact: boolean;
  /** Sign patterns evaluated (2^m when exact). */
  rounds: number;
}

export interface PermutationOptions {
  /** Enumerate exactly when the number of non-zero differences is at most this (default 20). */
  maxExact?: number;
  /** Monte Carlo rounds otherwise (default 10,000). */
  rounds?: number;
  seed?: Seed;
}

/**
 * Paired permutation (sign-flip) test of mean(a − b) = 0. Under the null each difference is equally
 * likely to have either sign; zero differences do not matter and are dropped. Exact enumeration (Gray
 * code, one update per pattern) when few differences are non-zero; otherwise seeded Monte Carlo with the
 * (count + 1)/(rounds + 1) estimate, which is a valid p-value.
 */
export function pairedPermutationTest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: PermutationOptions = {},
): PermutationResult {
  const all = pairedDifferences(a, b);
  const n = all.length;
  if (n === 0) throw new RangeError("permutation test needs at least 1 pair");
  const nonzero = all.filter((v) => v !== 0);
  const m = nonzero.length;
  const observed = sum(all);
  const statistic = observed / n;
  if (m === 0) return { statistic, pvalue: 1, exact: true, rounds: 1 };
  // Sums equal to the observed one up to rounding count as "at least as extreme".
  let scale = 0;
  for (let i = 0; i < m; i++) scale += Math.abs(nonzero[i]);
  const target = Math.abs(observed) - 1e-9 * scale;
  const maxExact = options.maxExact ?? 20;
  if (m <= maxExact) {
    // Gray code walk: pattern g(i) = i ^ (i >> 1) differs from the previous one in one bit.
    let s = sum(nonzero);
    let extreme = Math.abs(s) >= target ? 1 : 0;
    const signs = new Int8Array(m).fill(1);
    const total = 2 ** m;
    for (let i = 1; i < total; i++) {
      const bit = 31 - Math.clz32(i & -i);
      s -= 2 * signs[bit] * nonzero[bit];
      signs[bit] = -signs[bit];
      if (Math.abs(s) >= target) extreme++;
    }
    return { statistic, pvalue: extreme / total, exact: true, rounds: total };
  }
  const rounds = options.rounds ?? 10_000;
  const rng = new Rng(options.seed ?? 0);
  let extreme = 0;
  for (let r = 0; r < rounds; r++) {
    let s = 0;
    for (let i = 0; i < m; ) {
      // 32 signs per draw.
      let bits = rng.nextUint32();
      const end = Math.min(m, i + 32);
      for (; i < end; i++) {
        s += bits & 1 ? nonzero[i] : -nonzero[i];
        bits >>>= 1;
      }
    }
    if (Math.abs(s) >= target) extreme++;
  }
  return { statistic, pvalue: (extreme + 1) / (rounds + 1), exact: false, rounds };
}

/** Cohen's d for paired samples (d_z): mean(a − b) / std(a − b, ddof 1). */
export function cohensDPaired(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const d = pairedDifferences(a, b);
  return mean(d) / Math.sqrt(variance(d, 1));
}

export interface BinaryPairedEffect {
  n: number;
  /** Items right under a and wrong under b (table[1][0] with rows = a). */
  aOnly: number;
  /** Items right under b and wrong under a. */
  bOnly: number;
  /** Accuracy difference mean(a) − mean(b) = (aOnly − bOnly) / n. */
  riskDifference: number;
  /** Discordant-pair (McNemar) odds ratio aOnly / bOnly (Infinity when bOnly = 0, NaN when both 0). */
  oddsRatio: number;
  /** Standard error of ln(oddsRatio): sqrt(1/aOnly + 1/bOnly). */
  logOddsRatioStderr: number;
}

/** Effect sizes for paired binary outcomes. */
export function binaryPairedEffect(
  a: ArrayLike<number | boolean>,
  b: ArrayLike<number | boolean>,
): BinaryPairedEffect {
  const t = pairedTable(a, b);
  const n = a.length;
  const aOnly = t[1][0];
  const bOnly = t[0][1];
  return {
    n,
    aOnly,
    bOnly,
    riskDifference: (aOnly - bOnly) / n,
    oddsRatio: aOnly === 0 && bOnly === 0 ? Number.NaN : aOnly / bOnly,
    logOddsRatioStderr: Math.sqrt(1 / aOnly + 1 / bOnly),
  };
}

export interface Flips {
  /** Indices whose outcome changed, ascending. */
  indices: number[];
  /** Wrong under a (baseline), right under b. */
  improved: number[];
  /** Right under a (baseline), wrong under b. */
  regressed: number[];
}

/** Sample indices whose binary outcome changed from a (baseline) to b (candidate). */
export function flips(a: ArrayLike<number | boolean>, b: ArrayLike<number | boolean>): Flips {
  checkPaired(a, b);
  const indices: number[] = [];
  const improved: number[] = [];
  const regressed: number[] = [];
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ? 1 : 0;
    const y = b[i] ? 1 : 0;
    if (x === y) continue;
    indices.push(i);
    if (y) improved.push(i);
    else regressed.push(i);
  }
  return { indices, improved, regressed };
}
