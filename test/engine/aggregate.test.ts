import { describe, expect, it } from "vitest";
import { RunAggregator } from "../../src/engine/aggregate.js";
import { getMetric } from "../../src/metrics/registry.js";
import { studentTPpf } from "../../src/stats/distributions.js";

const defs = new Map([
  ["acc,none", getMetric("acc")],
  ["brier_score,none", getMetric("brier_score")],
  ["perplexity,none", getMetric("perplexity")],
  ["bits_per_byte,none", getMetric("bits_per_byte")],
]);

describe("run aggregation", () => {
  it("means carry the ddof-1 stderr; 0/1 metrics get a Wilson interval, others a t interval", () => {
    const agg = new RunAggregator(defs);
    const acc = [1, 0, 1, 1, 0, 1, 1, 1];
    const brier = [0.1, 0.4, 0.2, 0.3, 0.9, 0.05, 0.2, 0.15];
    for (let i = 0; i < acc.length; i++) agg.add({ "acc,none": acc[i], "brier_score,none": brier[i] });
    const r = agg.result();
    const n = 8;
    const mean = 6 / 8;
    const sd = Math.sqrt(acc.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
    expect(r["acc,none"].value).toBe(0.75);
    expect(r["acc,none"].stderr).toBeCloseTo(sd / Math.sqrt(n), 14);
    // Wilson 95%: center (p + z²/2n)/(1 + z²/n), half z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n).
    const z = 1.959963984540054;
    const center = (mean + z ** 2 / (2 * n)) / (1 + z ** 2 / n);
    const half = (z * Math.sqrt((mean * (1 - mean)) / n + z ** 2 / (4 * n * n))) / (1 + z ** 2 / n);
    expect(r["acc,none"].ciLow).toBeCloseTo(center - half, 12);
    expect(r["acc,none"].ciHigh).toBeCloseTo(center + half, 12);
    const bm = brier.reduce((a, b) => a + b, 0) / n;
    const bse = Math.sqrt(brier.reduce((s, x) => s + (x - bm) ** 2, 0) / (n - 1) / n);
    expect(r["brier_score,none"].ciHigh - r["brier_score,none"].value).toBeCloseTo(
      studentTPpf(0.975, 7) * bse,
      12,
    );
  });

  it("corpus metrics combine summed statistics and bootstrap reproducibly", () => {
    const run = () => {
      const agg = new RunAggregator(defs, 7);
      for (let i = 0; i < 50; i++) {
        agg.add({
          "perplexity,none": [-(1 + (i % 5) * 0.3), 1],
          "bits_per_byte,none": [-(2 + (i % 3)), 3 + (i % 4)],
        });
      }
      return agg.result();
    };
    const a = run();
    const lls = Array.from({ length: 50 }, (_, i) => -(1 + (i % 5) * 0.3));
    expect(a["perplexity,none"].value).toBeCloseTo(Math.exp(-lls.reduce((x, y) => x + y) / 50), 12);
    const ll = Array.from({ length: 50 }, (_, i) => -(2 + (i % 3))).reduce((x, y) => x + y);
    const bytes = Array.from({ length: 50 }, (_, i) => 3 + (i % 4)).reduce((x, y) => x + y);
    expect(a["bits_per_byte,none"].value).toBeCloseTo(-ll / bytes / Math.LN2, 12);
    expect(a["perplexity,none"].method).toBe("bootstrap");
    expect(a["perplexity,none"].stderr).toBeGreaterThan(0);
    expect(a["perplexity,none"].ciLow).toBeLessThan(a["perplexity,none"].value);
    expect(a["perplexity,none"].ciHigh).toBeGreaterThan(a["perplexity,none"].value);
    expect(run()).toEqual(a);
  });
});
