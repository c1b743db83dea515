import { describe, expect, it } from "vitest";
import {
  binaryPairedEffect,
  cohensDPaired,
  flips,
  mcnemar,
  mcnemarChi2,
  mcnemarExact,
  pairedBootstrap,
  pairedPermutationTest,
  pairedTable,
  pairedTTest,
} from "../../src/stats/paired.js";

const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));

const A = [0.61, 0.72, 0.55, 0.8, 0.67, 0.59, 0.71, 0.66, 0.74, 0.58, 0.69, 0.63];
const B = [0.58, 0.7, 0.57, 0.75, 0.62, 0.6, 0.66, 0.61, 0.7, 0.59, 0.64, 0.6];

describe("McNemar", () => {
  it("exact: two-sided binomial test on the discordant pairs (scipy binomtest)", () => {
    const r = mcnemarExact(0, 5);
    expect(r).toMatchObject({ statistic: 0, b: 0, c: 5 });
    expect(rel(r.pvalue, 0.0625)).toBeLessThan(1e-14);
    expect(rel(mcnemarExact(2, 10).pvalue, 0.03857421875)).toBeLessThan(1e-14);
    expect(rel(mcnemarExact(40, 20).pvalue, 0.01348929373119186)).toBeLessThan(1e-12);
    expect(mcnemarExact(7, 7).pvalue).toBe(1);
    expect(mcnemarExact(0, 0).pvalue).toBe(1);
    expect(() => mcnemarExact(-1, 2)).toThrow(RangeError);
  });

  it("chi-square with and without continuity correction (not clipped at 0)", () => {
    const cc = mcnemarChi2(0, 5);
    expect(cc.statistic).toBe(3.2);
    expect(rel(cc.pvalue, 0.07363827012030258)).toBeLessThan(1e-14);
    expect(mcnemarChi2(0, 5, false).statistic).toBe(5);
    // b = c: (|0| − 1)² / (b + c), not 0.
    expect(mcnemarChi2(4, 4).statistic).toBe(1 / 8);
    expect(mcnemarChi2(0, 0).statistic).toBeNaN();
  });

  it("from paired vectors", () => {
    const x = [1, 1, 0, 0, 1, 0, 1, 1];
    const y = [1, 0, 0, 1, 1, 1, 0, 0];
    expect(pairedTable(x, y)).toEqual([
      [1, 2],
      [3, 2],
    ]);
    expect(mcnemar(x, y)).toEqual(mcnemarExact(2, 3));
    expect(mcnemar(x, y, { exact: false, correction: false })).toEqual(mcnemarChi2(2, 3, false));
  });
});

describe("paired t-test", () => {
  it("matches scipy.stats.ttest_rel", () => {
    const r = pairedTTest(A, B);
    expect(rel(r.statistic, 3.571720663546155)).toBeLessThan(1e-12);
    expect(rel(r.pvalue, 0.004381817070269172)).toBeLessThan(1e-10);
    expect(r.df).toBe(11);
  });

  it("zero-variance differences follow scipy (NaN for 0/0, infinite t otherwise)", () => {
    expect(pairedTTest([1, 2, 3], [1, 2, 3]).statistic).toBeNaN();
    const r = pairedTTest([2, 3, 4], [1, 2, 3]);
    expect(r.statistic).toBe(Number.POSITIVE_INFINITY);
    expect(r.pvalue).toBe(0);
  });
});

describe("paired permutation test", () => {
  it("exact enumeration on a tiny input", () => {
    // d = 1, 2, 3: sign patterns give sums ±6, ±4, ±2, 0, 0; |sum| >= 6 in 2 of 8.
    const r = pairedPermutationTest([1, 2, 3], [0, 0, 0]);
    expect(r).toMatchObject({ pvalue: 0.25, exact: true, rounds: 8 });
    // Zero differences do not change the distribution.
    expect(pairedPermutationTest([1, 2, 3, 5], [0, 0, 0, 5]).pvalue).toBe(0.25);
    // All five differences positive: 2 of 32 patterns as extreme.
    expect(pairedPermutationTest([1, 1, 1, 1, 1], [0, 0, 0, 0, 0]).pvalue).toBe(0.0625);
    expect(pairedPermutationTest([1, 0], [1, 0]).pvalue).toBe(1);
  });

  it("matches scipy.stats.permutation_test (exact, sign flips)", () => {
    const r = pairedPermutationTest(A, B);
    expect(r.exact).toBe(true);
    expect(r.pvalue).toBe(0.009765625);
  });

  it("Monte Carlo agrees with exact enumeration and is seeded", () => {
    const a = Array.from({ length: 18 }, (_, i) => Math.sin(i * 2.1) + 0.35);
    const b = new Array(18).fill(0);
    const exact = pairedPermutationTest(a, b);
    const mc = pairedPermutationTest(a, b, { maxExact: 0, rounds: 20_000, seed: 9 });
    expect(mc.exact).toBe(false);
    const se = Math.sqrt((exact.pvalue * (1 - exact.pvalue)) / 20_000);
    expect(Math.abs(mc.pvalue - exact.pvalue)).toBeLessThan(4 * se + 1e-4);
    expect(pairedPermutationTest(a, b, { maxExact: 0, rounds: 5000, seed: 9 }).pvalue).toBe(
      pairedPermutationTest(a, b, { maxExact: 0, rounds: 5000, seed: 9 }).pvalue,
    );
  });
});

describe("effect sizes and flips", () => {
  it("Cohen's d for paired samples = mean(d)/sd(d)", () => {
    expect(rel(cohensDPaired(A, B), 1.0310669432842605)).toBeLessThan(1e-12);
  });

  it("binary effects and flipped items", () => {
    const a = [1, 1, 0, 0, 1, 0, 1, 1];
    const b = [1, 0, 0, 1, 1, 1, 0, 0];
    const e = binaryPairedEffect(a, b);
    expect(e).toMatchObject({ n: 8, aOnly: 3, bOnly: 2, riskDifference: 1 / 8, oddsRatio: 1.5 });
    expect(e.logOddsRatioStderr).toBeCloseTo(Math.sqrt(1 / 3 + 1 / 2), 15);
    expect(flips(a, b)).toEqual({ indices: [1, 3, 5, 6, 7], improved: [3, 5], regressed: [1, 6, 7] });
    expect(flips([true, false], [true, true]).improved).toEqual([1]);
    expect(() => flips([1], [1, 0])).toThrow(RangeError);
  });
});

describe("paired bootstrap", () => {
  it("interval of the mean delta, seeded", () => {
    const r = pairedBootstrap(A, B, { rounds: 5000, seed: 1 });
    expect(r.estimate).toBeCloseTo(0.0275, 14);
    expect(r.lower).toBeGreaterThan(0);
    expect(r.upper).toBeGreaterThan(r.estimate);
    expect(r.probPositive).toBeGreaterThan(0.99);
    expect(r.pvalue).toBeLessThan(0.02);
    expect(pairedBootstrap(A, B, { rounds: 5000, seed: 1 }).lower).toBe(r.lower);
  });

  it("binary outcomes use the discrete fast path with the same answer in distribution", () => {
    const a = Array.from({ length: 2000 }, (_, i) => (i % 10 < 6 ? 1 : 0));
    const b = Array.from({ length: 2000 }, (_, i) => (i % 10 < 5 || i % 50 === 7 ? 1 : 0));
    const r = pairedBootstrap(a, b, { rounds: 20_000, seed: 2 });
    const d = a.map((v, i) => v - b[i]);
    const m = d.reduce((x, y) => x + y) / d.length;
    const sd = Math.sqrt(d.reduce((s, v) => s + (v - m) ** 2, 0) / d.length / d.length);
    expect(Math.abs(r.stderr / sd - 1)).toBeLessThan(0.02);
  });
});
