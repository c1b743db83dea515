import { describe, expect, it } from "vitest";
import * as D from "../../src/stats/distributions.js";

/** Relative difference, with exact zeros handled. */
function rel(actual: number, expected: number): number {
  if (actual === expected) return 0;
  return Math.abs(actual - expected) / Math.abs(expected);
}

// Reference values from mpmath at 50 digits (inputs exactly representable as given).
const FNS: Record<string, (...args: number[]) => number> = {
  lgamma: D.lgamma,
  normalCdf: D.normalCdf,
  normalSf: D.normalSf,
  normalPpf: D.normalPpf,
  studentTCdf: D.studentTCdf,
  studentTSf: D.studentTSf,
  studentTPpf: D.studentTPpf,
  chi2Sf: D.chi2Sf,
  betaCdf: D.betaCdf,
  betaSf: D.betaSf,
  binomCdf: D.binomCdf,
  binomPmf: D.binomPmf,
  regularizedGammaP: D.regularizedGammaP,
  regularizedGammaQ: D.regularizedGammaQ,
};

const MPMATH: [string, number[], number][] = [
  ["lgamma", [1.999], -0.0004224618006921073],
  ["lgamma", [-2.7], -0.07140708531564569],
  ["lgamma", [0.99], 0.005854806764709781],
  ["lgamma", [9.99], 12.779315214350193],
  ["lgamma", [100000000.0], 1742068066.1038346],
  ["lgamma", [3], Math.LN2],
  ["lgamma", [2.4], 0.21685932244884157],
  ["lgamma", [0.001], 6.907178885383853],
  ["normalCdf", [2], 0.9772498680518208],
  ["normalCdf", [-38], 2.88542835e-316],
  ["normalCdf", [0.3], 0.6179114221889527],
  ["normalCdf", [-1.96], 0.024997895148220435],
  ["normalCdf", [1], 0.8413447460685429],
  ["normalCdf", [-2], 0.02275013194817921],
  ["normalCdf", [-3], 0.0013498980316300946],
  ["normalCdf", [10], 1.0],
  ["normalSf", [1], 0.15865525393145705],
  ["normalSf", [37], 5.725571222524577e-300],
  ["normalSf", [0.3], 0.3820885778110474],
  ["normalSf", [-1e-5], 0.500003989422804],
  ["normalSf", [3], 0.0013498980316300946],
  ["normalSf", [-8.3], 1.0],
  ["normalSf", [-2], 0.9772498680518208],
  ["normalSf", [5], 2.866515718791939e-7],
  ["normalPpf", [0.9], 1.2815515655446006],
  ["normalPpf", [0.3], -0.5244005127080408],
  ["normalPpf", [1e-300], -37.0470962993612],
  ["normalPpf", [1e-20], -9.262340089798407],
  ["normalPpf", [0.001], -3.0902323061678136],
  ["normalPpf", [1e-100], -21.273453560965326],
  ["normalPpf", [0.074], -1.4466320671589785],
  ["normalPpf", [0.999], 3.090232306167813],
  ["studentTCdf", [-1, 1], 0.25],
  ["studentTCdf", [0.3, 1000], 0.617880247916378],
  ["studentTCdf", [-1.96, 100000.0], 0.02499928159715082],
  ["studentTCdf", [2, 3], 0.9303370157205784],
  ["studentTCdf", [1, 7.5], 0.8257619871846243],
  ["studentTCdf", [-0.5, 29], 0.3104240420968907],
  ["studentTCdf", [-5, 100], 1.2250867067519001e-6],
  ["studentTCdf", [-10, 10000000.0], 7.621796145136878e-24],
  ["studentTSf", [-0.01, 100000.0], 0.5039893463405885],
  ["studentTSf", [-0.01, 5], 0.5037959909787091],
  ["studentTSf", [-30, 100], 1.0],
  ["studentTSf", [-10, 1000], 1.0],
  ["studentTSf", [-10, 10000000.0], 1.0],
  ["studentTSf", [-100, 7.5], 0.9999999999997312],
  ["studentTSf", [0.01, 5], 0.49620400902129097],
  ["studentTSf", [-1.96, 100], 0.9736105493168852],
  ["studentTPpf", [1e-6, 100000.0], -4.753704716391288],
  ["studentTPpf", [0.6, 29], 0.2556836345712561],
  ["studentTPpf", [0.6, 7.5], 0.26250189880429464],
  ["studentTPpf", [1e-200, 2], -7.071067811865475e99],
  ["studentTPpf", [0.2, 5], -0.919543780240826],
  ["studentTPpf", [0.05, 1.5], -3.7051808200967513],
  ["studentTPpf", [0.4, 1], -0.32491969623290623],
  ["studentTPpf", [0.05, 10], -1.8124611228116765],
  ["chi2Sf", [200, 2], 3.720075976020836e-44],
  ["chi2Sf", [1, 3], 0.8012519569012008],
  ["chi2Sf", [200, 10], 1.6139305336977305e-37],
  ["chi2Sf", [50, 3], 7.989179244951472e-11],
  ["chi2Sf", [200, 100], 1.1784500720979422e-8],
  ["chi2Sf", [50, 100], 0.9999930466947524],
  ["chi2Sf", [50, 10], 2.6690834249044957e-7],
  ["chi2Sf", [50, 2], 1.3887943864964021e-11],
  ["binomPmf", [1000, 1000, 0.5], 9.332636185032189e-302],
  ["binomPmf", [50000, 100000, 0.5], 0.00252312621419674],
  ["binomPmf", [4999, 5000, 0.5], 0.0],
  ["binomPmf", [2, 1000, 0.01], 0.00220018754021261],
  ["binomPmf", [999, 1000, 0.5], 9.332636185032189e-299],
  ["binomPmf", [1, 10, 0.5], 0.009765625],
  ["binomPmf", [1000, 1000, 0.01], 0.0],
  ["binomPmf", [2, 100, 0.5], 3.9048614808440084e-27],
  ["binomCdf", [500, 1000, 0.5], 0.5126125090891804],
  ["binomCdf", [3, 20, 0.3], 0.10708680450373102],
  ["binomCdf", [0, 1000, 0.01], 4.317124741065824e-5],
  ["binomCdf", [999, 1000, 0.01], 1.0],
  ["binomCdf", [0, 100, 0.5], 7.888609052210118e-31],
  ["binomCdf", [7, 10, 0.5], 0.9453125],
  ["binomCdf", [2, 10, 0.5], 0.0546875],
  ["binomCdf", [7, 1000, 0.01], 0.2188631945324577],
  ["studentTCdf", [-1.96, 10000000.0], 0.024997909012657096],
  ["studentTSf", [-1.96, 10000000.0], 0.9750020909873429],
  ["studentTCdf", [0.3, 10000000.0], 0.6179114190711072],
  ["studentTSf", [0.3, 10000000.0], 0.3820885809288927],
  ["studentTCdf", [2, 10000000.0], 0.9772498545540785],
  ["studentTSf", [2, 10000000.0], 0.022750145445921476],
];

describe("distributions against mpmath", () => {
  it.each(MPMATH)("%s(%j)", (fn, args, expected) => {
    const actual = FNS[fn](...args);
    // Subnormal results carry fewer significant bits than 1e-12 can ask for.
    if (Math.abs(expected) < 2.2250738585072014e-308) expect(rel(actual, expected)).toBeLessThan(1e-6);
    else expect(rel(actual, expected)).toBeLessThan(1e-12);
  });
});

describe("textbook values", () => {
  it("Student t quantiles", () => {
    expect(rel(D.studentTPpf(0.975, 10), 2.228138851986274)).toBeLessThan(1e-15);
    expect(rel(D.studentTPpf(0.975, 4), 2.7764451051977934)).toBeLessThan(1e-14);
    expect(rel(D.studentTPpf(0.025, 10), -2.228138851986274)).toBeLessThan(1e-15);
    expect(D.studentTPpf(0.5, 7)).toBe(0);
    // Cauchy closed form.
    expect(rel(D.studentTPpf(0.9, 1), Math.tan(Math.PI * 0.4))).toBeLessThan(1e-15);
  });

  it("normal", () => {
    expect(rel(D.normalPpf(0.975), 1.959963984540054)).toBeLessThan(1e-15);
    expect(rel(D.normalCdf(1.96), 0.9750021048517795)).toBeLessThan(1e-15);
    expect(D.normalCdf(0)).toBe(0.5);
    expect(rel(D.normalSf(10), 7.619853024160527e-24)).toBeLessThan(1e-14);
    expect(D.normalPpf(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(D.normalPpf(1)).toBe(Number.POSITIVE_INFINITY);
    for (const p of [1e-300, 1e-20, 0.001, 0.3, 0.5, 0.8, 0.999999]) {
      expect(rel(D.normalCdf(D.normalPpf(p)), p)).toBeLessThan(1e-13);
    }
  });

  it("chi-square: 3.841458820694124 is the 95% point of chi2(1)", () => {
    expect(rel(D.chi2Sf(3.8414588206941285, 1), 0.05)).toBeLessThan(1e-14);
    expect(rel(D.chi2Sf(3.2, 1), 0.07363827012030258)).toBeLessThan(1e-14);
    // chi2(2) is exponential with mean 2.
    expect(rel(D.chi2Sf(7, 2), Math.exp(-3.5))).toBeLessThan(1e-15);
  });

  it("lgamma at integers, half-integers and the zeros at 1 and 2", () => {
    expect(D.lgamma(1)).toBe(0);
    expect(D.lgamma(2)).toBe(0);
    expect(rel(D.lgamma(10), Math.log(362880))).toBeLessThan(1e-15);
    expect(rel(D.lgamma(0.5), 0.5 * Math.log(Math.PI))).toBeLessThan(1e-15);
    expect(D.lgamma(0)).toBe(Number.POSITIVE_INFINITY);
    expect(D.lgamma(-3)).toBe(Number.POSITIVE_INFINITY);
  });

  it("binomial", () => {
    expect(rel(D.binomCdf(3, 10, 0.5), 176 / 1024)).toBeLessThan(1e-15);
    expect(rel(D.binomPmf(5, 10, 0.5), 252 / 1024)).toBeLessThan(1e-15);
    expect(D.binomPmf(11, 10, 0.5)).toBe(0);
    expect(D.binomCdf(10, 10, 0.3)).toBe(1);
    expect(D.binomCdf(-1, 10, 0.3)).toBe(0);
    // Sum of the pmf equals the cdf.
    let s = 0;
    for (let k = 0; k <= 40; k++) s += D.binomPmf(k, 100, 0.37);
    expect(rel(D.binomCdf(40, 100, 0.37), s)).toBeLessThan(1e-13);
  });

  it("incomplete beta and gamma identities", () => {
    // I_0.5(2, 3) = P(Bin(4, 0.5) >= 2) = 11/16.
    expect(rel(D.betaCdf(0.5, 2, 3), 0.6875)).toBeLessThan(1e-15);
    expect(rel(D.betaSf(0.5, 2, 3), 0.3125)).toBeLessThan(1e-15);
    // Arcsine distribution: I_x(1/2, 1/2) = (2/π)·asin(√x).
    for (const x of [1e-8, 0.1, 0.5, 0.9]) {
      expect(rel(D.betaCdf(x, 0.5, 0.5), (2 / Math.PI) * Math.asin(Math.sqrt(x)))).toBeLessThan(1e-14);
    }
    // P(1, x) = 1 − e^−x, Q(1, x) = e^−x.
    for (const x of [1e-5, 0.5, 3, 40]) {
      expect(rel(D.regularizedGammaP(1, x), -Math.expm1(-x))).toBeLessThan(1e-14);
      expect(rel(D.regularizedGammaQ(1, x), Math.exp(-x))).toBeLessThan(1e-14);
    }
  });

  it("Student t: Cauchy closed form and the normal limit", () => {
    for (const t of [-50, -1, 0.3, 2, 1e6]) {
      expect(rel(D.studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI)).toBeLessThan(1e-13);
    }
    expect(D.studentTCdf(0, 5)).toBe(0.5);
    expect(rel(D.studentTSf(2, Number.POSITIVE_INFINITY), D.normalSf(2))).toBeLessThan(1e-15);
    expect(Math.abs(D.studentTCdf(1.5, 1e12) - D.normalCdf(1.5))).toBeLessThan(1e-12);
  });

  it("t quantile inverts the cdf over a grid", () => {
    for (const df of [1.5, 3, 7.5, 30, 1e4]) {
      for (const p of [1e-30, 1e-6, 0.01, 0.3, 0.49, 0.51, 0.9, 0.999]) {
        const t = D.studentTPpf(p, df);
        expect(rel(D.studentTCdf(t, df), p)).toBeLessThan(1e-12);
      }
    }
  });

  it("returns NaN for invalid arguments", () => {
    expect(D.normalPpf(1.5)).toBeNaN();
    expect(D.studentTCdf(1, 0)).toBeNaN();
    expect(D.chi2Sf(1, -1)).toBeNaN();
    expect(D.betaCdf(0.5, 0, 1)).toBeNaN();
    expect(D.binomPmf(1, 10, 2)).toBeNaN();
  });
});
