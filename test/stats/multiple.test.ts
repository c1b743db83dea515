import { describe, expect, it } from "vitest";
import { adjustPValues, benjaminiHochberg, bonferroni, holm } from "../../src/stats/multiple.js";

const close = (a: number[], b: number[]) => {
  for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 15);
};

describe("multiple comparisons (statsmodels multipletests semantics)", () => {
  // Sorted: 0.005 (#3), 0.01 (#0), 0.03 (#2), 0.04 (#1); m = 4.
  const p = [0.01, 0.04, 0.03, 0.005];

  it("Holm by hand", () => {
    // 4·0.005 = 0.02, 3·0.01 = 0.03, 2·0.03 = 0.06, 1·0.04 = 0.04 → running max 0.02, 0.03, 0.06, 0.06.
    close(holm(p), [0.03, 0.06, 0.06, 0.02]);
  });

  it("Benjamini–Hochberg by hand", () => {
    // 0.005·4/1 = 0.02, 0.01·4/2 = 0.02, 0.03·4/3 = 0.04, 0.04·4/4 = 0.04 → running min from the top.
    close(benjaminiHochberg(p), [0.02, 0.04, 0.04, 0.02]);
  });

  it("caps at 1 and keeps monotonicity", () => {
    expect(holm([0.5, 0.9])).toEqual([1, 1]);
    close(benjaminiHochberg([0.5, 0.9]), [0.9, 0.9]);
    close(benjaminiHochberg([0.04, 0.01, 0.9]), [0.06, 0.03, 0.9]);
    expect(bonferroni([0.3, 0.01])).toEqual([0.6, 0.02]);
  });

  it("NaN entries stay NaN and do not count", () => {
    const r = holm([0.01, Number.NaN, 0.02]);
    expect(r[1]).toBeNaN();
    close([r[0], r[2]], [0.02, 0.02]);
    expect(() => holm([1.5])).toThrow(RangeError);
  });

  it("reject flags", () => {
    expect(adjustPValues(p, "holm", 0.05).reject).toEqual([true, false, false, true]);
    expect(adjustPValues(p, "bh", 0.05).reject).toEqual([true, true, true, true]);
  });
});
