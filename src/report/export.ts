/**
 * Run exports: lm-evaluation-harness's results JSON and samples JSONL (so existing lm-eval
 * tooling can read assay runs), a flat samples CSV, and the operational metrics of a run.
 * Pure functions of the data; the caller writes the files.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { LatencyHistogram } from "../engine/latency.js";
import type { Request, Response } from "../models/types.js";
import type { RunRecord, SampleRecord, Store } from "../store/types.js";
import type { GroupResult } from "../tasks/groups.js";
import { aggregateKeys, fmtCost, fmtDuration, fmtInt, fmtMs, splitKey } from "./format.js";

export interface OperationalMetrics {
  /** null when the run made no timed request (e.g. fully cached). */
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  latency_p99_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  errors: number;
  retries: number;
  cache_hits: number;
  requests: number;
  elapsed_s: number;
}

export function operationalMetrics(run: RunRecord): OperationalMetrics {
  const st = run.stats;
  const h = LatencyHistogram.from(st?.latencyHistogram);
  const q = (p: number) => (h.total === 0 ? null : h.quantile(p));
  return {
    latency_p50_ms: q(0.5),
    latency_p95_ms: q(0.95),
    latency_p99_ms: q(0.99),
    input_tokens: st?.inputTokens ?? 0,
    output_tokens: st?.outputTokens ?? 0,
    cost_usd: st?.cost ?? 0,
    errors: st?.errors ?? 0,
    retries: st?.retries ?? 0,
    cache_hits: st?.cacheHits ?? 0,
    requests: st?.requests ?? 0,
    elapsed_s: (st?.elapsedMs ?? 0) / 1000,
  };
}

/** Headers of the operational-metrics table of reports, in `operationalCells` order. */
export const OPERATIONAL_COLUMNS = [
  "Requests",
  "Cached",
  "Errors",
  "Retries",
  "p50",
  "p95",
  "p99",
  "Tokens in",
  "Tokens out",
  "Cost",
  "Time",
];

/** A run's operational metrics formatted for a report table (all numeric, right-aligned). */
export function operationalCells(run: RunRecord): string[] {
  const op = operationalMetrics(run);
  return [
    fmtInt(op.requests),
    fmtInt(op.cache_hits),
    fmtInt(op.errors),
    fmtInt(op.retries),
    fmtMs(op.latency_p50_ms),
    fmtMs(op.latency_p95_ms),
    fmtMs(op.latency_p99_ms),
    fmtInt(op.input_tokens),
    fmtInt(op.output_tokens),
    fmtCost(op.cost_usd),
    fmtDuration(op.elapsed_s),
  ];
}

// ---------------------------------------------------------------------------------------------
// Python string forms. lm-eval writes `str(x)` of responses and targets, so the exported strings
// must be what Python prints (`-1.5`, `-3.0`, `1e-05`, `False`, `['a', 'b']`), not what JS prints.

/** Python's repr/str of a float. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mant, expStr] = x.toExponential().split("e");
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) {
    // Python: at least two exponent digits, explicit sign.
    const sign = exp < 0 ? "-" : "+";
    return `${mant}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const s = String(x);
  return s.includes(".") ? s : `${s}.0`;
}

function pyStrRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === q) out += `\\${q}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + q;
}

/** Python repr; integral numbers print as ints (JSON cannot tell 1 from 1.0). */
function pyRepr(v: unknown): string {
  if (typeof v === "string") return pyStrRepr(v);
  return pyStr(v);
}

/** Python str(). */
export function pyStr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : pyFloat(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (typeof v === "object")
    return `{${Object.entries(v as object)
      .map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`)
      .join(", ")}}`;
  return String(v);
}

/** Python's json.dumps(v, indent=2, ensure_ascii=False), as lm-eval's doc_hash uses. */
function pyJsonIndent(v: unknown, depth = 0): string {
  const ind = "  ".repeat(depth + 1);
  const end = "  ".repeat(depth);
  if (v === null || v === undefined) return "null";
  if (typeof v === "number") {
    if (Number.isNaN(v)) return "NaN";
    if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
    return Number.isInteger(v) ? String(v) : pyFloat(v);
  }
  if (typeof v === "string" || typeof v === "boolean") return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    return `[\n${v.map((x) => ind + pyJsonIndent(x, depth + 1)).join(",\n")}\n${end}]`;
  }
  const entries = Object.entries(v as object);
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([k, x]) => `${ind}${JSON.stringify(k)}: ${pyJsonIndent(x, depth + 1)}`).join(",\n")}\n${end}}`;
}

const sha256 = (s: string): string => createHash("sha256").update(s, "utf8").digest("hex");

// ---------------------------------------------------------------------------------------------
// Results JSON

export interface LmEvalResults {
  results: Record<string, Record<string, unknown>>;
  /** Present when groups were evaluated (e.g. mmlu): their entries, also listed in `results`. */
  groups?: Record<string, Record<string, unknown>>;
  group_subtasks: Record<string, string[]>;
  configs: Record<string, unknown>;
  versions: Record<string, unknown>;
  "n-shot": Record<string, number>;
  higher_is_better: Record<string, Record<string, boolean>>;
  "n-samples": Record<string, { original: number; effective: number }>;
  config: Record<string, unknown>;
  date: number | null;
  total_evaluation_time_seconds: string;
  assay: Record<string, unknown>;
}

/**
 * Result keys: the task name, or `task@runId` when several runs share a task (lm-eval files hold
 * one model; assay may export several runs at once and must not drop any).
 */
export function lmEvalTaskKeys(runs: RunRecord[]): string[] {
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(r.task, (counts.get(r.task) ?? 0) + 1);
  return runs.map((r) => (counts.get(r.task)! > 1 ? `${r.task}@${r.id}` : r.task));
}

const distinct = <T>(xs: T[]): T[] => [...new Set(xs)];

/** Writes `metric,filter` and `metric_stderr,filter` as lm-eval does ("N/A" where no stderr could be computed). */
function putMetric(entry: Record<string, unknown>, key: string, value: number, stderr: number): void {
  const { metric, filter } = splitKey(key);
  entry[`${metric},${filter}`] = value;
  entry[`${metric}_stderr,${filter}`] = Number.isFinite(stderr) ? stderr : "N/A";
}

/** lm-eval's entry of a group: alias, then `metric,filter` and `metric_stderr,filter` per metric. */
function groupEntry(g: GroupResult): Record<string, unknown> {
  const entry: Record<string, unknown> = { alias: g.alias ?? g.group };
  for (const [key, m] of Object.entries(g.metrics)) putMetric(entry, key, m.value, m.stderr);
  return entry;
}

/** lm-eval's results.json of `runs`, with `groups` (from aggregateGroups) when given. */
export function lmEvalResults(runs: RunRecord[], groups: GroupResult[] = []): LmEvalResults {
  const keys = lmEvalTaskKeys(runs);
  const out: LmEvalResults = {
    results: {},
    group_subtasks: {},
    configs: {},
    versions: {},
    "n-shot": {},
    higher_is_better: {},
    "n-samples": {},
    config: {},
    date: null,
    total_evaluation_time_seconds: "0",
    assay: {},
  };
  const assayRuns: Record<string, unknown> = {};
  runs.forEach((run, i) => {
    const key = keys[i];
    const entry: Record<string, unknown> = { alias: run.task };
    const hib: Record<string, boolean> = {};
    const metrics: Record<string, unknown> = {};
    for (const aggKey of aggregateKeys(run)) {
      const a = run.aggregates[aggKey];
      const { metric } = splitKey(aggKey);
      putMetric(entry, aggKey, a.value, a.stderr);
      hib[metric] = a.higherIsBetter;
      metrics[aggKey] = {
        value: a.value,
        stderr: a.stderr,
        ci_low: a.ciLow,
        ci_high: a.ciHigh,
        n: a.n,
        method: a.method,
        higher_is_better: a.higherIsBetter,
      };
    }
    const taskConfig = (run.config?.taskConfig ?? {}) as Record<string, unknown>;
    const meta = taskConfig.metadata as Record<string, unknown> | undefined;
    out.results[key] = entry;
    out.group_subtasks[key] = [];
    out.configs[key] = { ...taskConfig, num_fewshot: run.config?.numFewshot ?? 0 };
    out.versions[key] = meta?.version ?? null;
    out["n-shot"][key] = run.config?.numFewshot ?? 0;
    out.higher_is_better[key] = hib;
    // Runs stored before docsAvailable existed: `total` is exact unless --limit cut it.
    out["n-samples"][key] = { original: run.config?.docsAvailable ?? run.total, effective: run.total };
    assayRuns[key] = {
      run_id: run.id,
      task: run.task,
      model: run.model,
      model_id: run.modelId,
      status: run.status,
      ...(run.error ? { error: run.error } : {}),
      config_hash: run.configHash,
      created_at: run.createdAt,
      updated_at: run.updatedAt,
      versions: run.versions,
      task_file: run.config?.taskFile,
      data_hashes: run.config?.dataHashes,
      seed: run.config?.seed,
      limit: run.config?.limit ?? null,
      total: run.total,
      metrics,
      operational: operationalMetrics(run),
    };
  });
  // Groups (one model per lm-eval file): `group`, or `group@model` when several models have it.
  const groupModels = new Map<string, number>();
  for (const g of groups) groupModels.set(g.group, (groupModels.get(g.group) ?? 0) + 1);
  if (groups.length > 0) out.groups = {};
  for (const g of groups) {
    const key = groupModels.get(g.group)! > 1 ? `${g.group}@${g.model}` : g.group;
    const entry = groupEntry(g);
    out.groups![key] = entry;
    out.results[key] = entry;
    out.group_subtasks[key] = g.subtasks;
  }
  const models = distinct(runs.map((r) => r.model));
  const limits = distinct(runs.map((r) => r.config?.limit ?? null));
  const seeds = distinct(runs.map((r) => r.config?.seed ?? null));
  out.config = {
    model: models.length === 1 ? models[0] : models,
    model_args: null,
    model_ids: distinct(runs.map((r) => r.modelId)),
    run_ids: runs.map((r) => r.id),
    limit: limits.length === 1 ? limits[0] : limits,
    random_seed: seeds.length === 1 ? seeds[0] : seeds,
  };
  const created = runs.map((r) => Date.parse(r.createdAt)).filter(Number.isFinite);
  out.date = created.length ? Math.min(...created) / 1000 : null;
  // lm-eval stores this one as a string.
  out.total_evaluation_time_seconds = String(runs.reduce((s, r) => s + (r.stats?.elapsedMs ?? 0), 0) / 1000);
  out.assay = {
    version: runs.find((r) => r.versions?.assay)?.versions.assay ?? null,
    confidence_level: 0.95,
    runs: assayRuns,
  };
  return out;
}

// ---------------------------------------------------------------------------------------------
// Samples JSONL

interface ArgGroup {
  args: unknown[];
  resps: unknown[];
}

const promptText = (p: string | { role: string; content: string }[]): string =>
  typeof p === "string" ? p : JSON.stringify(p);

/** A response as lm-eval's sanitize_list leaves it: every leaf is Python's str(). */
function sanitizedResponse(r: Response): unknown {
  switch (r.kind) {
    case "loglikelihood":
      return [pyFloat(r.logprob), r.isGreedy ? "True" : "False"];
    case "loglikelihood_rolling":
      return pyFloat(r.logprob);
    case "generate_until":
      return r.text;
  }
}

/**
 * Requests as lm-eval's Instances: repeated draws of one generation (`sampleIndex`) are one
 * Instance with several responses, as `repeats` works there.
 */
function instanceGroups(requests: Request[], responses: Response[]): ArgGroup[] {
  const groups: ArgGroup[] = [];
  let prevGen: string | undefined;
  requests.forEach((req, i) => {
    const resp = responses[i];
    const r = resp === undefined ? undefined : sanitizedResponse(resp);
    if (req.kind === "generate_until") {
      const ctx = promptText(req.prompt);
      const sig = JSON.stringify([ctx, req.params]);
      if (req.sampleIndex !== undefined && req.sampleIndex > 0 && prevGen === sig && groups.length) {
        if (r !== undefined) groups[groups.length - 1].resps.push(r);
        return;
      }
      prevGen = sig;
      groups.push({ args: [ctx, { ...req.params }], resps: r === undefined ? [] : [r] });
      return;
    }
    prevGen = undefined;
    const args = req.kind === "loglikelihood" ? [req.context, req.continuation] : [req.text];
    groups.push({ args, resps: r === undefined ? [] : [r] });
  });
  return groups;
}

/** Filter names a sample was scored under, in order. */
export function sampleFilters(s: SampleRecord, run?: RunRecord): string[] {
  if (s.filtered && Object.keys(s.filtered).length) return Object.keys(s.filtered);
  const keys = run?.config?.metricKeys?.length ? run.config.metricKeys : Object.keys(s.scores ?? {});
  const names = distinct(keys.map((k) => splitKey(k).filter));
  return names.length ? names : ["none"];
}

/**
 * One line of lm-eval's `samples_<task>.jsonl` for one filter (default: the first). lm-eval writes
 * a line per (doc, filter); use `samplesToLmEvalJsonl` for all of them.
 * `filtered_resps` for generation is the filter's output list, which is what lm-eval writes for
 * the usual pipelines ending in take_first.
 */
export function sampleToLmEvalJsonl(
  s: SampleRecord,
  run: RunRecord,
  filter?: string,
): Record<string, unknown> {
  const f = filter ?? sampleFilters(s, run)[0];
  const groups = instanceGroups(s.requests ?? [], s.responses ?? []);
  const args: Record<string, Record<string, unknown>> = {};
  groups.forEach((g, i) => {
    args[`gen_args_${i}`] = Object.fromEntries(g.args.map((a, j) => [`arg_${j}`, a]));
  });
  const filtered = s.filtered?.[f];
  const metricValues: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(s.scores ?? {})) {
    const { metric, filter: kf } = splitKey(key);
    if (kf === f) metricValues[metric] = value;
  }
  const target = pyStr(s.target);
  const firstArg = groups[0]?.args[0];
  return {
    doc_id: s.docId,
    doc: s.doc,
    target,
    arguments: args,
    resps: groups.map((g) => g.resps),
    filtered_resps: filtered ?? groups.map((g) => g.resps[0]),
    filter: f,
    metrics: Object.keys(metricValues),
    doc_hash: sha256(pyJsonIndent(s.doc)),
    prompt_hash: sha256(typeof firstArg === "string" ? firstArg : pyStr(firstArg)),
    target_hash: sha256(target),
    ...metricValues,
  };
}

/** Every lm-eval samples line for a sample: one per filter. */
export function samplesToLmEvalJsonl(s: SampleRecord, run: RunRecord): Record<string, unknown>[] {
  return sampleFilters(s, run).map((f) => sampleToLmEvalJsonl(s, run, f));
}

// ---------------------------------------------------------------------------------------------
// CSV

/** RFC 4180 field: quoted when it holds a comma, quote, CR or LF; quotes doubled. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

const csvLine = (fields: string[]): string => `${fields.map(csvField).join(",")}\r\n`;

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-?Infinity$/;

/**
 * A text cell that spreadsheets would run as a formula (first character = + - @ tab CR) gets a
 * leading apostrophe (OWASP's CSV-injection advice); numbers are left alone. Model outputs are
 * untrusted text, and this CSV exists to be opened in spreadsheets.
 */
export function spreadsheetSafe(v: string): string {
  return /^[=+\-@\t\r]/.test(v) && !NUMBER.test(v) ? `'${v}` : v;
}

function csvMetricKeys(run: RunRecord): string[] {
  const declared = run.config?.metricKeys ?? [];
  return declared.length ? declared : Object.keys(run.aggregates ?? {});
}

/** The CSV header line, CRLF-terminated (RFC 4180): doc_id, prompt, target, response, metrics. */
export function samplesCsvHeader(run: RunRecord): string {
  return csvLine(["doc_id", "prompt", "target", "response", ...csvMetricKeys(run)]);
}

function responseText(r: Response | undefined): string {
  if (!r) return "";
  if (r.kind === "generate_until") return r.text;
  if (r.kind === "token_embeddings") return `${r.ids.length} token vectors`;
  return String(r.logprob);
}

/**
 * One CSV row, CRLF-terminated. Corpus-metric statistics (arrays) are written as JSON; text cells
 * that start like a formula are defused (see spreadsheetSafe).
 */
export function sampleToCsvRow(s: SampleRecord, run: RunRecord): string {
  const target = typeof s.target === "string" ? s.target : JSON.stringify(s.target ?? null);
  const metrics = csvMetricKeys(run).map((k) => {
    const v = s.scores?.[k];
    if (v === undefined) return "";
    return typeof v === "number" ? String(v) : JSON.stringify(v);
  });
  const text = [s.prompt ?? "", target, responseText(s.responses?.[0])].map(spreadsheetSafe);
  return csvLine([String(s.docId), ...text, ...metrics]);
}

// ---------------------------------------------------------------------------------------------
// Streaming helper for the CLI

export type SampleFormat = "lm-eval-jsonl" | "csv";

/**
 * Streams a run's samples from the store to `out` in `format`, respecting backpressure, without
 * holding all samples in memory. The lm-eval JSONL has one line per (doc, filter), doc-major.
 * Returns the number of samples written.
 */
export async function writeSamples(
  store: Store,
  run: RunRecord,
  format: SampleFormat,
  out: NodeJS.WritableStream,
): Promise<number> {
  const write = async (chunk: string) => {
    if (!out.write(chunk)) await once(out as unknown as NodeJS.EventEmitter, "drain");
  };
  if (format === "csv") await write(samplesCsvHeader(run));
  let n = 0;
  for await (const s of store.iterateSamples(run.id)) {
    if (format === "csv") await write(sampleToCsvRow(s, run));
    else for (const line of samplesToLmEvalJsonl(s, run)) await write(`${JSON.stringify(line)}\n`);
    n++;
  }
  return n;
}
