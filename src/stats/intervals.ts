/**
 * Standard errors and confidence intervals: mean ± t/normal, Wilson score interval, bootstrap
 * (percentile and BCa), cluster-robust standard errors, and lm-evaluation-harness pooled stderr.
 */
import { mean, quantileSorted, sum, variance } from "./descriptive.js";
import { normalCdf, normalPpf, studentTPpf } from "./distributions.js";
import { Rng, type Seed } from "./rng.js";

export interface MeanStderr {
  mean: number;
  /** Standard error of the mean: std(ddof) / sqrt(n). */
  stderr: number;
  n: number;
}

export interface Interval {
  lower: number;
  upper: number;
}

export interface MeanInterval extends Interval {
  mean: number;
  stderr: number;
  n: number;
  confidence: number;
}

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
}

/** Mean and its standard error std(values, ddof) / sqrt(n) (= scipy.stats.sem, lm-eval mean_stderr). */
export function meanStderr(values: ArrayLike<number>, ddof = 1): MeanStderr {
  const n = values.length;
  return { mean: mean(values), stderr: Math.sqrt(variance(values, ddof)) / Math.sqrt(n), n };
}

/** Two-sided normal interval estimate ± z·stderr. */
export function normalInterval(estimate: number, stderr: number, confidence = 0.95): Interval {
  checkConfidence(confidence);
  const z = -normalPpf((1 - confidence) / 2);
  return { lower: estimate - z * stderr, upper: estimate + z * stderr };
}

/** Two-sided Student t interval estimate ± t(df)·stderr. */
export function tInterval(estimate: number, stderr: number, df: number, confidence = 0.95): Interval {
  checkConfidence(confidence);
  const t = -studentTPpf((1 - confidence) / 2, df);
  return { lower: estimate - t * stderr, upper: estimate + t * stderr };
}

/** Confidence interval of the mean with the t (df = n − 1, default) or normal critical value. */
export function meanInterval(
  values: ArrayLike<number>,
  confidence = 0.95,
  method: "t" | "normal" = "t",
): MeanInterval {
  const { mean: m, stderr, n } = meanStderr(values, 1);
  const iv = method === "t" ? tInterval(m, stderr, n - 1, confidence) : normalInterval(m, stderr, confidence);
  return { mean: m, stderr, n, confidence, ...iv };
}

/**
 * Wilson score interval for count successes out of nobs, like statsmodels
 * proportion_confint(method="wilson"): not clipped to [0, 1] (bounds at 0 or 1 are exact up to rounding).
 */
export function wilsonInterval(count: number, nobs: number, confidence = 0.95): Interval {
  checkConfidence(confidence);
  if (!(nobs > 0) || count < 0 || count > nobs) throw new RangeError(`need 0 <= count <= nobs, nobs > 0`);
  const z = -normalPpf((1 - confidence) / 2);
  const z2 = z * z;
  const p = count / nobs;
  const denom = 1 + z2 / nobs;
  const center = (p + z2 / (2 * nobs)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / nobs + z2 / (4 * nobs * nobs))) / denom;
  return { lower: center - half, upper: center + half };
}

// ---------------------------------------------------------------------------------------------
// Bootstrap

export type Statistic = (sample: Float64Array) => number;

export interface BootstrapOptions {
  /** Resampling rounds (default 10,000). */
  rounds?: number;
  /** Two-sided confidence level (default 0.95). */
  confidence?: number;
  /** "bca" (default) or "percentile". */
  method?: "percentile" | "bca";
  /** Seed for the generator (default 0); the same seed gives the same interval. */
  seed?: Seed;
  /**
   * Statistic of a resample; defaults to the mean (with an allocation-free fast path). It receives a
   * reused buffer, so it must not keep a reference to it.
   */
  statistic?: Statistic;
}

export interface BootstrapResult extends Interval {
  /** The statistic on the original data. */
  estimate: number;
  /** Standard deviation of the bootstrap replicates (bootstrap standard error). */
  stderr: number;
  rounds: number;
  confidence: number;
  method: "percentile" | "bca";
  /** BCa bias correction z0 and acceleration a (0 for the percentile method). */
  bias: number;
  acceleration: number;
  /** Sorted bootstrap replicates. */
  replicates: Float64Array;
}

/** Percentile interval from bootstrap replicates (sorted in place). */
export function percentileInterval(replicates: Float64Array, confidence = 0.95): Interval {
  checkConfidence(confidence);
  replicates.sort();
  const alpha = (1 - confidence) / 2;
  return { lower: quantileSorted(replicates, alpha), upper: quantileSorted(replicates, 1 - alpha) };
}

/**
 * Jackknife acceleration a = Σ(θ̄ − θᵢ)³ / (6·(Σ(θ̄ − θᵢ)²)^{3/2}) from leave-one-out (or leave-block-out)
 * estimates θᵢ.
 */
export function jackknifeAcceleration(jackknife: ArrayLike<number>): number {
  const m = mean(jackknife);
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < jackknife.length; i++) {
    const d = m - jackknife[i];
    s2 += d * d;
    s3 += d * d * d;
  }
  if (s2 === 0) return 0;
  return s3 / (6 * s2 ** 1.5);
}

/**
 * Bias-corrected and accelerated interval (Efron 1987) from the estimate, the bootstrap replicates
 * (sorted in place) and the acceleration. Replicates equal to the estimate count half toward z0, which
 * keeps z0 unbiased for discrete statistics such as the mean of 0/1 scores (scipy counts only those
 * strictly below).
 */
export function bcaInterval(
  estimate: number,
  replicates: Float64Array,
  acceleration: number,
  confidence = 0.95,
): Interval & { bias: number } {
  checkConfidence(confidence);
  replicates.sort();
  const b = replicates.length;
  let below = 0;
  let equal = 0;
  for (let i = 0; i < b; i++) {
    if (replicates[i] < estimate) below++;
    else if (replicates[i] === estimate) equal++;
  }
  const z0 = normalPpf((below + 0.5 * equal) / b);
  if (!Number.isFinite(z0)) {
    // Every replicate on one side of the estimate: BCa is undefined (scipy gives NaN); report the
    // percentile interval instead of NaN.
    const alpha = (1 - confidence) / 2;
    return {
      lower: quantileSorted(replicates, alpha),
      upper: quantileSorted(replicates, 1 - alpha),
      bias: z0,
    };
  }
  const alpha = (1 - confidence) / 2;
  const adjust = (zAlpha: number): number => {
    const num = z0 + zAlpha;
    return normalCdf(z0 + num / (1 - acceleration * num));
  };
  const lowerQ = adjust(normalPpf(alpha));
  const upperQ = adjust(normalPpf(1 - alpha));
  return { lower: quantileSorted(replicates, lowerQ), upper: quantileSorted(replicates, upperQ), bias: z0 };
}

/** Largest number of leave-one-out evaluations of a custom statistic before grouping into blocks. */
const MAX_JACKKNIFE = 2000;

/** Leave-one-out estimates; above MAX_JACKKNIFE points, leave-one-block-out over contiguous blocks. */
function jackknifeValues(values: Float64Array, statistic: Statistic | undefined): Float64Array {
  const n = values.length;
  if (!statistic) {
    const total = sum(values);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = (total - values[i]) / (n - 1);
    return out;
  }
  const groups = Math.min(n, MAX_JACKKNIFE);
  const out = new Float64Array(groups);
  for (let g = 0; g < groups; g++) {
    const start = Math.floor((g * n) / groups);
    const end = Math.floor(((g + 1) * n) / groups);
    const rest = new Float64Array(n - (end - start));
    rest.set(values.subarray(0, start), 0);
    rest.set(values.subarray(end), start);
    out[g] = statistic(rest);
  }
  return out;
}

/** Distinct values with their counts when there are at most `limit` (e.g. 0/1 scores), else null. */
function distinctCounts(x: Float64Array, limit = 32): { values: number[]; counts: number[] } | null {
  const index = new Map<number, number>();
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const j = index.get(x[i]);
    if (j !== undefined) counts[j]++;
    else {
      if (values.length === limit) return null;
      index.set(x[i], values.length);
      values.push(x[i]);
      counts.push(1);
    }
  }
  return { values, counts };
}

/**
 * Bootstrap replicates of the mean (or a statistic) of values. For the mean of data with few distinct
 * values (binary scores, paired deltas in {−1, 0, 1}) the resample counts are drawn directly from the
 * multinomial distribution, which has exactly the distribution of resampling but costs O(√n) per round.
 */
export function bootstrapReplicates(
  values: ArrayLike<number>,
  rounds: number,
  rng: Rng,
  statistic?: Statistic,
): Float64Array {
  const n = values.length;
  const x = Float64Array.from(values as ArrayLike<number>);
  const out = new Float64Array(rounds);
  if (!statistic) {
    const discrete = distinctCounts(x);
    if (discrete) {
      const { values: v, counts } = discrete;
      const k = v.length;
      for (let r = 0; r < rounds; r++) {
        // Multinomial as a chain of conditional binomials.
        let left = n;
        let pool = n;
        let s = 0;
        for (let j = 0; j < k - 1 && left > 0; j++) {
          const c = rng.binomial(left, counts[j] / pool);
          s += c * v[j];
          left -= c;
          pool -= counts[j];
        }
        if (left > 0) s += left * v[k - 1];
        out[r] = s / n;
      }
      return out;
    }
    for (let r = 0; r < rounds; r++) out[r] = rng.resampleSum(x) / n;
    return out;
  }
  const buf = new Float64Array(n);
  const idx = new Uint32Array(n);
  for (let r = 0; r < rounds; r++) {
    rng.fillIntegers(idx, n);
    for (let i = 0; i < n; i++) buf[i] = x[idx[i]];
    out[r] = statistic(buf);
  }
  return out;
}

function stdOf(values: Float64Array): number {
  return values.length > 1 ? Math.sqrt(variance(values, 1)) : Number.NaN;
}

/**
 * Bootstrap confidence interval of the mean, or of any statistic, over i.i.d. samples. BCa uses the
 * jackknife acceleration: exact leave-one-out for the mean; for a custom statistic leave-one-out up to
 * 2,000 samples and leave-one-block-out over 2,000 contiguous blocks beyond.
 */
export function bootstrapCi(values: ArrayLike<number>, options: BootstrapOptions = {}): BootstrapResult {
  const rounds = options.rounds ?? 10_000;
  const confidence = options.confidence ?? 0.95;
  const method = options.method ?? "bca";
  checkConfidence(confidence);
  if (values.length < 2) throw new RangeError("bootstrap needs at least 2 samples");
  if (!(rounds >= 2) || !Number.isInteger(rounds)) throw new RangeError(`rounds must be an integer >= 2`);
  const x = Float64Array.from(values as ArrayLike<number>);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new RangeError(`bootstrap values must be finite (index ${i}: ${x[i]})`);
  }
  const statistic = options.statistic;
  const estimate = statistic ? statistic(Float64Array.from(x)) : mean(x);
  const replicates = bootstrapReplicates(x, rounds, new Rng(options.seed ?? 0), statistic);
  const stderr = stdOf(replicates);
  if (method === "percentile") {
    const iv = percentileInterval(replicates, confidence);
    return { estimate, stderr, rounds, confidence, method, bias: 0, acceleration: 0, replicates, ...iv };
  }
  const acceleration = jackknifeAcceleration(jackknifeValues(x, statistic));
  const iv = bcaInterval(estimate, replicates, acceleration, confidence);
  return { estimate, stderr, rounds, confidence, method, acceleration, replicates, ...iv };
}

// ---------------------------------------------------------------------------------------------
// Clustered and pooled standard errors

export interface ClusteredStderr extends MeanStderr {
  /** Number of clusters. */
  clusters: number;
  /** The i.i.d. standard error (ddof 1) for comparison. */
  naiveStderr: number;
}

/**
 * Cluster-robust (CR1) standard error of the mean: sqrt(G/(G−1) · Σ_g (Σ_{i∈g} (xᵢ − x̄))²) / n, which is
 * what an intercept-only OLS with cov_type="cluster" reports (statsmodels' default small-sample
 * correction). With one sample per cluster it equals the usual stderr. correction=false drops G/(G−1);
 * with a single cluster the corrected SE is NaN.
 */
export function clusteredStderr(
  values: ArrayLike<number>,
  clusters: ArrayLike<string | number>,
  correction = true,
): ClusteredStderr {
  const n = values.length;
  if (clusters.length !== n) throw new RangeError("values and clusters must have the same length");
  if (n < 2) throw new RangeError("need at least 2 samples");
  const m = mean(values);
  const sums = new Map<string | number, number>();
  for (let i = 0; i < n; i++) sums.set(clusters[i], (sums.get(clusters[i]) ?? 0) + (values[i] - m));
  const g = sums.size;
  let s = 0;
  for (const v of sums.values()) s += v * v;
  const factor = correction ? (g > 1 ? g / (g - 1) : Number.NaN) : 1;
  return {
    mean: m,
    stderr: Math.sqrt(factor * s) / n,
    n,
    clusters: g,
    naiveStderr: Math.sqrt(variance(values, 1) / n),
  };
}

/**
 * lm-evaluation-harness pooled_sample_stderr for a group of subtasks weighted by size:
 * sqrt([Σ (nᵢ − 1)·nᵢ·SEᵢ² / (N − k)] / N).
 */
export function pooledStderr(stderrs: ArrayLike<number>, sizes: ArrayLike<number>): number {
  if (stderrs.length !== sizes.length) throw new RangeError("stderrs and sizes must have the same length");
  let num = 0;
  let total = 0;
  for (let i = 0; i < sizes.length; i++) {
    num += (sizes[i] - 1) * stderrs[i] ** 2 * sizes[i];
    total += sizes[i];
  }
  const k = sizes.length;
  if (!(total > k)) throw new RangeError("pooled stderr needs more samples than subtasks");
  return Math.sqrt(num / (total - k) / total);
}

export interface PooledFromValues {
  means: number[];
  /** Per-subtask stderr, ddof 1. */
  stderrs: number[];
  sizes: number[];
  /** Σ nᵢ·meanᵢ / N. */
  weightedMean: number;
  pooledStderr: number;
  /** Stderr of all values concatenated (what lm-eval does not report; for contrast). */
  concatenatedStderr: number;
}

/** Per-subtask means and stderrs, their size-weighted mean and the pooled stderr. */
export function pooledStderrFromValues(subtasks: ArrayLike<number>[]): PooledFromValues {
  const means: number[] = [];
  const stderrs: number[] = [];
  const sizes: number[] = [];
  const all: number[] = [];
  let weighted = 0;
  let total = 0;
  for (const values of subtasks) {
    const s = meanStderr(values, 1);
    means.push(s.mean);
    stderrs.push(s.stderr);
    sizes.push(s.n);
    weighted += s.n * s.mean;
    total += s.n;
    for (let i = 0; i < values.length; i++) all.push(values[i]);
  }
  return {
    means,
    stderrs,
    sizes,
    weightedMean: weighted / total,
    pooledStderr: pooledStderr(stderrs, sizes),
    concatenatedStderr: meanStderr(all, 1).stderr,
  };
}
