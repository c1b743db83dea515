import { describe, expect, it } from "vitest";
import { bootstrapRanks, bootstrapRanksOverTasks } from "../../src/stats/rank_stability.js";
import { Rng } from "../../src/stats/rng.js";

function binary(n: number, p: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => (rng.uniform() < p ? 1 : 0));
}

describe("bootstrap rank intervals", () => {
  it("well separated models keep their ranks", () => {
    const rng = new Rng(1);
    const scores = {
      strong: [binary(500, 0.9, rng), binary(500, 0.85, rng)],
      middle: [binary(500, 0.6, rng), binary(500, 0.55, rng)],
      weak: [binary(500, 0.2, rng), binary(500, 0.25, rng)],
    };
    const r = bootstrapRanks(scores, { rounds: 500, seed: 3 });
    expect(r.map((m) => [m.model, m.rank, m.lower, m.upper])).toEqual([
      ["strong", 1, 1, 1],
      ["middle", 2, 2, 2],
      ["weak", 3, 3, 3],
    ]);
    expect(r[0].probBest).toBe(1);
    expect(r[0].rankShare).toEqual([1, 0, 0]);
  });

  it("close models get overlapping intervals; results are seeded", () => {
    const rng = new Rng(2);
    const a = [binary(200, 0.7, rng)];
    const b = [binary(200, 0.7, rng)];
    const c = [binary(200, 0.3, rng)];
    const r = bootstrapRanks([a, b, c], { rounds: 1000, seed: 5 });
    expect(r[0].lower).toBe(1);
    expect(r[0].upper).toBe(2);
    expect(r[1].lower).toBe(1);
    expect(r[1].upper).toBe(2);
    expect(r[2]).toMatchObject({ model: "2", rank: 3, lower: 3, upper: 3 });
    expect(r[0].probBest + r[1].probBest).toBeGreaterThanOrEqual(1);
    expect(bootstrapRanks([a, b, c], { rounds: 1000, seed: 5 })).toEqual(r);
  });

  it("lower is better and ties share the better rank", () => {
    const r = bootstrapRanksOverTasks(
      { x: [1, 1, 1], y: [1, 1, 1], z: [3, 3, 3] },
      { higherIsBetter: false },
    );
    expect(r.map((m) => m.rank)).toEqual([1, 1, 3]);
  });

  it("over tasks: resampling tasks shows dependence on the task mix", () => {
    // a wins two tasks by a lot, b wins three by a little: the ranking flips with the tasks drawn.
    const r = bootstrapRanksOverTasks(
      { a: [0.9, 0.9, 0.5, 0.5, 0.5], b: [0.6, 0.6, 0.6, 0.6, 0.6] },
      { rounds: 2000, seed: 1 },
    );
    expect(r[0].rank).toBe(1);
    expect(r[0].upper).toBe(2);
    expect(r[0].probBest).toBeGreaterThan(0.3);
    expect(r[0].probBest).toBeLessThan(0.95);
  });

  it("validates shapes", () => {
    expect(() => bootstrapRanks([[[1, 0]], [[1]]])).toThrow(RangeError);
    expect(() => bootstrapRanksOverTasks([[1, 2], [1]])).toThrow(RangeError);
    expect(bootstrapRanks([])).toEqual([]);
  });
});
