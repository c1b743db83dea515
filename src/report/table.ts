/** Plain-text tables for the terminal. */
import type { RunRecord } from "../store/types.js";
import type { ComparisonRow } from "./comparison_types.js";
import { operationalMetrics } from "./export.js";
import {
  aggregateEntries,
  alignColumns,
  fmtCI,
  fmtCost,
  fmtDuration,
  fmtInt,
  fmtMs,
  fmtNum,
  fmtP,
  fmtSigned,
  printable,
} from "./format.js";

/** One line of a run's operational counters. */
export function operationalLine(run: RunRecord): string {
  const op = operationalMetrics(run);
  const parts = [
    `${fmtInt(op.requests)} requests (${fmtInt(op.cache_hits)} cached)`,
    `${fmtInt(op.errors)} errors, ${fmtInt(op.retries)} retries`,
    `latency p50 ${fmtMs(op.latency_p50_ms)} / p95 ${fmtMs(op.latency_p95_ms)} / p99 ${fmtMs(op.latency_p99_ms)}`,
    `tokens ${fmtInt(op.input_tokens)} in / ${fmtInt(op.output_tokens)} out`,
    fmtCost(op.cost_usd),
    fmtDuration(op.elapsed_s),
  ];
  return parts.join(" · ");
}

/** Metric values of runs with ± stderr, 95% CI and n, then one operational line per run. */
export function formatRunTable(runs: RunRecord[]): string {
  if (runs.length === 0) return "No runs.\n";
  const header = ["Task", "Model", "Metric", "Value", "± Stderr", "95% CI", "n"];
  const right = [false, false, false, true, true, false, true];
  const rows: string[][] = [];
  for (const run of runs) {
    const task = printable(run.task);
    const model = printable(run.model);
    const entries = aggregateEntries(run);
    if (entries.length === 0) rows.push([task, model, `(${run.status}, no results)`, "", "", "", ""]);
    for (const [key, a] of entries)
      rows.push([
        task,
        model,
        printable(key),
        fmtNum(a.value),
        `± ${fmtNum(a.stderr)}`,
        fmtCI(a.ciLow, a.ciHigh),
        fmtInt(a.n),
      ]);
  }
  const lines = alignColumns(header, rows, right);
  lines.push("");
  for (const run of runs) {
    const status = run.status === "completed" ? "" : ` [${run.status}]`;
    lines.push(`${printable(run.task)} · ${printable(run.model)}${status}: ${operationalLine(run)}`);
  }
  return `${lines.join("\n")}\n`;
}

const VERDICT_MARK: Record<ComparisonRow["verdict"], string> = {
  better: "▲ better",
  worse: "▼ worse",
  "no significant difference": "= no significant difference",
};

/** Counts of verdicts, e.g. `1 better, 2 worse, 3 no significant difference`. */
export function verdictSummary(rows: ComparisonRow[]): string {
  const n = (v: ComparisonRow["verdict"]) => rows.filter((r) => r.verdict === v).length;
  return `${n("better")} better, ${n("worse")} worse, ${n("no significant difference")} no significant difference`;
}

export function formatComparisonTable(rows: ComparisonRow[]): string {
  if (rows.length === 0) return "No comparisons.\n";
  const header = ["Task", "Metric", "Baseline", "Candidate", "Delta", "95% CI", "p", "Verdict", "Test"];
  const right = [false, false, true, true, true, false, true, false, false];
  const body = rows.map((r) => [
    printable(r.task),
    printable(r.metric),
    fmtNum(r.baseline),
    fmtNum(r.candidate),
    fmtSigned(r.delta),
    `[${fmtSigned(r.ciLow)}, ${fmtSigned(r.ciHigh)}]`,
    fmtP(r.pValue),
    VERDICT_MARK[r.verdict] ?? printable(String(r.verdict)),
    printable(r.test),
  ]);
  const lines = alignColumns(header, body, right);
  lines.push("", verdictSummary(rows));
  return `${lines.join("\n")}\n`;
}
