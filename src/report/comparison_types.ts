/** One metric compared between a baseline and a candidate run, as the reports render it. */
export type Verdict = "better" | "worse" | "no significant difference";

export interface ComparisonRow {
  task: string;
  /** Metric key as in the run aggregates, e.g. `acc,none`. */
  metric: string;
  baseline: number;
  candidate: number;
  /** candidate − baseline. */
  delta: number;
  /** Confidence interval of the delta (95% unless the caller says otherwise). */
  ciLow: number;
  ciHigh: number;
  pValue: number;
  verdict: Verdict;
  /** Name of the test that produced the p-value, e.g. `paired t`, `McNemar`. */
  test: string;
}
