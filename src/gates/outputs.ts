/**
 * Renderings of a gate result: terminal table, JUnit XML (one testcase per check), a Markdown
 * summary for a PR comment, GitHub Actions annotations and plain JSON. Pure functions.
 */
import { alignColumns, fmtNum, fmtP, fmtSigned, printable } from "../report/format.js";
import { mdEscape } from "../report/markdown.js";
import type { CheckStatus, GateCheck, GateResult } from "./evaluate.js";

const STATUS_TEXT: Record<CheckStatus, string> = { pass: "PASS", fail: "FAIL", warn: "WARN", skip: "SKIP" };
const STATUS_MD: Record<CheckStatus, string> = {
  pass: "✅ pass",
  fail: "❌ fail",
  warn: "⚠️ warn",
  skip: "⏭️ skip",
};

const observedText = (c: GateCheck): string => {
  if (c.observed === null) return "–";
  if (c.delta !== undefined) {
    const ci = c.ciLow !== undefined ? ` [${fmtSigned(c.ciLow)}, ${fmtSigned(c.ciHigh!)}]` : "";
    return `${fmtNum(c.baseline!)} → ${fmtNum(c.observed)} (Δ ${fmtSigned(c.delta)}${ci})`;
  }
  return fmtNum(c.observed);
};

const pText = (c: GateCheck): string =>
  c.pValue === undefined
    ? ""
    : `p ${fmtP(c.pValue)}${c.pHolm !== undefined ? `, Holm ${fmtP(c.pHolm)}` : ""}`;

const target = (c: GateCheck): string => `${c.task ?? "all tasks"} · ${c.model}`;

/** How many distinct models the checks cover (model names are only shown when > 1). */
const modelCount = (r: GateResult): number => new Set(r.checks.map((c) => c.model)).size;

export function summaryLine(r: GateResult): string {
  const { pass, fail, warn, skip } = r.counts;
  const parts = [`${pass} passed`, `${fail} failed`];
  if (warn) parts.push(`${warn} warning${warn === 1 ? "" : "s"}`);
  if (skip) parts.push(`${skip} skipped`);
  return `gate ${r.passed ? "PASSED" : "FAILED"}: ${parts.join(", ")} (${r.file})`;
}

export function formatGateTable(r: GateResult): string {
  const showModel = modelCount(r) > 1;
  const header = ["status", "rule", showModel ? "task · model" : "task", "observed", "threshold", "test"];
  const rows = r.checks.map((c) => [
    STATUS_TEXT[c.status],
    printable(c.rule.name),
    printable(showModel ? target(c) : (c.task ?? "all tasks")),
    observedText(c),
    c.threshold,
    [c.test, pText(c)].filter(Boolean).join(", "),
  ]);
  const lines = alignColumns(header, rows, [false, false, false, true, false, false]);
  const notes = r.checks
    .filter((c) => c.status !== "pass")
    .map((c) => `  ${STATUS_TEXT[c.status]} ${printable(c.message)}`);
  return [...lines, "", ...notes, ...(notes.length ? [""] : []), summaryLine(r)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// JUnit XML

/** XML text/attribute escaping; characters XML 1.0 forbids are dropped. */
export function xmlEscape(s: string): string {
  return String(s)
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** The condition of a rule in a few words, e.g. `min 0.4`, `vs baseline, max_drop 0.02`, `range history`. */
export function ruleCondition(c: GateCheck): string {
  const r = c.rule;
  if (r.kind === "compare") return `vs baseline, max_drop ${r.maxDrop}`;
  if (r.kind === "range")
    return r.range && "lo" in r.range ? `range [${r.range.lo}, ${r.range.hi}]` : "range history";
  return [r.min !== undefined ? `min ${r.min}` : "", r.max !== undefined ? `max ${r.max}` : ""]
    .filter(Boolean)
    .join(", ");
}

/** Unique test names: rule, condition, and the task/model when the rule covers several. */
function testcaseNames(r: GateResult): string[] {
  const showModel = modelCount(r) > 1;
  const names = r.checks.map(
    (c) =>
      `${c.rule.name} (${ruleCondition(c)})${c.task && c.rule.metric.task === undefined ? ` [${c.task}]` : ""}${showModel ? ` [${c.model}]` : ""}`,
  );
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : `${n} #${k}`;
  });
}

function detail(c: GateCheck): string {
  const lines = [
    c.message,
    `rule: ${c.rule.name} (line ${c.rule.line ?? "?"})`,
    `candidate runs: ${c.candidateRuns.join(", ")}`,
  ];
  if (c.baselineRuns) lines.push(`baseline runs: ${c.baselineRuns.join(", ")}`);
  if (c.pValue !== undefined) lines.push(`${c.test ?? "test"}: ${pText(c)}`);
  if (c.history)
    lines.push(`history: ${c.history.runs.map((id, i) => `${id}=${c.history!.values[i]}`).join(", ")}`);
  return lines.join("\n");
}

export function junitXml(r: GateResult): string {
  const names = testcaseNames(r);
  const { fail, skip } = r.counts;
  const total = r.checks.length;
  const suite = xmlEscape(r.file);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="assay gate" tests="${total}" failures="${fail}" errors="0" skipped="${skip}">`,
    `  <testsuite name="${suite}" tests="${total}" failures="${fail}" errors="0" skipped="${skip}">`,
  ];
  r.checks.forEach((c, i) => {
    const cls = xmlEscape(`assay.gate.${c.task ?? "all"}`);
    out.push(`    <testcase classname="${cls}" name="${xmlEscape(names[i])}">`);
    if (c.status === "fail")
      out.push(
        `      <failure message="${xmlEscape(c.message)}" type="gate">${xmlEscape(detail(c))}</failure>`,
      );
    else if (c.status === "skip") out.push(`      <skipped message="${xmlEscape(c.message)}"/>`);
    else
      out.push(
        `      <system-out>${xmlEscape(`${c.status === "warn" ? "WARNING: " : ""}${detail(c)}`)}</system-out>`,
      );
    out.push("    </testcase>");
  });
  out.push("  </testsuite>", "</testsuites>", "");
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Markdown

export function markdownSummary(r: GateResult): string {
  const showModel = modelCount(r) > 1;
  const { pass, fail, warn, skip } = r.counts;
  const head = r.passed ? "### ✅ Gate passed" : "### ❌ Gate failed";
  const counts = [
    `${pass} passed`,
    `${fail} failed`,
    ...(warn ? [`${warn} warnings`] : []),
    ...(skip ? [`${skip} skipped`] : []),
  ];
  const out = [head, "", `${counts.join(" · ")} — \`${mdEscape(r.file)}\``, ""];
  out.push(
    `| Status | Rule | ${showModel ? "Task · model" : "Task"} | Observed | Threshold | Test |`,
    "| --- | --- | --- | ---: | --- | --- |",
  );
  for (const c of r.checks)
    out.push(
      `| ${STATUS_MD[c.status]} | ${mdEscape(c.rule.name)} | ${mdEscape(showModel ? target(c) : (c.task ?? "all tasks"))} | ${mdEscape(observedText(c))} | ${mdEscape(c.threshold)} | ${mdEscape([c.test, pText(c)].filter(Boolean).join(", "))} |`,
    );
  const notes = r.checks.filter((c) => c.status === "fail" || c.status === "warn");
  if (notes.length) {
    out.push("", "<details><summary>Why</summary>", "");
    for (const c of notes) out.push(`- ${STATUS_MD[c.status]} ${mdEscape(c.message)}`);
    out.push("", "</details>");
  }
  return `${out.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions workflow commands

/** Escaping of a workflow command's message. */
const ghData = (s: string): string => s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
/** Escaping of a workflow command's property value. */
const ghProp = (s: string): string => ghData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");

/** `::error file=…,line=…,title=…::message` per failed check, `::warning` per warning or skip. */
export function githubAnnotations(r: GateResult): string[] {
  const names = testcaseNames(r);
  const out: string[] = [];
  r.checks.forEach((c, i) => {
    if (c.status === "pass") return;
    const level = c.status === "fail" ? "error" : "warning";
    const props = [`file=${ghProp(r.file)}`];
    if (c.rule.line !== undefined) props.push(`line=${c.rule.line}`);
    props.push(`title=${ghProp(`assay gate: ${names[i]}`)}`);
    out.push(`::${level} ${props.join(",")}::${ghData(c.message)}`);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

export function gateJson(r: GateResult): Record<string, unknown> {
  return {
    file: r.file,
    passed: r.passed,
    counts: r.counts,
    checks: r.checks.map((c) => ({
      rule: c.rule.name,
      line: c.rule.line,
      metric: c.rule.metric.text,
      kind: c.rule.kind,
      task: c.task ?? null,
      model: c.model,
      candidateRuns: c.candidateRuns,
      baselineRuns: c.baselineRuns ?? null,
      status: c.status,
      observed: c.observed,
      higherIsBetter: c.higherIsBetter,
      threshold: c.threshold,
      baseline: c.baseline ?? null,
      delta: c.delta ?? null,
      ciLow: c.ciLow ?? null,
      ciHigh: c.ciHigh ?? null,
      pValue: c.pValue ?? null,
      pHolm: c.pHolm ?? null,
      test: c.test ?? null,
      lo: c.lo ?? null,
      hi: c.hi ?? null,
      history: c.history ?? null,
      message: c.message,
    })),
  };
}
