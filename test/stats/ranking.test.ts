import { describe, expect, it } from "vitest";
import { aggregateBattles, type Battle, parseBattle, parseBattles } from "../../src/stats/ranking/battles.js";
import {
  bootstrapBradleyTerry,
  fitLengthControl,
  percentile,
  ranksFromIntervals,
} from "../../src/stats/ranking/bootstrap.js";
import {
  checkMleExistence,
  fitBradleyTerry,
  fitBradleyTerryBattles,
  fitBradleyTerryLR,
  winProbabilities,
} from "../../src/stats/ranking/bradley_terry.js";
import { computeElo } from "../../src/stats/ranking/elo.js";
import { Rng } from "../../src/stats/rng.js";
import { UserError } from "../../src/util/errors.js";

const bt = (model_a: string, model_b: string, winner: Battle["winner"]): Battle => ({
  model_a,
  model_b,
  winner,
});
const repeat = (b: Battle, n: number): Battle[] => Array.from({ length: n }, () => b);

describe("battles", () => {
  it("rejects malformed battles with the field named", () => {
    try {
      parseBattle({ model_a: "x", model_b: "y", winner: "draw" });
      expect.unreachable();
    } catch (e) {
      expect((e as UserError).format()).toMatch(/^winner: invalid value "draw" \(expected "model_a" \| /);
    }
    expect(() => parseBattle({ model_a: "x", winner: "tie" })).toThrow(UserError);
    expect(() => parseBattle({ model_a: "x", model_b: "x", winner: "tie" })).toThrow(/same model/);
    try {
      parseBattles([
        { model_a: "a", model_b: "b", winner: "tie" },
        { model_a: "a", model_b: 3, winner: "tie" },
      ]);
      expect.unreachable();
    } catch (e) {
      expect((e as UserError).where.field).toBe("battles[1].model_b");
    }
  });

  it("aggregates into unique rows with both tie strings merged", () => {
    const m = aggregateBattles([
      bt("b", "a", "tie"),
      bt("b", "a", "tie (bothbad)"),
      bt("a", "b", "model_a"),
      bt("a", "b", "model_a"),
    ]);
    expect(m.models).toEqual(["a", "b"]);
    expect([...m.a]).toEqual([0, 1]);
    expect([...m.b]).toEqual([1, 0]);
    expect([...m.y]).toEqual([1, 0.5]);
    expect([...m.w]).toEqual([2, 2]);
  });
});

describe("online Elo", () => {
  it("matches a hand computation on three battles", () => {
    // 1) A beats B at equal ratings: ±K/2. 2) B–C tie: B (998) gains K(0.5 − 1/(1+10^(2/400))).
    // 3) C beats A: A loses K/(1 + 10^((r_C − r_A)/400)).
    const r = computeElo([bt("A", "B", "model_a"), bt("B", "C", "tie (bothbad)"), bt("A", "C", "model_b")]);
    expect(r.A).toBeCloseTo(999.9884209309151, 10);
    expect(r.B).toBeCloseTo(998.0115127982992, 10);
    expect(r.C).toBeCloseTo(1002.0000662707856, 10);
    // Elo is zero-sum with symmetric expectations.
    expect(r.A + r.B + r.C).toBeCloseTo(3000, 9);
  });

  it("honours K, SCALE, BASE and INIT", () => {
    const r = computeElo([bt("x", "y", "model_b")], { K: 32, INIT: 1500, SCALE: 200, BASE: 2 });
    expect(r).toEqual({ x: 1484, y: 1516 });
  });
});

describe("Bradley–Terry", () => {
  it("has the closed form for two models", () => {
    // A wins 3 of 4: β_A − β_B = log10(3), ratings centred on 1000.
    const fit = fitBradleyTerryBattles([...repeat(bt("A", "B", "model_a"), 3), bt("B", "A", "model_a")]);
    const d = 400 * Math.log10(3);
    expect(fit.mleExists).toBe(true);
    expect(fit.ratings!.A).toBeCloseTo(1000 + d / 2, 9);
    expect(fit.ratings!.B).toBeCloseTo(1000 - d / 2, 9);
    expect(fit.negLogLikelihood).toBeCloseTo(-3 * Math.log(0.75) - Math.log(0.25), 12);
    const wp = winProbabilities(fit.ratings!, fit.components);
    expect(wp.A.B).toBeCloseTo(0.75, 12);
  });

  it("counts a tie as half a win", () => {
    const fit = fitBradleyTerryBattles([bt("A", "B", "model_a"), bt("A", "B", "tie")]);
    expect(fit.ratings!.A - fit.ratings!.B).toBeCloseTo(400 * Math.log10(3), 9);
  });

  it("detects a model that never loses and names it", () => {
    const battles = [
      ...repeat(bt("top", "b", "model_a"), 3),
      ...repeat(bt("c", "top", "model_b"), 2),
      bt("b", "c", "model_a"),
      bt("c", "b", "model_a"),
    ];
    const fit = fitBradleyTerryBattles(battles);
    expect(fit.mleExists).toBe(false);
    expect(fit.ratings).toBeNull();
    expect(fit.existence.failures[0].neverLose).toEqual(["top"]);
    expect(fit.existence.message).toMatch(/top never loses/);
    // The ordering fallback still puts it first.
    const o = fit.orderingRatings!;
    expect(o.top).toBeGreaterThan(Math.max(o.b, o.c) + 1000);
  });

  it("accepts a cycle (strongly connected) and reports disconnected components", () => {
    const m = aggregateBattles([
      bt("a", "b", "model_a"),
      bt("b", "c", "model_a"),
      bt("c", "a", "model_a"),
      bt("x", "y", "tie"),
    ]);
    expect(checkMleExistence(m).exists).toBe(true);
    const fit = fitBradleyTerry(m, { anchor: { model: "a", rating: 1200 } });
    expect(fit.components).toEqual([
      ["a", "b", "c"],
      ["x", "y"],
    ]);
    for (const k of ["a", "b", "c", "x", "y"]) expect(fit.ratings![k]).toBeCloseTo(1000, 9);
    // Anchoring is only defined on a connected graph.
    expect(fit.ratingsAnchored).toBeNull();
  });

  it("reproduces the L2-penalised sklearn variant (ratings shrink toward 1000)", () => {
    const battles = [...repeat(bt("A", "B", "model_a"), 3), bt("B", "A", "model_a")];
    const plain = fitBradleyTerryLR(battles);
    const l2 = fitBradleyTerryLR(battles, { penalty: "l2", C: 1 });
    expect(plain.ratings!.A).toBeCloseTo(1000 + 200 * Math.log10(3), 9);
    expect(l2.ratings!.A).toBeLessThan(plain.ratings!.A);
    expect(l2.ratings!.A + l2.ratings!.B).toBeCloseTo(2000, 9);
    // With β_A = b = −β_B: d/db [6·softplus(−2αb) + 2·softplus(2αb) + b²] must vanish.
    const b = (l2.ratings!.A - 1000) / 400;
    const alpha = Math.log(10);
    const s = 1 / (1 + Math.exp(-2 * alpha * b));
    const grad = 2 * alpha * (6 * (s - 1) + 2 * s) + 2 * b;
    expect(Math.abs(grad)).toBeLessThan(1e-9);
  });
});

describe("bootstrap", () => {
  const rng = new Rng(7);
  const strength: Record<string, number> = { a: 0.6, b: 0.2, c: 0, d: -0.5 };
  const names = Object.keys(strength);
  const battles: Battle[] = [];
  for (let i = 0; i < 2000; i++) {
    const x = names[Math.floor(rng.uniform() * 4)];
    let y = names[Math.floor(rng.uniform() * 4)];
    while (y === x) y = names[Math.floor(rng.uniform() * 4)];
    const u = rng.uniform();
    const p = 1 / (1 + 10 ** (strength[y] - strength[x]));
    battles.push(bt(x, y, u < 0.1 ? "tie" : u < 0.1 + 0.9 * p ? "model_a" : "model_b"));
  }
  const m = aggregateBattles(battles);

  it("is deterministic for a seed and changes with it", () => {
    const r1 = bootstrapBradleyTerry(m, { rounds: 30, seed: 1 });
    const r2 = bootstrapBradleyTerry(m, { rounds: 30, seed: 1 });
    const r3 = bootstrapBradleyTerry(m, { rounds: 30, seed: 2 });
    expect(r2).toEqual(r1);
    expect(r3.lower).not.toEqual(r1.lower);
    for (const k of names) {
      expect(r1.lower[k]).toBeLessThan(r1.ratings[k]);
      expect(r1.upper[k]).toBeGreaterThan(r1.ratings[k]);
    }
    expect(r1.rank.a).toBe(1);
    expect(r1.rank.d).toBe(4);
  });

  it("applies the anchor to every replicate", () => {
    const r = bootstrapBradleyTerry(m, { rounds: 10, seed: 3, anchor: { model: "c", rating: 1114 } });
    expect(r.ratings.c).toBeCloseTo(1114, 9);
    expect(r.lower.c).toBeCloseTo(1114, 9);
    expect(r.upper.c).toBeCloseTo(1114, 9);
  });

  it("ranks by 1 + #models whose lower bound beats my upper bound", () => {
    const lower = { a: 1100, b: 1050, c: 990, d: 900 };
    const upper = { a: 1200, b: 1120, c: 1060, d: 980 };
    // a: none above. b: a's lower 1100 < b's upper 1120 → overlap → 1. c: a (1100 > 1060) → 2.
    // d: a, b, c all have lower > 980 → 4.
    expect(ranksFromIntervals(lower, upper)).toEqual({ a: 1, b: 1, c: 2, d: 4 });
  });

  it("uses numpy's linear percentile", () => {
    expect(percentile([1, 2, 3, 4], 2.5)).toBeCloseTo(1.075, 12);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([5], 97.5)).toBe(5);
  });
});

describe("style control", () => {
  it("attributes a length-driven win rate to the length coefficient", () => {
    const rng = new Rng(11);
    const battles: Battle[] = [];
    const lengths: [number, number][] = [];
    const models = ["p", "q", "r"];
    for (let i = 0; i < 3000; i++) {
      const x = models[i % 3];
      const y = models[(i + 1) % 3];
      const la = 100 + 900 * rng.uniform();
      const lb = 100 + 900 * rng.uniform();
      // Equal models; the longer answer wins 80% of the time.
      const aWins = la > lb === rng.uniform() < 0.8;
      battles.push(bt(x, y, aWins ? "model_a" : "model_b"));
      lengths.push([la, lb]);
    }
    const s = fitLengthControl(battles, lengths);
    expect(s.converged).toBe(true);
    expect(s.coefficients.length).toBeGreaterThan(0.5);
    for (const m of models) expect(Math.abs(s.ratings[m] - 1000)).toBeLessThan(30);
  });
});
