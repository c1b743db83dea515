import path from "node:path";
import { readJsonl } from "../../../src/data/jsonl.js";
import {
  type Battle,
  BattleAggregator,
  matchupsFromRows,
  parseBattle,
} from "../../../src/stats/ranking/battles.js";
import {
  type BTFit,
  fitBradleyTerry,
  fitBradleyTerryLR,
  winProbabilities,
} from "../../../src/stats/ranking/bradley_terry.js";
import { OnlineElo } from "../../../src/stats/ranking/elo.js";
import { compareDeep } from "../compare.js";
import type { CheckerModule, GoldenCase, GoldenContext } from "../types.js";

// Against the converged optimum: the README suggests 1e-3 rating points; Newton lands within ~1e-12.
const RATING_ABS = 1e-8;
const BETA_ABS = RATING_ABS / 400;
const PROB_ABS = 1e-11;

/** Streams the case's battles (inline or from `battles_file` next to the case file). */
async function forEachBattle(c: GoldenCase, ctx: GoldenContext, fn: (b: Battle) => void): Promise<void> {
  if (Array.isArray(c.input.battles)) {
    for (const b of c.input.battles) fn(parseBattle(b));
    return;
  }
  const file = path.resolve(ctx.dir, c.input.battles_file);
  for await (const { value, line } of readJsonl(file)) fn(parseBattle(value, { file, line }));
}

async function battlesOf(c: GoldenCase, ctx: GoldenContext): Promise<Battle[]> {
  const out: Battle[] = [];
  await forEachBattle(c, ctx, (b) => out.push(b));
  return out;
}

function sameList(actual: unknown, expected: unknown, what: string): string | null {
  return JSON.stringify(actual) === JSON.stringify(expected)
    ? null
    : `${what}: expected ${JSON.stringify(expected).slice(0, 120)}, got ${JSON.stringify(actual).slice(0, 120)}`;
}

/** Models sorted by rating, best first (ties broken by name). */
function order(r: Record<string, number>): string[] {
  return Object.keys(r).sort((x, y) => r[y] - r[x] || (x < y ? -1 : 1));
}

/** |a − b| within tol for every key of expected. */
function within(actual: Record<string, number>, expected: Record<string, number>, tol: number, what: string) {
  for (const [k, v] of Object.entries(expected)) {
    const d = Math.abs((actual[k] ?? Number.NaN) - v);
    if (!(d <= tol)) return `${what}.${k}: expected ${v} ± ${tol}, got ${actual[k]}`;
  }
  return null;
}

function checkExistingFit(fit: BTFit, e: any): string | null {
  if (!fit.converged) return `did not converge (max gradient ${fit.maxGradient})`;
  return (
    compareDeep(fit.beta, e.beta, 0, BETA_ABS, "beta") ??
    compareDeep(fit.ratings, e.ratings, 0, RATING_ABS, "ratings") ??
    compareDeep(fit.negLogLikelihood, e.neg_log_likelihood, 1e-12, 0, "neg_log_likelihood") ??
    compareDeep(winProbabilities(fit.ratings!, fit.components), e.win_prob, 0, PROB_ABS, "win_prob") ??
    (e.ratings_anchored
      ? compareDeep(fit.ratingsAnchored, e.ratings_anchored, 0, RATING_ABS, "ratings_anchored")
      : null)
  );
}

export const module: CheckerModule = {
  checkers: {
    elo_online: async (c, ctx) => {
      const elo = new OnlineElo(c.params ?? {});
      await forEachBattle(c, ctx, (b) => elo.update(b));
      const tol = c.input.battles_file ? 1e-6 : 1e-8;
      return compareDeep(elo.ratings(), (c.expected as any).ratings, 0, tol, "ratings");
    },

    bradley_terry: async (c, ctx) => {
      const p = c.params ?? {};
      const e = c.expected as any;
      const agg = new BattleAggregator();
      await forEachBattle(c, ctx, (b) => agg.add(b));
      const fit = fitBradleyTerry(agg.matchups(), {
        base: p.base,
        scale: p.scale,
        initRating: p.init_rating,
        anchor: p.anchor_model ? { model: p.anchor_model, rating: p.anchor_rating } : undefined,
      });
      const m =
        sameList(fit.models, e.models, "models") ??
        sameList(fit.components, e.components, "components") ??
        sameList(fit.mleExists, e.mle_exists, "mle_exists");
      if (m) return m;
      if (e.mle_exists) {
        return (
          checkExistingFit(fit, e) ??
          within(fit.ratings!, e.fastchat_compute_bt, e.fastchat_max_abs_diff + 1e-6, "fastchat_compute_bt")
        );
      }
      // No finite MLE: the status must say so and the order must match what scipy stopped at.
      if (fit.ratings !== null || fit.existence.message === "") return "non-existence not reported clearly";
      const o = sameList(order(fit.orderingRatings!), order(e.fastchat_compute_bt), "ordering vs fastchat");
      if (o) return o;
      if (e.limit_ratings_others) {
        // The undefeated model must be named; the others approach the MLE without it.
        const top = order(e.fastchat_compute_bt)[0];
        if (!fit.existence.failures.some((f) => f.neverLose.includes(top)))
          return `existence failure does not name ${top} as never losing: ${fit.existence.message}`;
        const others = Object.keys(e.limit_ratings_others);
        const mean = others.reduce((s, k) => s + fit.orderingRatings![k], 0) / others.length;
        const shifted = Object.fromEntries(others.map((k) => [k, fit.orderingRatings![k] - mean + 1000]));
        return within(shifted, e.limit_ratings_others, 0.01, "others vs limit_ratings_others");
      }
      return null;
    },

    bradley_terry_lr: async (c, ctx) => {
      const p = c.params ?? {};
      const e = c.expected as any;
      const fit = fitBradleyTerryLR(await battlesOf(c, ctx), {
        SCALE: p.SCALE,
        BASE: p.BASE,
        INIT_RATING: p.INIT_RATING,
        penalty: p.penalty ?? null,
        C: p.C,
        winWeight: p.win_weight,
        tieWeight: p.tie_weight,
      });
      const m = sameList(fit.models, e.models, "models");
      if (m) return m;
      if (p.penalty === "l2") {
        return (
          compareDeep(fit.ratings, e.ratings, 0, RATING_ABS, "ratings") ??
          within(fit.ratings!, e.sklearn_ratings, e.sklearn_max_abs_diff + 1e-6, "sklearn_ratings")
        );
      }
      const x = sameList(fit.mleExists, e.mle_exists, "mle_exists");
      if (x) return x;
      if (!e.mle_exists)
        return sameList(order(fit.orderingRatings!), order(e.sklearn_ratings), "ordering vs sklearn");
      if (!fit.converged) return "did not converge";
      return (
        compareDeep(fit.ratings, e.ratings, 0, RATING_ABS, "ratings") ??
        within(fit.ratings!, e.sklearn_ratings, e.sklearn_max_abs_diff + 1e-6, "sklearn_ratings")
      );
    },

    bradley_terry_weighted: (c) => {
      const p = c.params ?? {};
      const e = c.expected as any;
      const fit = fitBradleyTerry(matchupsFromRows(c.input.models, c.input.matchups), {
        base: p.base,
        scale: p.scale,
        initRating: p.init_rating,
      });
      return (
        sameList(fit.models, e.models, "models") ??
        sameList(fit.mleExists, e.mle_exists, "mle_exists") ??
        checkExistingFit(fit, e) ??
        within(
          fit.ratings!,
          e.fastchat_fit_bt_ratings,
          e.fastchat_max_abs_diff + 1e-6,
          "fastchat_fit_bt_ratings",
        )
      );
    },
  },
};
