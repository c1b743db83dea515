/**
 * "Read the bottom 10%": the lowest-scoring samples of a run with prompt and output excerpts, and
 * where failures concentrate when grouped by a field of the doc.
 */
import type { Request, Response } from "../models/types.js";
import { printable } from "../report/format.js";
import type { RunRecord, SampleRecord, Store } from "../store/types.js";
import { didYouMean, UserError } from "../util/errors.js";

export interface FailureOptions {
  /** Metric key (`acc` means `acc,none`); default: the run's first per-sample metric. */
  metric?: string;
  /** A fraction in (0, 1) of the samples, or a count ≥ 1 (default 0.1). */
  bottom?: number;
  /** Doc field (dotted path) to group by. */
  groupBy?: string;
  /** Characters kept of prompts and outputs (default 240). */
  excerpt?: number;
}

export interface FailureSample {
  docId: number;
  score: number;
  /** Tail of the prompt (the question is at its end). */
  prompt: string;
  /** What the model produced (generated text, the chosen choice, or the log-likelihood). */
  output: string;
  target: string;
  group?: string;
}

export interface FailureGroup {
  group: string;
  /** Samples in the group. */
  total: number;
  /** Samples scoring at or below the cutoff. */
  failures: number;
  failureRate: number;
  meanScore: number;
}

export interface FailureReport {
  runId: string;
  task: string;
  model: string;
  metric: string;
  higherIsBetter: boolean;
  /** Samples with a score for the metric. */
  scored: number;
  /** Score of the last shown sample: samples this bad or worse count as failures. */
  cutoff: number;
  /** Samples at or worse than the cutoff (≥ shown.length when scores tie). */
  atOrBelowCutoff: number;
  /** The worst samples, worst first, ties in doc order. */
  shown: FailureSample[];
  groupBy?: string;
  /** Groups by failure rate, highest first. */
  groups?: FailureGroup[];
}

/** Value of a dotted path in a doc, as a group label. */
export function groupValue(doc: unknown, field: string): string {
  let v: unknown = doc;
  for (const part of field.split(".")) {
    if (v === null || typeof v !== "object") return "(missing)";
    v = (v as Record<string, unknown>)[part];
  }
  if (v === undefined || v === null) return "(missing)";
  return typeof v === "string" ? v : JSON.stringify(v);
}

const squash = (s: string): string => printable(s.replace(/\s+/g, " ").trim());
const head = (s: string, n: number): string => {
  const t = squash(s);
  return [...t].length > n ? `${[...t].slice(0, n).join("")}…` : t;
};
const tail = (s: string, n: number): string => {
  const t = squash(s);
  const cps = [...t];
  return cps.length > n ? `…${cps.slice(cps.length - n).join("")}` : t;
};

/** What the model answered, in words, for any output type. */
export function sampleOutput(
  s: Pick<SampleRecord, "requests" | "responses" | "filtered">,
  key: string,
): string {
  const filter = key.includes(",") ? key.slice(key.indexOf(",") + 1) : "none";
  const responses: Response[] = s.responses ?? [];
  const requests: Request[] = s.requests ?? [];
  const first = responses[0];
  if (!first) return "(no response)";
  if (first.kind === "generate_until") {
    const f = s.filtered?.[filter]?.[0];
    const raw = first.text;
    return f !== undefined && f !== raw
      ? `${JSON.stringify(f)} (raw ${JSON.stringify(raw)})`
      : JSON.stringify(raw);
  }
  if (first.kind === "loglikelihood_rolling") return `log-likelihood ${first.logprob.toFixed(3)}`;
  const r0 = requests[0];
  // Multiple choice: the conditional requests share the first context; the highest log-likelihood wins.
  const ctx = r0?.kind === "loglikelihood" ? r0.context : undefined;
  let best = -1;
  let n = 0;
  for (let i = 0; i < responses.length; i++) {
    const req = requests[i];
    const res = responses[i];
    if (req?.kind !== "loglikelihood" || res?.kind !== "loglikelihood" || req.context !== ctx) break;
    n++;
    if (best < 0 || res.logprob > (responses[best] as { logprob: number }).logprob) best = i;
  }
  if (n <= 1)
    return first.kind === "loglikelihood"
      ? `log-likelihood ${first.logprob.toFixed(3)}${first.isGreedy ? " (greedy)" : " (not greedy)"}`
      : "";
  const choice = requests[best] as { continuation: string };
  return `chose ${JSON.stringify(choice.continuation)} (choice ${best} of ${n})`;
}

const targetText = (t: unknown): string => (typeof t === "string" ? t : (JSON.stringify(t) ?? ""));

/** Resolves the metric key to use in a run; numbers-only metrics (not corpus sums). */
export function failureMetric(run: RunRecord, metric?: string): string {
  const keys = Object.keys(run.aggregates ?? {});
  if (metric !== undefined) {
    const key = metric.includes(",") ? metric : `${metric},none`;
    if (!keys.includes(key))
      throw new UserError(`run ${run.id} has no metric '${key}'`, {
        field: "--metric",
        expected: keys.join(", "),
        hint: didYouMean(key, keys),
      });
    return key;
  }
  const declared = (run.config?.metricKeys ?? []).filter((k) => keys.includes(k));
  const first = [...declared, ...keys][0];
  if (!first) throw new UserError(`run ${run.id} has no metrics`, { field: "run" });
  return first;
}

export async function findFailures(
  store: Store,
  run: RunRecord,
  opts: FailureOptions = {},
): Promise<FailureReport> {
  const key = failureMetric(run, opts.metric);
  const bottom = opts.bottom ?? 0.1;
  if (!(bottom > 0) || (bottom >= 1 && !Number.isInteger(bottom)))
    throw new UserError(`invalid value '${bottom}'`, {
      field: "--bottom",
      expected: "a fraction in (0, 1) or a whole number of samples",
    });
  const excerpt = opts.excerpt ?? 240;
  const hib = run.aggregates[key].higherIsBetter;
  const rows: Array<{ docId: number; score: number; group?: string }> = [];
  let arrays = 0;
  let docKeys: string[] | undefined;
  for await (const s of store.iterateSamples(run.id)) {
    if (docKeys === undefined && s.doc !== null && typeof s.doc === "object") docKeys = Object.keys(s.doc);
    const v = s.scores?.[key];
    if (Array.isArray(v)) {
      arrays++;
      continue;
    }
    if (typeof v !== "number" || Number.isNaN(v)) continue;
    rows.push({
      docId: s.docId,
      score: v,
      group: opts.groupBy ? groupValue(s.doc, opts.groupBy) : undefined,
    });
  }
  if (rows.length === 0)
    throw new UserError(
      arrays > 0
        ? `'${key}' is a corpus metric (per-sample sums, no per-sample score)`
        : `no sample of run ${run.id} has a score for '${key}'`,
      { field: "--metric", expected: "a per-sample metric such as acc or exact_match" },
    );
  // Worst first; the sort is stable so ties stay in doc order.
  const sorted = [...rows].sort((a, b) => (hib ? a.score - b.score : b.score - a.score));
  const k = Math.min(sorted.length, bottom < 1 ? Math.max(1, Math.ceil(bottom * sorted.length)) : bottom);
  const cutoff = sorted[k - 1].score;
  const isFailure = (x: number) => (hib ? x <= cutoff : x >= cutoff);
  const shown: FailureSample[] = [];
  for (const r of sorted.slice(0, k)) {
    const s = await store.getSample(run.id, r.docId);
    shown.push({
      docId: r.docId,
      score: r.score,
      prompt: tail(s?.prompt ?? "", excerpt),
      output: head(s ? sampleOutput(s, key) : "", excerpt),
      target: head(targetText(s?.target), excerpt),
      ...(r.group !== undefined ? { group: r.group } : {}),
    });
  }
  const report: FailureReport = {
    runId: run.id,
    task: run.task,
    model: run.model,
    metric: key,
    higherIsBetter: hib,
    scored: rows.length,
    cutoff,
    atOrBelowCutoff: rows.filter((r) => isFailure(r.score)).length,
    shown,
  };
  if (opts.groupBy) {
    if (rows.every((r) => r.group === "(missing)"))
      throw new UserError(`no doc of run ${run.id} has a field '${opts.groupBy}'`, {
        field: "--group-by",
        expected: (docKeys ?? []).join(", ") || "a doc field",
        hint: didYouMean(opts.groupBy, docKeys ?? []),
      });
    const groups = new Map<string, { total: number; failures: number; sum: number }>();
    for (const r of rows) {
      const g = groups.get(r.group!) ?? { total: 0, failures: 0, sum: 0 };
      g.total++;
      g.sum += r.score;
      if (isFailure(r.score)) g.failures++;
      groups.set(r.group!, g);
    }
    report.groupBy = opts.groupBy;
    report.groups = [...groups.entries()]
      .map(([group, g]) => ({
        group,
        total: g.total,
        failures: g.failures,
        failureRate: g.failures / g.total,
        meanScore: g.sum / g.total,
      }))
      .sort(
        (a, b) => b.failureRate - a.failureRate || b.failures - a.failures || a.group.localeCompare(b.group),
      );
  }
  return report;
}
