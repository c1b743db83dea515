import { describe, expect, it } from "vitest";
import { binomPmf, chi2Sf } from "../../src/stats/distributions.js";
import { createRng, Rng } from "../../src/stats/rng.js";

describe("seeded generator", () => {
  it("is deterministic per seed, numeric or string", () => {
    const a = createRng(123);
    const b = createRng(123);
    const c = createRng(124);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xs);
    expect(new Rng("run-1").uniform()).toBe(new Rng("run-1").uniform());
    expect(new Rng("run-1").uniform()).not.toBe(new Rng("run-2").uniform());
    // Large integer seeds keep their high bits.
    expect(new Rng(2 ** 40).uniform()).not.toBe(new Rng(0).uniform());
  });

  it("uniform is in [0, 1) with the right mean and variance", () => {
    const r = new Rng(1);
    let s = 0;
    let s2 = 0;
    const n = 200_000;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      if (!(u >= 0 && u < 1)) outside++;
      s += u;
      s2 += u * u;
    }
    expect(outside).toBe(0);
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12)).toBeLessThan(0.002);
  });

  it("integer(n) is uniform (chi-square) and fillIntegers gives the same stream", () => {
    const r = new Rng(5);
    const k = 7;
    const counts = new Array(k).fill(0);
    const n = 70_000;
    for (let i = 0; i < n; i++) counts[r.integer(k)]++;
    const chi = counts.reduce((acc, c) => acc + (c - n / k) ** 2 / (n / k), 0);
    expect(chi2Sf(chi, k - 1)).toBeGreaterThan(1e-4);
    const a = new Rng(9);
    const b = new Rng(9);
    const buf = new Uint32Array(1000);
    a.fillIntegers(buf, 1234);
    expect(Array.from(buf)).toEqual(Array.from({ length: 1000 }, () => b.integer(1234)));
    expect(a.nextUint32()).toBe(b.nextUint32());
    expect(() => r.integer(0)).toThrow(RangeError);
    expect(r.integer(1)).toBe(0);
  });

  it("resampleSum follows the integer(n) stream", () => {
    const values = Float64Array.from({ length: 50 }, (_, i) => i * i);
    const a = new Rng(3);
    const b = new Rng(3);
    let expected = 0;
    for (let i = 0; i < 50; i++) expected += values[b.integer(50)];
    expect(a.resampleSum(values)).toBe(expected);
  });

  it("normal draws have mean 0 and variance 1", () => {
    const r = new Rng(11);
    let s = 0;
    let s2 = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.01);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
  });

  it("binomial draws follow the binomial pmf (chi-square)", () => {
    for (const [n, p] of [
      [10_000, 0.46],
      [40, 0.3],
      [1000, 0.01],
      [9, 0.8],
    ] as const) {
      const r = new Rng(42);
      const draws = 50_000;
      const counts = new Map<number, number>();
      for (let i = 0; i < draws; i++) {
        const k = r.binomial(n, p);
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      let chi = 0;
      let cells = 0;
      let restObs = 0;
      let restExp = 0;
      for (let k = 0; k <= n; k++) {
        const e = draws * binomPmf(k, n, p);
        const o = counts.get(k) ?? 0;
        if (e >= 10) {
          chi += (o - e) ** 2 / e;
          cells++;
        } else {
          restObs += o;
          restExp += e;
        }
      }
      if (restExp > 0) {
        chi += (restObs - restExp) ** 2 / restExp;
        cells++;
      }
      expect(chi2Sf(chi, cells - 1)).toBeGreaterThan(1e-4);
    }
  });

  it("shuffle is a permutation", () => {
    const xs = Array.from({ length: 20 }, (_, i) => i);
    const s = new Rng(1).shuffle([...xs]);
    expect([...s].sort((a, b) => a - b)).toEqual(xs);
    expect(s).not.toEqual(xs);
  });
});
