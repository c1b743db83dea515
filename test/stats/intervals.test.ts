import { describe, expect, it } from "vitest";
import { mean, pairwiseSum, quantile, sum, variance } from "../../src/stats/descriptive.js";
import {
  bcaInterval,
  bootstrapCi,
  clusteredStderr,
  jackknifeAcceleration,
  meanInterval,
  meanStderr,
  normalInterval,
  percentileInterval,
  pooledStderr,
  pooledStderrFromValues,
  tInterval,
  wilsonInterval,
} from "../../src/stats/intervals.js";

const close = (a: number, b: number, tol = 1e-12) => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol);

describe("descriptive", () => {
  it("compensated sum and two-pass variance", () => {
    expect(sum([1e16, 1, -1e16])).toBe(1);
    expect(variance([1, 2, 3, 4, 5])).toBe(2.5);
    expect(variance([1, 2, 3, 4, 5], 0)).toBe(2);
    // Large offset: naive sum-of-squares formulas lose everything here.
    close(variance([1e9 + 1, 1e9 + 2, 1e9 + 3]), 1, 1e-6);
    expect(mean([])).toBeNaN();
  });

  it("numpy linear quantiles and pairwise sums", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([4, 1, 3, 2], 0.25)).toBe(1.75);
    const xs = Array.from({ length: 1000 }, (_, i) => 0.1 * (i % 7));
    close(pairwiseSum(xs), sum(xs), 1e-12);
  });
});

describe("mean intervals", () => {
  const xs = [1, 2, 3, 4, 5];
  it("meanStderr uses ddof 1", () => {
    const r = meanStderr(xs);
    expect(r.mean).toBe(3);
    close(r.stderr, Math.sqrt(2.5 / 5), 1e-15);
  });

  it("t interval with df = n − 1 (t(0.975, 4) = 2.7764451051977934)", () => {
    const r = meanInterval(xs, 0.95, "t");
    close(r.lower, 3 - 2.7764451051977934 * Math.sqrt(0.5), 1e-13);
    close(r.upper, 3 + 2.7764451051977934 * Math.sqrt(0.5), 1e-13);
    const z = normalInterval(3, 1, 0.95);
    close(z.upper, 3 + 1.959963984540054, 1e-14);
    const t = tInterval(0, 1, 10, 0.95);
    close(t.upper, 2.228138851986274, 1e-14);
  });

  it("Wilson interval (statsmodels proportion_confint method='wilson' values)", () => {
    const a = wilsonInterval(7, 10, 0.95);
    close(a.lower, 0.39677814746114537);
    close(a.upper, 0.8922087325936989);
    const b = wilsonInterval(0, 20, 0.9);
    close(b.lower, 0);
    close(b.upper, 0.11915783736096455);
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
  });
});

describe("bootstrap", () => {
  it("BCa from given replicates matches the textbook formula (scipy's _bca_interval)", () => {
    const reps = Float64Array.from([
      2.1, 2.5, 1.9, 3.0, 2.8, 2.2, 2.6, 2.4, 3.3, 1.7, 2.0, 2.9, 2.3, 2.7, 3.1, 1.8, 2.45, 2.55, 2.65, 2.35,
    ]);
    // One replicate equals the estimate 2.4: counted half, so move it off to compare with scipy.
    reps[7] = 2.4000001;
    const r = bcaInterval(2.4, reps, 0.05, 0.95);
    // scipy: z0 = ndtri(mean(reps < 2.4)), α' = ndtr(z0 + (z0 + z_α)/(1 − a(z0 + z_α))), np.percentile.
    close(r.bias, -0.2533471031357997, 1e-14);
    close(r.lower, 1.7234611300188447, 1e-12);
    close(r.upper, 3.098485885255553, 1e-12);
  });

  it("jackknife acceleration of the mean", () => {
    const x = [0.3, 1.2, 0.7, 4.5, 2.2, 0.1, 0.9, 3.3, 0.4, 6.0];
    const s = x.reduce((a, b) => a + b);
    const jk = x.map((v) => (s - v) / (x.length - 1));
    close(jackknifeAcceleration(jk), 0.04998610797153397, 1e-14);
  });

  it("agrees with scipy.stats.bootstrap on a skewed sample (Monte Carlo tolerance)", () => {
    const x = [0.3, 1.2, 0.7, 4.5, 2.2, 0.1, 0.9, 3.3, 0.4, 6.0];
    // scipy, 200,000 resamples: BCa (0.99, 3.45), percentile (0.88, 3.23).
    const bca = bootstrapCi(x, { rounds: 200_000, seed: 7 });
    expect(Math.abs(bca.lower - 0.99)).toBeLessThan(0.03);
    expect(Math.abs(bca.upper - 3.45)).toBeLessThan(0.05);
    const pct = bootstrapCi(x, { rounds: 200_000, seed: 7, method: "percentile" });
    expect(Math.abs(pct.lower - 0.88)).toBeLessThan(0.03);
    expect(Math.abs(pct.upper - 3.23)).toBeLessThan(0.05);
    close(bca.estimate, 1.96, 1e-15);
    // Standard error of the mean: bootstrap SD ≈ sqrt((n−1)/n)·s/√n.
    const se = Math.sqrt(variance(x, 0) / x.length);
    expect(Math.abs(bca.stderr / se - 1)).toBeLessThan(0.01);
  });

  it("is reproducible from the seed and differs across seeds", () => {
    const x = Array.from({ length: 200 }, (_, i) => Math.sin(i) + (i % 5));
    const a = bootstrapCi(x, { rounds: 2000, seed: 42 });
    const b = bootstrapCi(x, { rounds: 2000, seed: 42 });
    const c = bootstrapCi(x, { rounds: 2000, seed: 43 });
    expect([a.lower, a.upper]).toEqual([b.lower, b.upper]);
    expect(a.lower).not.toBe(c.lower);
  });

  it("custom statistic (median) and the binary fast path", () => {
    const x = Array.from({ length: 101 }, (_, i) => i);
    const med = bootstrapCi(x, {
      rounds: 2000,
      statistic: (s) => quantile(s, 0.5),
      method: "percentile",
    });
    expect(med.estimate).toBe(50);
    expect(med.lower).toBeLessThan(50);
    expect(med.upper).toBeGreaterThan(50);
    // 0/1 scores: interval close to the normal one, p(1−p)/n.
    const bin = Array.from({ length: 1000 }, (_, i) => (i % 10 < 3 ? 1 : 0));
    const r = bootstrapCi(bin, { rounds: 20_000, seed: 1 });
    const se = Math.sqrt((0.3 * 0.7) / 1000);
    expect(Math.abs(r.stderr / se - 1)).toBeLessThan(0.02);
    expect(Math.abs(r.lower - (0.3 - 1.96 * se))).toBeLessThan(0.003);
    expect(Math.abs(r.upper - (0.3 + 1.96 * se))).toBeLessThan(0.003);
  });

  it("percentile interval uses linear quantiles", () => {
    const reps = Float64Array.from({ length: 101 }, (_, i) => 100 - i);
    const iv = percentileInterval(reps, 0.9);
    expect(iv.lower).toBeCloseTo(5, 12);
    expect(iv.upper).toBeCloseTo(95, 12);
  });

  it("over 10,000 near-normal samples, BCa agrees with mean ± 1.96 SE", () => {
    const x = Float64Array.from({ length: 10_000 }, (_, i) => Math.sin(i * 1.7) * 3 + (i % 11));
    const r = bootstrapCi(x, { rounds: 10_000, seed: 3 });
    let m = 0;
    for (const v of x) m += v / x.length;
    let ss = 0;
    for (const v of x) ss += (v - m) ** 2;
    const se = Math.sqrt(ss / (x.length - 1) / x.length);
    expect(r.stderr / se).toBeCloseTo(1, 1);
    expect(Math.abs(r.lower - (m - 1.96 * se)) / se).toBeLessThan(0.1);
    expect(Math.abs(r.upper - (m + 1.96 * se)) / se).toBeLessThan(0.1);
  });
});

describe("clustered and pooled standard errors", () => {
  it("cluster-robust SE by hand", () => {
    // Residuals ±0.5; cluster sums 0, 1, −1 → Σ S² = 2, G/(G−1) = 1.5 → √3 / 6.
    const r = clusteredStderr([1, 0, 1, 1, 0, 0], ["a", "a", "b", "b", "c", "c"]);
    close(r.stderr, Math.sqrt(3) / 6, 1e-15);
    expect(r.clusters).toBe(3);
    close(
      clusteredStderr([1, 0, 1, 1, 0, 0], ["a", "a", "b", "b", "c", "c"], false).stderr,
      Math.sqrt(2) / 6,
    );
  });

  it("one sample per cluster gives the ordinary stderr", () => {
    const x = [0.2, 1.4, 0.5, 2.2, 0.9, 1.1];
    const r = clusteredStderr(x, [0, 1, 2, 3, 4, 5]);
    close(r.stderr, meanStderr(x).stderr, 1e-15);
  });

  it("pooled stderr (lm-eval pooled_sample_stderr) by hand", () => {
    // sqrt([(9·10·0.01 + 19·20·0.0025) / (30 − 2)] / 30)
    close(pooledStderr([0.1, 0.05], [10, 20]), Math.sqrt((0.9 + 0.95) / 28 / 30), 1e-15);
    const r = pooledStderrFromValues([
      [1, 0, 1, 1],
      [0, 0, 1, 0, 1, 1],
    ]);
    expect(r.sizes).toEqual([4, 6]);
    close(r.weightedMean, 0.6);
    close(r.pooledStderr, pooledStderr(r.stderrs, r.sizes));
    close(r.concatenatedStderr, meanStderr([1, 0, 1, 1, 0, 0, 1, 0, 1, 1]).stderr);
  });
});

describe("bootstrap edge cases", () => {
  it("constant data gives a zero-width interval; non-finite values are rejected", () => {
    const r = bootstrapCi([2, 2, 2, 2], { rounds: 200 });
    expect([r.lower, r.upper]).toEqual([2, 2]);
    expect(() => bootstrapCi([1, Number.NaN, 2])).toThrow(RangeError);
  });

  it("BCa falls back to percentiles when every replicate is on one side", () => {
    const reps = Float64Array.from([1, 2, 3, 4, 5]);
    const r = bcaInterval(0, reps, 0.1, 0.9);
    expect(r.bias).toBe(Number.NEGATIVE_INFINITY);
    expect([r.lower, r.upper]).toEqual([1.2, 4.8]);
  });
});
