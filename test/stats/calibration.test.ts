import { describe, expect, it } from "vitest";
import { brierScore, eceEqualMass, equalMassBinEdges } from "../../src/stats/calibration.js";

describe("equal-mass ECE (HELM get_ece_em)", () => {
  it("fewer points than bins: one bin per point", () => {
    // Bins {0.7}, {0.8}, {0.9}: (|0.9 − 1| + |0.8 − 0| + |0.7 − 1|)/3 = 0.4.
    expect(eceEqualMass([0.9, 0.8, 0.7], [1, 0, 1], 10)).toBeCloseTo(0.4, 15);
    expect(equalMassBinEdges([0.9, 0.8, 0.7], 10)).toEqual([0.75, 0.8500000000000001, 1]);
  });

  it("array_split sizes and the left-side rule", () => {
    // 5 points, 2 bins: chunks [0.1, 0.2, 0.3] and [0.4, 0.5]; edge 0.35.
    expect(equalMassBinEdges([0.5, 0.1, 0.4, 0.3, 0.2], 2)).toEqual([0.35, 1]);
    // Ties merge bins: every p = 0.5 equals the edge 0.5 and falls in the lower bin.
    expect(equalMassBinEdges([0.5, 0.5, 0.5, 0.5], 2)).toEqual([0.5, 1]);
    expect(eceEqualMass([0.5, 0.5, 0.5, 0.5], [1, 0, 0, 0], 2)).toBeCloseTo(0.25, 15);
  });

  it("by hand with two bins", () => {
    // Bins {0.2, 0.4} (correct 0, 1) and {0.6, 0.8} (correct 1, 1):
    // 0.5·|0.3 − 0.5| + 0.5·|0.7 − 1| = 0.25.
    expect(eceEqualMass([0.2, 0.6, 0.4, 0.8], [0, 1, 1, true], 2)).toBeCloseTo(0.25, 15);
  });

  it("validates input", () => {
    expect(() => eceEqualMass([1.2], [1])).toThrow(RangeError);
    expect(() => eceEqualMass([0.2], [1, 0])).toThrow(RangeError);
    expect(eceEqualMass([], [])).toBeNaN();
  });
});

describe("Brier score", () => {
  it("binary = mean((p − y)²)", () => {
    expect(brierScore([0.42], [0])).toBeCloseTo(0.1764, 15);
    expect(brierScore([1, 0, 0.5], [1, 0, 1])).toBeCloseTo(0.25 / 3, 15);
  });

  it("multiclass sums over classes (range 0..2, not divided by K)", () => {
    expect(brierScore([[0.7, 0.2, 0.1]], [0])).toBeCloseTo(0.14, 15);
    expect(brierScore([[0.7, 0.2, 0.1]], [2])).toBeCloseTo(1.34, 15);
    expect(brierScore([[1, 0]], [1])).toBe(2);
    expect(() => brierScore([[0.5, 0.5]], [2])).toThrow(RangeError);
  });
});
