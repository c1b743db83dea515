/**
 * Metric values of runs (task metrics and operational ones) and their history across runs: the
 * trajectory of a task's metric over time and the non-regression range it implies.
 */
import { operationalMetrics } from "../report/export.js";
import { mean, std } from "../stats/descriptive.js";
import { emptyRunStats } from "../store/run_stats.js";
import type { RunRecord, RunStats } from "../store/types.js";
import { didYouMean, UserError } from "../util/errors.js";
import type { HistoryRange, MetricRef, OperationalMetric } from "./gate_config.js";

/** `acc` → `acc,none`; keys with a filter stay as they are. */
export const normalizeKey = (key: string): string => (key.includes(",") ? key : `${key},none`);

/** Whether a larger value of an operational metric is better (only cache hits). */
export const operationalHigherIsBetter = (name: OperationalMetric): boolean => name === "cache_hits";

/** A shell-style glob (`*` any text, `?` one character) as an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

/** Sums the operational counters of several runs (latency histograms merge bucket-wise). */
export function mergeStats(runs: RunRecord[]): RunStats {
  const out = emptyRunStats();
  for (const r of runs) {
    const s = r.stats;
    if (!s) continue;
    out.requests += s.requests ?? 0;
    out.cacheHits += s.cacheHits ?? 0;
    out.deduplicated += s.deduplicated ?? 0;
    out.retries += s.retries ?? 0;
    out.errors += s.errors ?? 0;
    out.inputTokens += s.inputTokens ?? 0;
    out.outputTokens += s.outputTokens ?? 0;
    out.cost += s.cost ?? 0;
    out.elapsedMs += s.elapsedMs ?? 0;
    for (const [b, c] of Object.entries(s.latencyHistogram ?? {}))
      out.latencyHistogram[b] = (out.latencyHistogram[b] ?? 0) + c;
  }
  return out;
}

/** An operational metric over one or more runs; null when undefined (no timed request, no request). */
export function operationalValue(runs: RunRecord[], name: OperationalMetric): number | null {
  if (runs.length === 0) return null;
  const op = operationalMetrics({ ...runs[0], stats: mergeStats(runs) });
  if (name === "error_rate") return op.requests === 0 ? null : op.errors / op.requests;
  return op[name];
}

export interface MetricValue {
  value: number;
  ciLow?: number;
  ciHigh?: number;
  n?: number;
  higherIsBetter: boolean;
}

/** The value of a task or operational metric in one run; undefined when the run lacks it. */
export function metricValue(
  run: RunRecord,
  ref: Pick<MetricRef, "key" | "operational">,
): MetricValue | undefined {
  if (ref.operational) {
    const name = ref.key as OperationalMetric;
    const v = operationalValue([run], name);
    return v === null ? undefined : { value: v, higherIsBetter: operationalHigherIsBetter(name) };
  }
  const a = run.aggregates?.[ref.key];
  if (!a) return undefined;
  return { value: a.value, ciLow: a.ciLow, ciHigh: a.ciHigh, n: a.n, higherIsBetter: a.higherIsBetter };
}

/** Error for a metric key a run does not have, naming the nearest keys it does have. */
export function missingKeyError(
  run: RunRecord,
  key: string,
  where: { file?: string; line?: number; field?: string } = {},
) {
  const keys = Object.keys(run.aggregates ?? {});
  return new UserError(`run ${run.id} (${run.task}) has no metric '${key}'`, {
    field: "metric",
    ...where,
    expected: keys.join(", ") || "a metric the task reports",
    hint: didYouMean(key, keys),
  });
}

export interface HistoryQuery {
  task: string;
  ref: Pick<MetricRef, "key" | "operational">;
  /** Glob on the model spec; all models when absent. */
  model?: string;
  /** Only runs created at or before this ISO time. */
  before?: string;
  /** Run ids to leave out (the candidates themselves). */
  exclude?: ReadonlySet<string>;
  /** Keep the latest N. */
  last?: number;
}

export interface HistoryPoint {
  run: RunRecord;
  value: MetricValue;
}

/** Completed runs of a task (and model glob) holding the metric, oldest first. */
export function historyOf(runs: RunRecord[], q: HistoryQuery): HistoryPoint[] {
  const re = q.model === undefined ? undefined : globToRegExp(q.model);
  const points: HistoryPoint[] = [];
  for (const run of runs) {
    if (run.status !== "completed" || run.task !== q.task) continue;
    if (re && !re.test(run.model)) continue;
    if (q.exclude?.has(run.id)) continue;
    if (q.before !== undefined && run.createdAt > q.before) continue;
    const value = metricValue(run, q.ref);
    if (value && Number.isFinite(value.value)) points.push({ run, value });
  }
  points.sort((a, b) => a.run.createdAt.localeCompare(b.run.createdAt) || a.run.id.localeCompare(b.run.id));
  return q.last === undefined ? points : points.slice(Math.max(0, points.length - q.last));
}

/** Fewest past runs a history range is computed from; below this the rule is skipped. */
export const MIN_HISTORY_RUNS = 3;

export interface RangeFromHistory {
  lo: number;
  hi: number;
  /** mean and sd for method sd. */
  mean?: number;
  sd?: number;
}

/** Expected range of the next value: mean ± k·sd (sample sd) or [min, max] of the past values. */
export function historyRange(
  values: readonly number[],
  h: Pick<HistoryRange, "method" | "k">,
): RangeFromHistory {
  if (values.length === 0) return { lo: Number.NaN, hi: Number.NaN };
  if (h.method === "minmax") return { lo: Math.min(...values), hi: Math.max(...values) };
  const m = mean(values);
  const sd = values.length > 1 ? std(values, 1) : 0;
  return { lo: m - h.k * sd, hi: m + h.k * sd, mean: m, sd };
}
