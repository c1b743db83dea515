import {
  cohenKappa,
  fleissKappa,
  krippendorffAlpha,
  percentAgreement,
} from "../../../src/stats/agreement.js";
import { type CorrelationResult, kendallTau, pearson, spearman } from "../../../src/stats/correlation.js";
import { closeTo, compareDeep } from "../compare.js";
import type { CheckerModule } from "../types.js";

/** README tolerances: statistics abs 1e-12 (or rel 1e-10), p-values rel 1e-6 / abs 1e-12. */
function stat(actual: number, expected: number, what = "value"): string | null {
  return closeTo(actual, expected, 1e-10, 1e-12) ? null : `${what}: expected ${expected}, got ${actual}`;
}

function correlation(r: CorrelationResult, e: { statistic: number; pvalue: number }): string | null {
  return (
    stat(r.statistic, e.statistic, "statistic") ??
    (closeTo(r.pvalue, e.pvalue, 1e-6, 1e-12) ? null : `pvalue: expected ${e.pvalue}, got ${r.pvalue}`)
  );
}

export const module: CheckerModule = {
  checkers: {
    cohen_kappa: (c) =>
      stat(
        cohenKappa(c.input.y1, c.input.y2, {
          labels: c.input.labels ?? undefined,
          weights: c.params?.weights ?? null,
        }),
        c.expected as number,
      ),

    fleiss_kappa: (c) =>
      stat(
        fleissKappa(c.input.ratings, {
          method: c.params?.method ?? "fleiss",
          categories: c.input.categories ?? undefined,
        }),
        c.expected as number,
      ),

    krippendorff_alpha: (c) => {
      const r = krippendorffAlpha(c.input.units, {
        level: c.params?.level ?? "nominal",
        valueDomain: c.input.value_domain ?? undefined,
      });
      const e = c.expected as { alpha: number; n_pairable: number; D_o: number; D_e: number };
      return (
        stat(r.alpha, e.alpha, "alpha") ??
        (r.n_pairable === e.n_pairable
          ? null
          : `n_pairable: expected ${e.n_pairable}, got ${r.n_pairable}`) ??
        // D_o / D_e are unnormalised (ordinal values reach 1e6): relative comparison.
        compareDeep(r.D_o, e.D_o, 1e-10, 1e-14, "D_o") ??
        compareDeep(r.D_e, e.D_e, 1e-10, 1e-14, "D_e")
      );
    },

    percent_agreement: (c) => {
      const p = c.params ?? {};
      const r = percentAgreement(c.input, {
        mode: p.mode,
        tieLabels: p.tie_labels ?? undefined,
        excludeTies: p.exclude_ties ?? false,
        noMajority: p.no_majority ?? undefined,
      });
      const e = c.expected as { agree: number; total: number; rate: number };
      if (r.agree !== e.agree || r.total !== e.total)
        return `expected ${e.agree}/${e.total}, got ${r.agree}/${r.total}`;
      return stat(r.rate, e.rate, "rate");
    },

    spearman: (c) => correlation(spearman(c.input.x, c.input.y), c.expected as any),
    pearson: (c) => correlation(pearson(c.input.x, c.input.y), c.expected as any),
    kendall_tau: (c) =>
      correlation(kendallTau(c.input.x, c.input.y, { variant: c.params?.variant ?? "b" }), c.expected as any),
  },
};
