/** A GitHub-flavoured Markdown report, sized for a pull-request comment. */
import type { RunRecord } from "../store/types.js";
import type { ComparisonRow, Verdict } from "./comparison_types.js";
import { OPERATIONAL_COLUMNS, operationalCells } from "./export.js";
import { aggregateEntries, fmtCI, fmtInt, fmtNum, fmtP, fmtSigned, groupByTask } from "./format.js";

/**
 * Escapes user text for inline Markdown: backslash-escapes punctuation that could start markup,
 * HTML, math or break a table cell, and folds newlines (a cell must stay on one line).
 */
export function mdEscape(s: string): string {
  return String(s)
    .replace(/\r\n|\r|\n/g, " ")
    .replace(/[\\`*_[\]<>|#~&$@!]/g, (c) => `\\${c}`);
}

const VERDICT: Record<Verdict, string> = {
  better: "🟢 better",
  worse: "🔴 worse",
  "no significant difference": "⚪ no significant difference",
};

const row = (cells: string[]) => `| ${cells.join(" | ")} |`;
const sep = (right: boolean[]) => `|${right.map((r) => (r ? " ---: " : " --- ")).join("|")}|`;

function table(header: string[], right: boolean[], rows: string[][]): string[] {
  return [row(header), sep(right), ...rows.map(row)];
}

function comparisonSection(rows: ComparisonRow[]): string[] {
  const n = (v: Verdict) => rows.filter((r) => r.verdict === v).length;
  const out = [
    "### Comparison",
    "",
    `${VERDICT.better}: ${n("better")} · ${VERDICT.worse}: ${n("worse")} · ${VERDICT["no significant difference"]}: ${n("no significant difference")}`,
    "",
  ];
  out.push(
    ...table(
      ["Task", "Metric", "Baseline", "Candidate", "Δ", "95% CI", "p", "Verdict", "Test"],
      [false, false, true, true, true, false, true, false, false],
      rows.map((r) => [
        mdEscape(r.task),
        mdEscape(r.metric),
        fmtNum(r.baseline),
        fmtNum(r.candidate),
        fmtSigned(r.delta),
        `[${fmtSigned(r.ciLow)}, ${fmtSigned(r.ciHigh)}]`,
        fmtP(r.pValue),
        VERDICT[r.verdict] ?? mdEscape(String(r.verdict)),
        mdEscape(r.test),
      ]),
    ),
  );
  return out;
}

function modelCell(run: RunRecord): string {
  return run.status === "completed" ? mdEscape(run.model) : `${mdEscape(run.model)} (${run.status})`;
}

function taskSection(task: string, runs: RunRecord[]): string[] {
  const out = [`### ${mdEscape(task)}`, ""];
  const metricRows: string[][] = [];
  for (const run of runs)
    for (const [key, a] of aggregateEntries(run))
      metricRows.push([
        modelCell(run),
        mdEscape(key),
        fmtNum(a.value),
        `± ${fmtNum(a.stderr)}`,
        fmtCI(a.ciLow, a.ciHigh),
        fmtInt(a.n),
      ]);
  if (metricRows.length)
    out.push(
      ...table(
        ["Model", "Metric", "Value", "± Stderr", "95% CI", "n"],
        [false, false, true, true, false, true],
        metricRows,
      ),
    );
  else out.push("_No results yet._");
  out.push("", "<details><summary>Operational metrics</summary>", "");
  out.push(
    ...table(
      ["Model", ...OPERATIONAL_COLUMNS],
      ["Model", ...OPERATIONAL_COLUMNS].map((_, i) => i > 0),
      runs.map((run) => [modelCell(run), ...operationalCells(run)]),
    ),
  );
  out.push("", "</details>");
  return out;
}

export function markdownReport(runs: RunRecord[], comparisons?: ComparisonRow[]): string {
  const byTask = groupByTask(runs);
  const models = [...new Set(runs.map((r) => r.model))];
  const lines = [
    "## Evaluation report",
    "",
    `${runs.length} run${runs.length === 1 ? "" : "s"} · ${byTask.size} task${byTask.size === 1 ? "" : "s"} · ` +
      `models: ${models.map(mdEscape).join(", ") || "none"}`,
    "",
  ];
  // Comparisons first: in a PR comment the verdict is what a reader looks for.
  if (comparisons?.length) lines.push(...comparisonSection(comparisons), "");
  for (const [task, taskRuns] of byTask) lines.push(...taskSection(task, taskRuns), "");
  lines.push("<sub>Values ± standard error; 95% confidence intervals.</sub>");
  return `${lines.join("\n")}\n`;
}
