import { passAtK, passAtKMean } from "../../../src/metrics/pass_at_k.js";
import { brierScore, eceEqualMass } from "../../../src/stats/calibration.js";
import {
  meanStderr,
  pooledStderr,
  pooledStderrFromValues,
  wilsonInterval,
} from "../../../src/stats/intervals.js";
import { mcnemarChi2, mcnemarExact, pairedTable, pairedTTest } from "../../../src/stats/paired.js";
import { compareDeep } from "../compare.js";
import type { CheckerModule, GoldenCase } from "../types.js";

// README tolerances: closed forms abs/rel 1e-12, p-values rel 1e-6.
const CLOSED = 1e-12;
const PVALUE = 1e-6;

/** Compares the closed-form fields and the p-value with their own tolerances. */
function checkWithPvalue(
  actual: Record<string, unknown>,
  expected: unknown,
  closedRel = CLOSED,
): string | null {
  const { pvalue, ...rest } = expected as Record<string, unknown>;
  const { pvalue: gotP, ...gotRest } = actual;
  return compareDeep(gotRest, rest, closedRel, CLOSED) ?? compareDeep(gotP, pvalue, PVALUE, 0, "pvalue");
}

function table(c: GoldenCase): { b: number; c: number; error: string | null } {
  const t = c.input.table as number[][];
  // When the paired vectors are given, the table built from them must match.
  if (Array.isArray(c.input.x) && Array.isArray(c.input.y)) {
    const built = pairedTable(c.input.x, c.input.y);
    const m = compareDeep(built, t, 0, 0, "table");
    if (m) return { b: 0, c: 0, error: m };
  }
  return { b: t[0][1], c: t[1][0], error: null };
}

/** Golden checkers for ../shared/golden/stats (see its README). */
export const module: CheckerModule = {
  checkers: {
    wilson_interval: (c) => {
      const { count, nobs } = c.input;
      return compareDeep(wilsonInterval(count, nobs, c.params.confidence), c.expected, CLOSED, CLOSED);
    },
    mean_stderr: (c) => {
      const r = meanStderr(c.input.values, c.params.ddof ?? 1);
      return compareDeep({ mean: r.mean, stderr: r.stderr }, c.expected, CLOSED, CLOSED);
    },
    pooled_stderr: (c) =>
      compareDeep(pooledStderr(c.input.stderrs, c.input.sizes), c.expected, CLOSED, CLOSED),
    pooled_stderr_from_values: (c) => {
      const r = pooledStderrFromValues(c.input.subtasks);
      const actual = {
        means: r.means,
        stderrs: r.stderrs,
        sizes: r.sizes,
        weighted_mean: r.weightedMean,
        pooled_stderr: r.pooledStderr,
        concatenated_stderr: r.concatenatedStderr,
      };
      return compareDeep(actual, c.expected, CLOSED, CLOSED);
    },
    mcnemar_exact: (c) => {
      const t = table(c);
      if (t.error) return t.error;
      return checkWithPvalue({ ...mcnemarExact(t.b, t.c) }, c.expected);
    },
    mcnemar_chi2: (c) => {
      const t = table(c);
      if (t.error) return t.error;
      return checkWithPvalue({ ...mcnemarChi2(t.b, t.c, c.params.correction ?? true) }, c.expected);
    },
    paired_ttest: (c) => {
      if (c.params.alternative && c.params.alternative !== "two-sided")
        return `unsupported alternative ${c.params.alternative}`;
      const r = pairedTTest(c.input.a, c.input.b);
      // The statistic is a ratio of rounded sums: hold it to 1e-10 relative rather than 1e-12.
      return checkWithPvalue({ statistic: r.statistic, pvalue: r.pvalue, df: r.df }, c.expected, 1e-10);
    },
    pass_at_k: (c) => compareDeep(passAtK(c.input.n, c.input.c, c.input.k), c.expected, CLOSED, CLOSED),
    pass_at_k_mean: (c) => compareDeep(passAtKMean(c.input.samples, c.params.k), c.expected, CLOSED, CLOSED),
    ece_equal_mass: (c) =>
      compareDeep(
        eceEqualMass(c.input.probs, c.input.correct, c.params.num_bins ?? 10),
        c.expected,
        CLOSED,
        CLOSED,
      ),
    brier_score: (c) => compareDeep(brierScore(c.input.probs, c.input.labels), c.expected, CLOSED, CLOSED),
  },
};
