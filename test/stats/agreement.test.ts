import { describe, expect, it } from "vitest";
import {
  agreementHumanHuman,
  agreementJudgeVsEachHuman,
  agreementJudgeVsMajority,
  agreementPairwise,
  cohenKappa,
  fleissKappa,
  judgeHumanSummary,
  krippendorffAlpha,
  majorityLabel,
} from "../../src/stats/agreement.js";
import { kendallTau, pearson, rankAverage, spearman } from "../../src/stats/correlation.js";
import { Rng } from "../../src/stats/rng.js";

describe("Cohen's kappa", () => {
  it("matches a hand computation", () => {
    // O = [[1,1],[0,2]]: p_o = 3/4, p_e = (2·1 + 2·3)/16 = 1/2, κ = (3/4 − 1/2)/(1/2) = 1/2.
    expect(cohenKappa(["a", "a", "b", "b"], ["a", "b", "b", "b"])).toBeCloseTo(0.5, 15);
  });

  it("weights label positions, not values", () => {
    const y1 = [1, 2, 5, 10, 10, 5];
    const y2 = [2, 2, 10, 10, 5, 1];
    const asIdx = (v: number[]) => v.map((x) => [1, 2, 5, 10].indexOf(x));
    for (const w of ["linear", "quadratic"] as const)
      expect(cohenKappa(y1, y2, { weights: w })).toBeCloseTo(
        cohenKappa(asIdx(y1), asIdx(y2), { weights: w }),
        14,
      );
    // Quadratic by hand on positions 0..3: O has (0,1),(1,1),(2,3),(3,3),(3,2),(2,0).
    // Σw·O = 1 + 0 + 1 + 0 + 1 + 4 = 7; rows [1,1,2,2], cols [1,2,1,2]; Σw·E = Σ_ij (i−j)² r_i c_j / 6 = 86/6.
    expect(cohenKappa(y1, y2, { weights: "quadratic" })).toBeCloseTo(1 - 7 / (86 / 6), 14);
  });

  it("unobserved labels change weighted kappa but not unweighted", () => {
    const y1 = ["low", "low", "low", "high", "top", "top"];
    const y2 = ["low", "high", "low", "high", "top", "high"];
    const without = ["low", "high", "top"];
    const withMid = ["low", "mid", "high", "top"];
    expect(cohenKappa(y1, y2, { labels: withMid })).toBeCloseTo(cohenKappa(y1, y2, { labels: without }), 14);
    // "mid" stretches low–high to distance 2 but leaves high–top at 1.
    const la = cohenKappa(y1, y2, { labels: without, weights: "linear" });
    const lb = cohenKappa(y1, y2, { labels: withMid, weights: "linear" });
    expect(Math.abs(la - lb)).toBeGreaterThan(1e-3);
  });

  it("is 0 when one rater is constant", () => {
    expect(cohenKappa([1, 1, 1, 1], [0, 1, 1, 0])).toBe(0);
  });

  it("rejects a label outside the given order", () => {
    expect(() => cohenKappa([1, 2], [1, 3], { labels: [1, 2] })).toThrow(/label 3 is not in the label list/);
  });
});

describe("Fleiss' kappa", () => {
  // Wikipedia's 10 items × 14 raters example, as category counts.
  const counts = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
  ];
  const ratings = counts.map((row) => row.flatMap((c, j) => Array(c).fill(j + 1)));

  it("reproduces the Wikipedia example", () => {
    expect(fleissKappa(ratings)).toBeCloseTo(0.20993, 5);
  });

  it("Randolph's kappa depends on the number of categories", () => {
    // P̄ = 0.3780952…; with k = 5, κ = (P̄ − 1/5)/(4/5).
    const pbar = counts.reduce((s, r) => s + (r.reduce((t, c) => t + c * c, 0) - 14) / (14 * 13), 0) / 10;
    expect(fleissKappa(ratings, { method: "randolph" })).toBeCloseTo((pbar - 0.2) / 0.8, 14);
    expect(fleissKappa(ratings, { method: "randolph", categories: [1, 2, 3, 4, 5, 6] })).toBeCloseTo(
      (pbar - 1 / 6) / (5 / 6),
      14,
    );
  });
});

describe("Krippendorff's alpha", () => {
  // 3 coders × 15 units (Wikipedia / fast-krippendorff), transposed to units × coders.
  const coders = [
    [null, null, null, null, null, 3, 4, 1, 2, 1, 1, 3, 3, null, 3],
    [1, null, 2, 1, 3, 3, 4, 3, null, null, null, null, null, null, null],
    [null, null, 2, 1, 3, 4, 4, null, 2, 1, 1, 3, 3, null, 4],
  ];
  const units = coders[0].map((_, u) => coders.map((c) => c[u]));

  it("reproduces the published values", () => {
    const nominal = krippendorffAlpha(units, { level: "nominal" });
    expect(nominal.alpha).toBeCloseTo(56 / 81, 14);
    expect(nominal.n_pairable).toBe(26);
    expect(krippendorffAlpha(units, { level: "interval" }).alpha).toBeCloseTo(643 / 793, 14);
    expect(krippendorffAlpha(units, { level: "ordinal" }).alpha).toBeCloseTo(0.806721, 6);
    expect(krippendorffAlpha(units, { level: "ratio" }).alpha).toBeCloseTo(0.808944, 6);
  });

  it("uses the value domain for ordinal strings and requires it", () => {
    const s = units.map((u) => u.map((v) => (v === null ? null : ["one", "two", "three", "four"][v - 1])));
    expect(() => krippendorffAlpha(s, { level: "ordinal" })).toThrow(/value domain/);
    const r = krippendorffAlpha(s, {
      level: "ordinal",
      valueDomain: ["zero", "one", "two", "three", "four"],
    });
    expect(r.alpha).toBeCloseTo(0.806721, 6);
  });
});

describe("percent agreement (MT-Bench)", () => {
  const tieLabels = ["tie", "tie (bothbad)"];
  it("treats the two tie strings as equal and can drop ties", () => {
    const judge = ["tie", "model_a", null];
    const humans = [["tie (bothbad)", "model_a"], ["model_a", "model_b", null], ["model_a"]];
    expect(agreementJudgeVsEachHuman(judge, humans, { tieLabels })).toEqual({
      agree: 2,
      total: 4,
      rate: 0.5,
    });
    expect(agreementJudgeVsEachHuman(judge, humans, { tieLabels, excludeTies: true })).toEqual({
      agree: 1,
      total: 2,
      rate: 0.5,
    });
  });

  it("counts each unordered human pair once", () => {
    // Item 1: (a,a) agree, (a,b) ×2 disagree; item 2: one pair, tie == tie (bothbad).
    expect(agreementHumanHuman([["a", "a", "b"], ["tie", "tie (bothbad)"], ["a"]], { tieLabels })).toEqual({
      agree: 2,
      total: 4,
      rate: 0.5,
    });
  });

  it("uses a strict human majority", () => {
    expect(majorityLabel(["a", "b", "b"])).toBe("b");
    expect(majorityLabel(["a", "b"])).toBeNull();
    expect(majorityLabel(["tie", "tie (bothbad)", "a"])).toBe("tie");
    const judge = ["a", "tie", "b"];
    const humans = [
      ["a", "a", "b"],
      ["a", "b"],
      ["b", null],
    ];
    expect(agreementJudgeVsMajority(judge, humans, { noMajority: "exclude" })).toEqual({
      agree: 2,
      total: 2,
      rate: 1,
    });
    expect(agreementJudgeVsMajority(judge, humans, { noMajority: "tie" })).toEqual({
      agree: 3,
      total: 3,
      rate: 1,
    });
    expect(agreementPairwise([1, 2, null, 0], [1, 0, 1, 0], { tieLabels: [0], excludeTies: true })).toEqual({
      agree: 1,
      total: 1,
      rate: 1,
    });
  });

  it("summarises a judge against humans", () => {
    const s = judgeHumanSummary(
      [1, 2, null, 0, 1],
      [
        [1, 1, 2],
        [2, 2, 2],
        [1, 1, 1],
        [0, 0, 1],
        [2, 2, 1],
      ],
      {
        tieLabels: [0],
      },
    );
    expect(s.unparseable).toBe(1);
    expect(s.itemsWithMajority).toBe(4);
    expect(s.vsMajority.withTies).toEqual({ agree: 3, total: 4, rate: 0.75 });
    // Judge [1,2,0,1] vs majority [1,2,0,2]: p_o = 3/4, p_e = (2·1 + 1·2 + 1·1)/16 = 5/16.
    expect(s.kappaVsMajority).toBeCloseTo((3 / 4 - 5 / 16) / (1 - 5 / 16), 14);
  });
});

describe("correlation", () => {
  const x = [1, 2, 3, 4, 5];
  const y = [2, 1, 4, 3, 5];

  it("matches hand computations", () => {
    // Two discordant pairs of 10: τ = 0.6; exact p = 2·(1 + 4 + 9)/5! (Mahonian numbers).
    const k = kendallTau(x, y);
    expect(k.statistic).toBeCloseTo(0.6, 15);
    expect(k.pvalue).toBeCloseTo(28 / 120, 14);
    // Σd² = 4: ρ = 1 − 6·4/(5·24) = 0.8.
    expect(spearman(x, y).statistic).toBeCloseTo(0.8, 14);
    expect(pearson(x, y).statistic).toBeCloseTo(0.8, 14);
    expect([...rankAverage([3, 1, 3, 2])]).toEqual([3.5, 1, 3.5, 2]);
  });

  it("τ-c uses the number of distinct values", () => {
    // x has 2 classes: τ_c = 2(C − D)/(n²(m − 1)/m) with n = 4, m = 2.
    const r = kendallTau([0, 0, 1, 1], [1, 2, 3, 4], { variant: "c" });
    expect(r.statistic).toBeCloseTo((2 * 4) / ((16 * 1) / 2), 14);
  });

  it("counts discordant pairs in O(n log n) like the quadratic definition", () => {
    const rng = new Rng(5);
    const n = 1500;
    const a = Array.from({ length: n }, () => Math.floor(rng.uniform() * 40));
    const b = a.map((v) => Math.floor(v / 3 + rng.uniform() * 10));
    let s = 0;
    let tx = 0;
    let ty = 0;
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const dx = Math.sign(a[i] - a[j]);
        const dy = Math.sign(b[i] - b[j]);
        s += dx * dy;
        if (dx !== 0) tx++;
        if (dy !== 0) ty++;
      }
    expect(kendallTau(a, b).statistic).toBeCloseTo(s / Math.sqrt(tx * ty), 13);
    // Past 2^32 pairs (300,000 values): the counts must stay exact.
    const big = Array.from({ length: 300_000 }, () => rng.uniform());
    expect(kendallTau(big, big).statistic).toBe(1);
    expect(
      kendallTau(
        big,
        big.map((v) => -v),
      ).statistic,
    ).toBe(-1);
  });
});
