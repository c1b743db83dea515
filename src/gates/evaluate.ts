/**
 * Evaluates a gate config against candidate runs (and baseline runs for compare_to rules).
 *
 * Each rule becomes one check per matching candidate run (per model for operational metrics
 * without a task). Decisions:
 * - min/max: fail when the observed value is below min or above max;
 * - compare_to: Δ = candidate − baseline from the paired comparison (gates/compare.ts); fail when
 *   the end of its two-sided `confidence` interval in the worse direction is beyond −max_drop
 *   (higher-is-better: CI low < −max_drop; lower-is-better: CI high > +max_drop), i.e. the gate
 *   passes only when a drop larger than max_drop is ruled out. Operational metrics have no
 *   per-sample data: their point Δ is compared with max_drop. With several compare checks the
 *   Holm-adjusted p-values (of "no difference") are reported as well;
 * - range: outside [lo, hi] (fixed, or from the history of earlier runs) warns, or fails with
 *   `fail: true`.
 */
import type { ComparisonRow } from "../report/comparison_types.js";
import { holm } from "../stats/multiple.js";
import type { RunRecord, Store } from "../store/types.js";
import { didYouMean, nearestNames, UserError } from "../util/errors.js";
import { compareRuns, type RunComparison } from "./compare.js";
import type { GateConfig, GateRule, OperationalMetric } from "./gate_config.js";
import {
  historyOf,
  historyRange,
  MIN_HISTORY_RUNS,
  missingKeyError,
  operationalHigherIsBetter,
  operationalValue,
} from "./history.js";

export type CheckStatus = "pass" | "fail" | "warn" | "skip";

export interface GateCheck {
  rule: GateRule;
  /** Task of the checked run(s); undefined for an operational metric over all of a model's runs. */
  task?: string;
  model: string;
  candidateRuns: string[];
  baselineRuns?: string[];
  /** Observed candidate value (null when it cannot be measured, e.g. no timed request). */
  observed: number | null;
  higherIsBetter: boolean;
  /** Threshold in words, e.g. `≥ 0.4`, `Δ ≥ −0.02 (95% CI low)`. */
  threshold: string;
  baseline?: number;
  delta?: number;
  ciLow?: number;
  ciHigh?: number;
  pValue?: number;
  /** Holm-adjusted p-value over all compare checks of the gate (when there are several). */
  pHolm?: number;
  test?: string;
  /** Bounds of a range rule. */
  lo?: number;
  hi?: number;
  /** Past runs a history range came from (oldest first). */
  history?: { runs: string[]; values: number[]; mean?: number; sd?: number };
  status: CheckStatus;
  /** One line saying why, fit for an annotation. */
  message: string;
}

export interface GateResult {
  file: string;
  checks: GateCheck[];
  passed: boolean;
  counts: Record<CheckStatus, number>;
}

export interface EvaluateOptions {
  seed?: number;
  /** Every run in the store (for history ranges); read from the store when absent. */
  allRuns?: RunRecord[];
}

const fmt = (x: number): string => {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return x.toExponential(3);
  return String(Number(x.toPrecision(6)));
};
const signed = (x: number): string => (x >= 0 ? `+${fmt(x === 0 ? 0 : x)}` : fmt(x));
const pct = (c: number): string => `${Number((c * 100).toPrecision(4))}%`;

function whereOf(config: GateConfig, rule: GateRule) {
  return { file: config.file, line: rule.line, field: `gates[${rule.index}].metric` };
}

/** Candidate runs a task-metric rule applies to. */
function runsForRule(config: GateConfig, rule: GateRule, candidates: RunRecord[]): RunRecord[] {
  const where = whereOf(config, rule);
  const { task, key } = rule.metric;
  if (task !== undefined) {
    const runs = candidates.filter((r) => r.task === task);
    const tasks = new Set(candidates.map((r) => r.task));
    if (runs.length === 0)
      throw new UserError(`no candidate run of task '${task}'`, {
        ...where,
        expected: `a task among the candidates: ${[...tasks].join(", ")}`,
        hint: nearestNames(task, tasks).length ? didYouMean(task, tasks) : undefined,
      });
    if (!rule.metric.operational)
      for (const r of runs) if (!(key in (r.aggregates ?? {}))) throw missingKeyError(r, key, where);
    return runs;
  }
  const runs = candidates.filter((r) => key in (r.aggregates ?? {}));
  if (runs.length === 0)
    throw new UserError(`no candidate run has metric '${key}'`, {
      ...where,
      expected: "a metric key of the candidate runs, or task/metric",
      hint: `candidate metrics: ${[...new Set(candidates.flatMap((r) => Object.keys(r.aggregates ?? {})))].join(", ")}`,
    });
  return runs;
}

function groupByModel(runs: RunRecord[]): Map<string, RunRecord[]> {
  const out = new Map<string, RunRecord[]>();
  for (const r of runs) out.set(r.model, [...(out.get(r.model) ?? []), r]);
  return out;
}

function thresholdCheck(
  rule: GateRule,
  base: Omit<GateCheck, "status" | "message" | "threshold">,
): GateCheck {
  const { min, max } = rule;
  const threshold =
    min !== undefined && max !== undefined
      ? `in [${fmt(min)}, ${fmt(max)}]`
      : min !== undefined
        ? `≥ ${fmt(min)}`
        : `≤ ${fmt(max!)}`;
  const v = base.observed;
  if (v === null)
    return { ...base, threshold, status: "skip", message: `${rule.name}: not measured (no timed requests)` };
  const bad = Number.isNaN(v) || (min !== undefined && v < min) || (max !== undefined && v > max);
  const status: CheckStatus = bad ? (rule.fail ? "fail" : "warn") : "pass";
  return { ...base, threshold, status, message: `${rule.name} = ${fmt(v)}, expected ${threshold}` };
}

function rangeCheck(
  rule: GateRule,
  base: Omit<GateCheck, "status" | "message" | "threshold">,
  lo: number,
  hi: number,
  what: string,
): GateCheck {
  const threshold = `in [${fmt(lo)}, ${fmt(hi)}]${what}`;
  const v = base.observed;
  if (v === null)
    return {
      ...base,
      lo,
      hi,
      threshold,
      status: "skip",
      message: `${rule.name}: not measured (no timed requests)`,
    };
  const inside = v >= lo && v <= hi;
  return {
    ...base,
    lo,
    hi,
    threshold,
    status: inside ? "pass" : rule.fail ? "fail" : "warn",
    message: inside
      ? `${rule.name} = ${fmt(v)}, within [${fmt(lo)}, ${fmt(hi)}]${what}`
      : `${rule.name} = ${fmt(v)} is outside the expected range [${fmt(lo)}, ${fmt(hi)}]${what}`,
  };
}

/** The bound of Δ that decides a compare rule, and its threshold text. */
function compareDecision(rule: GateRule, hib: boolean, lo: number, hi: number, withCi: boolean) {
  const conf = pct(rule.confidence);
  const bound = hib ? lo : hi;
  const threshold = hib
    ? `Δ ≥ ${fmt(rule.maxDrop === 0 ? 0 : -rule.maxDrop)}${withCi ? ` (${conf} CI low)` : ""}`
    : `Δ ≤ ${signed(rule.maxDrop)}${withCi ? ` (${conf} CI high)` : ""}`;
  const ok = hib ? bound >= -rule.maxDrop : bound <= rule.maxDrop;
  return { bound, threshold, ok: ok && !Number.isNaN(bound) };
}

export async function evaluateGate(
  store: Store,
  config: GateConfig,
  candidates: RunRecord[],
  baselines: RunRecord[] = [],
  opts: EvaluateOptions = {},
): Promise<GateResult> {
  if (candidates.length === 0)
    throw new UserError("no candidate runs", { field: "--candidate", expected: "one or more run ids" });
  for (const r of [...candidates, ...baselines])
    if (r.status !== "completed")
      throw new UserError(`run ${r.id} is ${r.status}`, {
        field: "run",
        expected: "completed runs (resume it with: assay run --resume <id>)",
      });
  const candidateIds = new Set(candidates.map((r) => r.id));
  let allRuns = opts.allRuns;
  const comparisons = new Map<string, RunComparison>();
  const compare = async (b: RunRecord, c: RunRecord, confidence: number) => {
    const k = `${b.id}\0${c.id}\0${confidence}`;
    let cmp = comparisons.get(k);
    if (!cmp)
      comparisons.set(k, (cmp = await compareRuns(store, b, c, { confidence, seed: opts.seed ?? 1234 })));
    return cmp;
  };

  const checks: GateCheck[] = [];
  for (const rule of config.rules) {
    const where = whereOf(config, rule);
    const { metric } = rule;
    // Units checked: one run each, or all of a model's runs for a task-less operational metric.
    const units: RunRecord[][] =
      metric.operational && metric.task === undefined
        ? [...groupByModel(candidates).values()]
        : runsForRule(config, rule, candidates).map((r) => [r]);
    for (const runs of units) {
      const first = runs[0];
      const observedOf = (rs: RunRecord[]): { value: number | null; hib: boolean } => {
        if (metric.operational) {
          const name = metric.key as OperationalMetric;
          return { value: operationalValue(rs, name), hib: operationalHigherIsBetter(name) };
        }
        const a = rs[0].aggregates[metric.key];
        return { value: a.value, hib: a.higherIsBetter };
      };
      const obs = observedOf(runs);
      const base: Omit<GateCheck, "status" | "message" | "threshold"> = {
        rule,
        task: metric.task === undefined && metric.operational ? undefined : first.task,
        model: first.model,
        candidateRuns: runs.map((r) => r.id),
        observed: obs.value,
        higherIsBetter: obs.hib,
      };
      if (rule.kind === "threshold") {
        checks.push(thresholdCheck(rule, base));
        continue;
      }
      if (rule.kind === "range") {
        const range = rule.range!;
        if ("lo" in range) {
          checks.push(rangeCheck(rule, base, range.lo, range.hi, ""));
          continue;
        }
        const h = range.history;
        allRuns ??= await store.listRuns();
        const points = historyOf(allRuns, {
          task: first.task,
          ref: metric,
          model: h.model ?? first.model,
          before: first.createdAt,
          exclude: candidateIds,
          last: h.runs,
        });
        const values = points.map((p) => p.value.value);
        const history = { runs: points.map((p) => p.run.id), values };
        if (values.length < MIN_HISTORY_RUNS) {
          checks.push({
            ...base,
            history,
            threshold: "history range",
            status: "skip",
            message: `${rule.name}: only ${values.length} earlier completed run(s) of ${first.task} with model ${h.model ?? first.model}; a history range needs ${MIN_HISTORY_RUNS}`,
          });
          continue;
        }
        const r = historyRange(values, h);
        const what =
          h.method === "sd"
            ? ` (mean ± ${fmt(h.k)} sd of ${values.length} runs)`
            : ` (min–max of ${values.length} runs)`;
        checks.push({
          ...rangeCheck(rule, base, r.lo, r.hi, what),
          history: { ...history, mean: r.mean, sd: r.sd },
        });
        continue;
      }

      // compare_to: baseline
      if (baselines.length === 0)
        throw new UserError("rule compares to the baseline but no baseline runs were given", {
          ...where,
          field: `gates[${rule.index}].compare_to`,
          expected: "--baseline RUN[,RUN...]",
        });
      if (metric.operational) {
        const baseRuns =
          metric.task === undefined
            ? baselines.filter((b) => runs.some((c) => c.task === b.task))
            : baselines.filter((b) => b.task === metric.task).slice(0, 1);
        if (baseRuns.length === 0)
          throw new UserError(
            `no baseline run of task${metric.task ? ` '${metric.task}'` : "s"} ${metric.task ?? runs.map((r) => r.task).join(", ")}`,
            {
              ...where,
              expected: "a baseline run of the same task",
            },
          );
        const b = operationalValue(baseRuns, metric.key as OperationalMetric);
        const c = obs.value;
        const withBase = { ...base, baselineRuns: baseRuns.map((r) => r.id) };
        if (b === null || c === null) {
          checks.push({
            ...withBase,
            threshold: "",
            status: "skip",
            message: `${rule.name}: not measured (no timed requests)`,
          });
          continue;
        }
        const delta = c - b;
        const d = compareDecision(rule, obs.hib, delta, delta, false);
        checks.push({
          ...withBase,
          baseline: b,
          delta,
          threshold: d.threshold,
          status: d.ok ? "pass" : rule.fail ? "fail" : "warn",
          message: `${rule.name}: ${fmt(b)} → ${fmt(c)} (Δ ${signed(delta)}), expected ${d.threshold}`,
        });
        continue;
      }
      const b = baselines.find((x) => x.task === first.task);
      if (!b)
        throw new UserError(`no baseline run of task '${first.task}'`, {
          ...where,
          expected: `a baseline run of ${first.task} among --baseline`,
        });
      if (!(metric.key in (b.aggregates ?? {}))) throw missingKeyError(b, metric.key, where);
      const cmp = await compare(b, first, rule.confidence);
      const row: ComparisonRow | undefined = cmp.rows.find((r) => r.metric === metric.key);
      const withBase = { ...base, baselineRuns: [b.id], baseline: b.aggregates[metric.key].value };
      if (!row) {
        checks.push({
          ...withBase,
          threshold: compareDecision(rule, obs.hib, 0, 0, true).threshold,
          status: rule.fail ? "fail" : "warn",
          message: `${rule.name}: fewer than 2 samples are shared by ${b.id} and ${first.id}; the drop cannot be bounded`,
        });
        continue;
      }
      const d = compareDecision(rule, obs.hib, row.ciLow, row.ciHigh, true);
      checks.push({
        ...withBase,
        delta: row.delta,
        ciLow: row.ciLow,
        ciHigh: row.ciHigh,
        pValue: row.pValue,
        test: row.test,
        threshold: d.threshold,
        status: d.ok ? "pass" : rule.fail ? "fail" : "warn",
        message: `${rule.name}: ${fmt(row.baseline)} → ${fmt(row.candidate)}, Δ ${signed(row.delta)} [${signed(row.ciLow)}, ${signed(row.ciHigh)}] (${pct(rule.confidence)} CI), expected ${d.threshold}`,
      });
    }
  }

  const compared = checks.filter((c) => c.pValue !== undefined && Number.isFinite(c.pValue));
  if (compared.length > 1) {
    const adjusted = holm(compared.map((c) => c.pValue!));
    compared.forEach((c, i) => {
      c.pHolm = adjusted[i];
    });
  }
  const counts: Record<CheckStatus, number> = { pass: 0, fail: 0, warn: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  return { file: config.file, checks, passed: counts.fail === 0, counts };
}
