import { describe, expect, it } from "vitest";
import { passAtK, passAtKMean } from "../../src/metrics/pass_at_k.js";

const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.abs(b));

describe("pass@k", () => {
  it("exact small cases", () => {
    expect(rel(passAtK(5, 2, 1), 0.4)).toBeLessThan(1e-15);
    // 1 − C(7,5)/C(10,5) = 1 − 21/252.
    expect(rel(passAtK(10, 3, 5), 1 - 21 / 252)).toBeLessThan(1e-15);
    expect(passAtK(10, 0, 3)).toBe(0);
    expect(passAtK(10, 8, 3)).toBe(1); // n − c < k
    expect(passAtK(1, 1, 1)).toBe(1);
  });

  it("keeps relative precision for tiny values", () => {
    // 1 − C(999,1)/C(1000,1) = 1/1000 exactly; 1 − product would lose ~3 digits.
    expect(rel(passAtK(1000, 1, 1), 0.001)).toBeLessThan(1e-15);
    // 1 − C(199999,2)/C(200000,2) = 2/200000.
    expect(rel(passAtK(200000, 1, 2), 1e-5)).toBeLessThan(1e-14);
  });

  it("mean over problems", () => {
    expect(rel(passAtKMean([[5, 2], { n: 10, c: 0 }], 1), 0.2)).toBeLessThan(1e-15);
    expect(passAtKMean([], 1)).toBeNaN();
  });

  it("rejects invalid input", () => {
    expect(() => passAtK(5, 6, 1)).toThrow(RangeError);
    expect(() => passAtK(5, 2, 6)).toThrow(RangeError);
    expect(() => passAtK(5, 2, 0)).toThrow(RangeError);
    expect(() => passAtK(5.5, 2, 1)).toThrow(RangeError);
  });
});
