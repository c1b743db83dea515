/**
 * A self-contained HTML report: one file, inline CSS and SVG, nothing fetched (no scripts,
 * fonts or CDNs), so it can be attached to a CI run or mailed and still render.
 */
import type { AggregateValue, RunRecord } from "../store/types.js";
import type { ComparisonRow, Verdict } from "./comparison_types.js";
import { OPERATIONAL_COLUMNS, operationalCells } from "./export.js";
import { aggregateEntries, fmtCI, fmtInt, fmtNum, fmtP, fmtSigned, groupByTask, splitKey } from "./format.js";

/** Escapes text for HTML content and quoted attribute values (also valid inside inline SVG). */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;",
  );
}

const r2 = (x: number): number => Math.round(x * 100) / 100;

// Tableau 10 without its yellow, which vanishes on white.
const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d", "#ff9da6"];

interface Ctx {
  nextId(prefix: string): string;
  modelColor(model: string): string;
}

// ---------------------------------------------------------------------------------------------
// Scales and axes

/** A 1-2-5 step close to range/target. */
function niceStep(range: number, target = 5): number {
  const raw = range / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

interface Axis {
  d0: number;
  d1: number;
  ticks: number[];
  decimals: number;
}

/** Domain covering the values (and 0, the bars' base) rounded out to tick steps. */
function niceAxis(values: number[]): Axis {
  const finite = values.filter(Number.isFinite);
  let lo = Math.min(0, ...finite);
  let hi = Math.max(0, ...finite);
  if (hi - lo === 0) hi = lo + 1;
  const step = niceStep(hi - lo);
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-6; i++)
    ticks.push(Number((lo + i * step).toFixed(decimals)));
  return { d0: ticks[0], d1: ticks[ticks.length - 1], ticks, decimals };
}

function truncate(s: string, n: number): string {
  const cps = [...s];
  return cps.length <= n ? s : `${cps.slice(0, n - 1).join("")}…`;
}

interface ChartRow {
  label: string;
  tooltip: string;
  value: number;
  lo: number;
  hi: number;
  /** Bar fill (bar chart) or verdict class (forest plot). */
  color?: string;
  verdict?: Verdict;
  valueText: string;
}

const ROW_H = 28;
const TOP = 8;
const AXIS_H = 26;
const CHART_W = 640;

/**
 * A horizontal interval chart: bars from 0 with 95% CI error bars (`kind: "bar"`), or points with
 * CI whiskers and a zero line (`kind: "forest"`). Error bar lines carry class `ci`; axis ticks
 * carry `data-value`, so positions can be checked against the numbers.
 */
function intervalChart(
  ctx: Ctx,
  kind: "bar" | "forest",
  title: string,
  desc: string,
  rows: ChartRow[],
): string {
  const axis = niceAxis(rows.flatMap((r) => [r.value, r.lo, r.hi]));
  const labelChars = Math.min(36, Math.max(...rows.map((r) => [...r.label].length), 4));
  const left = Math.round(Math.min(260, Math.max(90, labelChars * 6.8 + 16)));
  const right = 150;
  const plotW = CHART_W - left - right;
  const x = (v: number) => r2(left + ((v - axis.d0) / (axis.d1 - axis.d0)) * plotW);
  const plotH = rows.length * ROW_H;
  const height = TOP + plotH + AXIS_H;
  const bottom = TOP + plotH;
  const tid = ctx.nextId("t");
  const did = ctx.nextId("d");
  const parts: string[] = [];
  parts.push(
    `<svg class="chart" viewBox="0 0 ${CHART_W} ${height}" width="${CHART_W}" height="${height}" role="img" aria-labelledby="${tid} ${did}">`,
    `<title id="${tid}">${escapeHtml(title)}</title>`,
    `<desc id="${did}">${escapeHtml(desc)}</desc>`,
  );
  // Grid and axis.
  parts.push(`<g class="axis">`);
  for (const t of axis.ticks) {
    const tx = x(t);
    parts.push(
      `<g class="tick" data-value="${t}"><line class="grid" x1="${tx}" x2="${tx}" y1="${TOP}" y2="${bottom}"/>` +
        `<text x="${tx}" y="${bottom + 16}" text-anchor="middle">${escapeHtml(t.toFixed(axis.decimals))}</text></g>`,
    );
  }
  parts.push(
    `<line class="baseline" x1="${left}" x2="${left + plotW}" y1="${bottom}" y2="${bottom}"/>`,
    `</g>`,
  );
  if (kind === "forest")
    parts.push(
      `<line class="zero" x1="${x(0)}" x2="${x(0)}" y1="${TOP - 4}" y2="${bottom}"><title>No difference (0)</title></line>`,
    );
  rows.forEach((r, i) => {
    const cy = r2(TOP + i * ROW_H + ROW_H / 2);
    const cls =
      kind === "forest"
        ? `row ${r.verdict === "better" ? "better" : r.verdict === "worse" ? "worse" : "ns"}`
        : "row";
    const g: string[] = [`<g class="${cls}"><title>${escapeHtml(r.tooltip)}</title>`];
    g.push(
      `<text class="label" x="${left - 8}" y="${cy + 4}" text-anchor="end">${escapeHtml(truncate(r.label, 36))}</text>`,
    );
    if (kind === "bar" && Number.isFinite(r.value)) {
      const x0 = x(0);
      const xv = x(r.value);
      g.push(
        `<rect class="bar" x="${Math.min(x0, xv)}" y="${r2(cy - 8)}" width="${r2(Math.abs(xv - x0))}" height="16" fill="${r.color ?? PALETTE[0]}"/>`,
      );
    }
    if (Number.isFinite(r.lo) && Number.isFinite(r.hi)) {
      const xl = x(r.lo);
      const xh = x(r.hi);
      g.push(
        `<line class="ci" x1="${xl}" x2="${xh}" y1="${cy}" y2="${cy}" data-low="${r.lo}" data-high="${r.hi}"/>`,
        `<line class="cap" x1="${xl}" x2="${xl}" y1="${cy - 5}" y2="${cy + 5}"/>`,
        `<line class="cap" x1="${xh}" x2="${xh}" y1="${cy - 5}" y2="${cy + 5}"/>`,
      );
    }
    if (kind === "forest" && Number.isFinite(r.value)) {
      const xv = x(r.value);
      g.push(
        `<path class="point" d="M${xv} ${cy - 6}L${r2(xv + 6)} ${cy}L${xv} ${cy + 6}L${r2(xv - 6)} ${cy}Z"/>`,
      );
    }
    g.push(`<text class="value" x="${left + plotW + 8}" y="${cy + 4}">${escapeHtml(r.valueText)}</text></g>`);
    parts.push(g.join(""));
  });
  parts.push(`</svg>`);
  return parts.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Sections

const th = (cols: string[], numeric: boolean[]) =>
  `<thead><tr>${cols.map((c, i) => `<th scope="col"${numeric[i] ? ' class="num"' : ""}>${c}</th>`).join("")}</tr></thead>`;
const td = (v: string, numeric = false) => `<td${numeric ? ' class="num"' : ""}>${v}</td>`;

function verdictBadge(v: Verdict): string {
  const cls = v === "better" ? "better" : v === "worse" ? "worse" : "ns";
  const mark = v === "better" ? "▲" : v === "worse" ? "▼" : "=";
  return `<span class="badge ${cls}">${mark} ${escapeHtml(v)}</span>`;
}

function comparisonSection(ctx: Ctx, rows: ComparisonRow[]): string {
  const n = (v: Verdict) => rows.filter((r) => r.verdict === v).length;
  const out: string[] = [`<section id="comparison"><h2>Comparison</h2>`];
  out.push(
    `<p class="chips">${verdictBadge("better")} ${n("better")} &nbsp; ${verdictBadge("worse")} ${n("worse")} &nbsp; ` +
      `${verdictBadge("no significant difference")} ${n("no significant difference")}</p>`,
  );
  const numeric = [false, false, true, true, true, false, true, false, false];
  out.push(
    `<table><caption>Candidate versus baseline, per task and metric (Δ = candidate − baseline)</caption>`,
    th(["Task", "Metric", "Baseline", "Candidate", "Δ", "95% CI of Δ", "p", "Verdict", "Test"], numeric),
    "<tbody>",
  );
  for (const r of rows)
    out.push(
      `<tr>${[
        td(escapeHtml(r.task)),
        td(escapeHtml(r.metric)),
        td(fmtNum(r.baseline), true),
        td(fmtNum(r.candidate), true),
        td(fmtSigned(r.delta), true),
        td(`[${fmtSigned(r.ciLow)}, ${fmtSigned(r.ciHigh)}]`),
        td(fmtP(r.pValue), true),
        td(verdictBadge(r.verdict)),
        td(escapeHtml(r.test)),
      ].join("")}</tr>`,
    );
  out.push("</tbody></table>");
  // One forest plot per metric: deltas of different metrics are on different scales.
  const byMetric = new Map<string, ComparisonRow[]>();
  for (const r of rows) byMetric.set(r.metric, [...(byMetric.get(r.metric) ?? []), r]);
  out.push(`<div class="charts">`);
  for (const [metric, list] of byMetric) {
    const title = `Δ ${metric} (candidate − baseline) with 95% CI`;
    out.push(
      `<figure>`,
      intervalChart(
        ctx,
        "forest",
        title,
        `Forest plot of ${list.length} difference${list.length === 1 ? "" : "s"}; the vertical line marks zero.`,
        list.map((r) => ({
          label: r.task,
          tooltip: `${r.task} · ${r.metric}: Δ ${fmtSigned(r.delta)}, 95% CI [${fmtSigned(r.ciLow)}, ${fmtSigned(r.ciHigh)}], p ${fmtP(r.pValue)} (${r.test}) — ${r.verdict}`,
          value: r.delta,
          lo: r.ciLow,
          hi: r.ciHigh,
          verdict: r.verdict,
          valueText: `${fmtSigned(r.delta)} (p ${fmtP(r.pValue)})`,
        })),
      ),
      `<figcaption>${escapeHtml(title)}</figcaption></figure>`,
    );
  }
  out.push(`</div></section>`);
  return out.join("\n");
}

function metricLabel(key: string): string {
  const { metric, filter } = splitKey(key);
  return filter === "none" ? metric : `${metric} (${filter})`;
}

function taskSection(ctx: Ctx, task: string, runs: RunRecord[]): string {
  const out: string[] = [`<section class="task"><h2>${escapeHtml(task)}</h2>`];
  const entries = runs.flatMap((run) => aggregateEntries(run).map(([key, a]) => ({ run, key, a })));
  if (entries.length === 0) {
    out.push(`<p class="muted">No results yet.</p></section>`);
    return out.join("\n");
  }
  // Several runs of one model on a task are told apart by run id.
  const modelCount = new Map<string, number>();
  for (const r of runs) modelCount.set(r.model, (modelCount.get(r.model) ?? 0) + 1);
  const runLabel = (r: RunRecord) => (modelCount.get(r.model)! > 1 ? `${r.model} [${r.id}]` : r.model);
  const numeric = [false, false, true, true, false, true];
  out.push(
    `<table><caption>Metrics for ${escapeHtml(task)}: value ± standard error, 95% confidence interval</caption>`,
    th(["Model", "Metric", "Value", "± Stderr", "95% CI", "n"], numeric),
    "<tbody>",
  );
  for (const { run, key, a } of entries)
    out.push(
      `<tr>${[
        td(
          `<span class="swatch" style="background:${ctx.modelColor(run.model)}"></span>${escapeHtml(runLabel(run))}` +
            (run.status === "completed" ? "" : ` <span class="muted">(${escapeHtml(run.status)})</span>`),
        ),
        td(escapeHtml(key)),
        td(fmtNum(a.value), true),
        td(`± ${fmtNum(a.stderr)}`, true),
        td(fmtCI(a.ciLow, a.ciHigh)),
        td(fmtInt(a.n), true),
      ].join("")}</tr>`,
    );
  out.push("</tbody></table>", `<div class="charts">`);
  const keys = [...new Set(entries.map((e) => e.key))];
  for (const key of keys) {
    const rows = entries
      .filter((e) => e.key === key)
      .map(({ run, a }: { run: RunRecord; a: AggregateValue }) => ({
        label: runLabel(run),
        tooltip: `${runLabel(run)} · ${key}: ${fmtNum(a.value)} ± ${fmtNum(a.stderr)}, 95% CI ${fmtCI(a.ciLow, a.ciHigh)}, n = ${a.n}`,
        value: a.value,
        lo: a.ciLow,
        hi: a.ciHigh,
        color: ctx.modelColor(run.model),
        valueText: `${fmtNum(a.value)} ± ${fmtNum(a.stderr)}`,
      }));
    const hib = entries.find((e) => e.key === key)!.a.higherIsBetter;
    const title = `${task}: ${metricLabel(key)} (${hib ? "higher" : "lower"} is better)`;
    out.push(
      `<figure>`,
      intervalChart(
        ctx,
        "bar",
        title,
        `Bar chart of ${key} per run with 95% confidence interval error bars.`,
        rows,
      ),
      `<figcaption>${escapeHtml(title)}</figcaption></figure>`,
    );
  }
  out.push(`</div></section>`);
  return out.join("\n");
}

function operationalSection(runs: RunRecord[]): string {
  const cols = ["Task", "Model", "Run", "Status", ...OPERATIONAL_COLUMNS];
  const numeric = cols.map((_, i) => i >= 4);
  const out: string[] = [
    `<section id="operational"><h2>Operational metrics</h2>`,
    `<table><caption>Requests, latency percentiles, tokens, cost and wall time per run</caption>`,
    th(cols, numeric),
    "<tbody>",
  ];
  for (const run of runs) {
    out.push(
      `<tr>${[
        td(escapeHtml(run.task)),
        td(escapeHtml(run.model)),
        td(`<code>${escapeHtml(run.id)}</code>`),
        td(
          escapeHtml(run.status) + (run.error ? ` <span class="muted">${escapeHtml(run.error)}</span>` : ""),
        ),
        ...operationalCells(run).map((c) => td(c, true)),
      ].join("")}</tr>`,
    );
  }
  out.push("</tbody></table></section>");
  return out.join("\n");
}

const CSS = `
:root{--ink:#1f2328;--muted:#656d76;--line:#d0d7de;--grid:#eaeef2;--bg:#fff;--panel:#f6f8fa;
--better:#1a7f37;--worse:#cf222e;--ns:#6e7781}
@media (prefers-color-scheme:dark){:root{--ink:#e6edf3;--muted:#8d96a0;--line:#30363d;--grid:#21262d;
--bg:#0d1117;--panel:#161b22;--better:#3fb950;--worse:#f85149;--ns:#8d96a0}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
header,main,footer{max-width:1100px;margin:0 auto;padding:0 24px}
header{padding-top:28px;border-bottom:1px solid var(--line);padding-bottom:12px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 12px;padding-bottom:4px;border-bottom:1px solid var(--line)}
.muted,.meta{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-variant-numeric:tabular-nums}
caption{text-align:left;color:var(--muted);font-size:12px;padding-bottom:4px}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--panel);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right;white-space:nowrap}
tbody tr:hover{background:var(--panel)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
.badge.better{background:var(--better)}.badge.worse{background:var(--worse)}.badge.ns{background:var(--ns)}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;padding:12px;background:var(--panel);border:1px solid var(--line);border-radius:6px;max-width:100%}
figcaption{font-size:12px;color:var(--muted);margin-top:4px}
svg.chart{display:block;max-width:100%;height:auto;font-size:12px}
svg.chart text{fill:var(--ink)}svg.chart .tick text{fill:var(--muted);font-size:11px}
svg.chart .grid{stroke:var(--grid)}svg.chart .baseline{stroke:var(--line)}
svg.chart .bar{opacity:.85}
svg.chart .ci,svg.chart .cap{stroke:var(--ink);stroke-width:1.5}
svg.chart .zero{stroke:var(--muted);stroke-dasharray:4 3}
svg.chart .row.better .ci,svg.chart .row.better .cap{stroke:var(--better)}svg.chart .row.better .point{fill:var(--better)}
svg.chart .row.worse .ci,svg.chart .row.worse .cap{stroke:var(--worse)}svg.chart .row.worse .point{fill:var(--worse)}
svg.chart .row.ns .ci,svg.chart .row.ns .cap{stroke:var(--ns)}svg.chart .row.ns .point{fill:var(--ns)}
svg.chart .row:hover .label{font-weight:600}
footer{color:var(--muted);font-size:12px;padding-top:24px;padding-bottom:32px}
`;

export function htmlReport(
  runs: RunRecord[],
  comparisons?: ComparisonRow[],
  opts?: { title?: string },
): string {
  const title = opts?.title ?? "Evaluation report";
  const counters = new Map<string, number>();
  const colors = new Map<string, string>();
  const ctx: Ctx = {
    nextId: (p) => {
      const n = (counters.get(p) ?? 0) + 1;
      counters.set(p, n);
      return `${p}${n}`;
    },
    modelColor: (m) => {
      if (!colors.has(m)) colors.set(m, PALETTE[colors.size % PALETTE.length]);
      return colors.get(m)!;
    },
  };
  for (const r of runs) ctx.modelColor(r.model);
  const byTask = groupByTask(runs);
  const models = [...colors.keys()];
  const updated = runs
    .map((r) => r.updatedAt)
    .filter(Boolean)
    .sort()
    .at(-1);
  const version = runs.find((r) => r.versions?.assay)?.versions.assay;
  const body: string[] = [];
  if (comparisons?.length) body.push(comparisonSection(ctx, comparisons));
  for (const [task, list] of byTask) body.push(taskSection(ctx, task, list));
  if (runs.length) body.push(operationalSection(runs));
  else body.push(`<p class="muted">No runs.</p>`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${runs.length} run${runs.length === 1 ? "" : "s"} · ${byTask.size} task${byTask.size === 1 ? "" : "s"} · models: ${
    models
      .map((m) => `<span class="swatch" style="background:${ctx.modelColor(m)}"></span>${escapeHtml(m)}`)
      .join(", ") || "none"
  }${updated ? ` · last updated ${escapeHtml(updated)}` : ""}</p>
</header>
<main>
${body.join("\n")}
</main>
<footer>Values are shown ± standard error; intervals and error bars are 95% confidence intervals. Generated by assay${
    version ? ` ${escapeHtml(version)}` : ""
  }.</footer>
</body>
</html>
`;
}
