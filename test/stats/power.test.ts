import { describe, expect, it } from "vitest";
import {
  minimumDetectableEffectPaired,
  minimumDetectableEffectTwoProportions,
  powerPaired,
  powerTwoProportions,
  sampleSizePaired,
  sampleSizeTwoProportions,
} from "../../src/stats/power.js";

describe("two independent proportions", () => {
  it("baseline 0.52, delta 0.02, α 0.05, power 0.8 → 9,775 per group", () => {
    // By hand: z = 1.959964, 0.841621; p̄ = 0.53;
    // [1.959964·√(2·0.53·0.47) + 0.841621·√(0.52·0.48 + 0.54·0.46)]² / 0.02² = 9774.60 → 9775.
    expect(sampleSizeTwoProportions(0.52, 0.02)).toBe(9775);
    // The formula is symmetric in the two proportions.
    expect(sampleSizeTwoProportions(0.52, -0.02)).toBe(sampleSizeTwoProportions(0.5, 0.02));
    expect(sampleSizeTwoProportions(0.52, 0.02, { power: 0.9 })).toBeGreaterThan(9775);
    expect(sampleSizeTwoProportions(0.52, 0.02, { alpha: 0.01 })).toBeGreaterThan(9775);
  });

  it("power and minimum detectable effect invert the sample size", () => {
    expect(powerTwoProportions(0.52, 0.02, 9775)).toBeGreaterThanOrEqual(0.8);
    expect(powerTwoProportions(0.52, 0.02, 9774)).toBeLessThan(0.8);
    const mde = minimumDetectableEffectTwoProportions(0.52, 9774.600689536204);
    expect(mde).toBeCloseTo(0.02, 9);
    expect(minimumDetectableEffectTwoProportions(0.52, 1000)).toBeGreaterThan(0.06);
  });

  it("rejects impossible inputs", () => {
    expect(() => sampleSizeTwoProportions(0.99, 0.02)).toThrow(RangeError);
    expect(() => sampleSizeTwoProportions(0.5, 0)).toThrow(RangeError);
    expect(() => sampleSizeTwoProportions(0.5, 0.1, { power: 1 })).toThrow(RangeError);
  });
});

describe("paired (McNemar)", () => {
  it("discordance 0.1, delta 0.02 → 1,960 items", () => {
    // [1.959964·√0.1 + 0.841621·√(0.1 − 0.0004)]² / 0.0004 = 1959.86 → 1960.
    expect(sampleSizePaired(0.1, 0.02)).toBe(1960);
    // Pairing pays off when the systems mostly agree: far fewer items than 2 × 9,775.
    expect(sampleSizePaired(0.1, 0.02)).toBeLessThan(sampleSizeTwoProportions(0.52, 0.02));
  });

  it("power and minimum detectable effect", () => {
    expect(powerPaired(0.1, 0.02, 1960)).toBeGreaterThanOrEqual(0.8);
    expect(powerPaired(0.1, 0.02, 1959)).toBeLessThan(0.8);
    expect(minimumDetectableEffectPaired(0.1, 1959.8604071253726)).toBeCloseTo(0.02, 9);
    expect(() => sampleSizePaired(0.01, 0.02)).toThrow(RangeError);
  });
});
