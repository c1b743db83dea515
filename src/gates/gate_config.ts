/**
 * Release gates: declarative YAML rules checked against candidate (and baseline) runs.
 *
 * ```yaml
 * confidence: 0.95                  # default for compare_to rules
 * gates:
 *   - metric: arith_mc/acc          # task/metric[,filter]; filter defaults to none
 *     compare_to: baseline
 *     max_drop: 0.02                # fail when the CI bound of Δ in the worse direction passes −max_drop
 *   - metric: gsm8k/exact_match,strict-match
 *     min: 0.40
 *   - metric: latency_p95_ms        # operational metric over all candidate runs of a model
 *     max: 800
 *   - metric: arith_mc/acc
 *     range: history                # mean ± 3 sd of the last 10 completed runs (warns unless fail: true)
 * ```
 *
 * Parsing validates every key and value with file:line errors; matching rules to runs happens in
 * evaluate.ts.
 */
import { readFileSync } from "node:fs";
import { isMap, isScalar, isSeq, LineCounter, type Node, type Pair, parseDocument, type YAMLMap } from "yaml";
import { metricNames } from "../metrics/registry.js";
import { didYouMean, UserError } from "../util/errors.js";

/** Operational metrics a rule may name (see report/export.ts operationalMetrics), plus error_rate. */
export const OPERATIONAL_METRICS = [
  "latency_p50_ms",
  "latency_p95_ms",
  "latency_p99_ms",
  "input_tokens",
  "output_tokens",
  "cost_usd",
  "errors",
  "error_rate",
  "retries",
  "cache_hits",
  "requests",
  "elapsed_s",
] as const;
export type OperationalMetric = (typeof OPERATIONAL_METRICS)[number];

export const isOperational = (name: string): name is OperationalMetric =>
  (OPERATIONAL_METRICS as readonly string[]).includes(name);

/** What a rule measures. */
export interface MetricRef {
  /** As written in the file. */
  text: string;
  /** Task name, or undefined: every candidate run (task metrics) / all runs of a model (operational). */
  task?: string;
  /** `metric,filter` for task metrics, the operational name otherwise. */
  key: string;
  operational: boolean;
}

export interface HistoryRange {
  /** How many of the latest completed runs to use. */
  runs: number;
  /** `sd`: mean ± k·sd; `minmax`: [min, max]. */
  method: "sd" | "minmax";
  k: number;
  /** Glob on the model spec (`*` any text); default the candidate's own model spec. */
  model?: string;
}

export interface GateRule {
  /** 0-based position in `gates`. */
  index: number;
  /** Line of the rule in the file (1-based). */
  line?: number;
  /** Display name: `name:` or the metric as written. */
  name: string;
  metric: MetricRef;
  kind: "threshold" | "compare" | "range";
  min?: number;
  max?: number;
  /** compare: the allowed worsening, in metric units. */
  maxDrop: number;
  /** compare: two-sided confidence of the delta's interval. */
  confidence: number;
  /** range: fixed bounds or history. */
  range?: { lo: number; hi: number } | { history: HistoryRange };
  /** Whether a violation fails the gate (default true; false for range rules: they warn). */
  fail: boolean;
}

export interface GateConfig {
  file: string;
  rules: GateRule[];
}

const TOP_KEYS = ["gates", "confidence"];
const RULE_KEYS = [
  "name",
  "metric",
  "min",
  "max",
  "compare_to",
  "max_drop",
  "confidence",
  "range",
  "history_runs",
  "history_method",
  "history_k",
  "history_model",
  "fail",
];

/** Parses `task/metric[,filter]`, `metric[,filter]` or an operational name; errors name the nearest metric. */
export function parseMetricRef(
  text: string,
  where: { file?: string; line?: number; field?: string } = {},
): MetricRef {
  const at = { field: "metric", ...where };
  const t = text.trim();
  const comma = t.indexOf(",");
  const head = comma < 0 ? t : t.slice(0, comma);
  const filter = comma < 0 ? "none" : t.slice(comma + 1).trim();
  const slash = head.lastIndexOf("/");
  const task = slash < 0 ? undefined : head.slice(0, slash).trim();
  const name = (slash < 0 ? head : head.slice(slash + 1)).trim();
  const expected = "task/metric[,filter] (e.g. gsm8k/exact_match,strict-match) or an operational metric";
  if (name === "" || task === "" || filter === "")
    throw new UserError(`invalid metric '${text}'`, { ...at, expected });
  if (isOperational(name)) {
    if (comma >= 0)
      throw new UserError(`operational metric '${name}' takes no filter`, { ...at, expected: name });
    return { text: t, task, key: name, operational: true };
  }
  const known = metricNames();
  if (!known.includes(name))
    throw new UserError(`unknown metric '${name}'`, {
      ...at,
      expected,
      hint:
        didYouMean(name, [...known, ...OPERATIONAL_METRICS]) ||
        `metrics: ${known.join(", ")}; operational: ${OPERATIONAL_METRICS.join(", ")}`,
    });
  return { text: t, task, key: `${name},${filter}`, operational: false };
}

interface Ctx {
  file: string;
  lc: LineCounter;
}

const lineOf = (ctx: Ctx, node: Node | null | undefined): number | undefined =>
  node?.range ? ctx.lc.linePos(node.range[0]).line : undefined;

function pairsOf(map: YAMLMap): Array<{ key: string; pair: Pair }> {
  return map.items.map((pair) => ({
    key: isScalar(pair.key) ? String(pair.key.value) : String(pair.key),
    pair,
  }));
}

function scalarValue(pair: Pair): unknown {
  const v = pair.value as Node | null;
  if (v === null || v === undefined) return null;
  if (isScalar(v)) return v.value;
  return v.toJSON();
}

function number(
  ctx: Ctx,
  pair: Pair,
  field: string,
  check: (x: number) => boolean,
  expected: string,
): number {
  const v = scalarValue(pair);
  if (typeof v !== "number" || !Number.isFinite(v) || !check(v))
    throw new UserError(`invalid value ${JSON.stringify(v)}`, {
      file: ctx.file,
      line: lineOf(ctx, (pair.value as Node) ?? (pair.key as Node)),
      field,
      expected,
    });
  return v;
}

/** Reads and validates a gate file. */
export function loadGateConfig(file: string): GateConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(
      `cannot read gate file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      {
        file,
      },
    );
  }
  return parseGateConfig(text, file);
}

/** Parses gate YAML text; `file` only labels errors. */
export function parseGateConfig(text: string, file = "<gate>"): GateConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    throw new UserError(`malformed YAML: ${err.message.split("\n")[0]}`, {
      file,
      line: err.linePos?.[0]?.line,
      expected: "valid YAML",
    });
  }
  const ctx: Ctx = { file, lc };
  const root = doc.contents as Node | null;
  if (!isMap(root))
    throw new UserError("gate file must be a YAML mapping with a 'gates' list", {
      file,
      line: 1,
      expected: "gates: [ {metric: ..., min: ...}, ... ]",
    });
  let defaultConfidence = 0.95;
  let gatesPair: Pair | undefined;
  for (const { key, pair } of pairsOf(root)) {
    const line = lineOf(ctx, pair.key as Node);
    if (!TOP_KEYS.includes(key))
      throw new UserError(`unknown key '${key}'`, {
        file,
        line,
        field: key,
        expected: TOP_KEYS.join(", "),
        hint: didYouMean(key, TOP_KEYS),
      });
    if (key === "confidence")
      defaultConfidence = number(ctx, pair, "confidence", (x) => x > 0 && x < 1, "a number in (0, 1)");
    else gatesPair = pair;
  }
  if (!gatesPair)
    throw new UserError("missing 'gates' list", {
      file,
      line: 1,
      field: "gates",
      expected: "a list of rules",
    });
  const seq = gatesPair.value as Node | null;
  if (!isSeq(seq) || seq.items.length === 0)
    throw new UserError("'gates' must be a non-empty list of rules", {
      file,
      line: lineOf(ctx, seq ?? (gatesPair.key as Node)),
      field: "gates",
      expected: "- metric: task/metric\n  min: 0.5",
    });
  const rules = seq.items.map((item, index) => parseRule(ctx, item as Node, index, defaultConfidence));
  return { file, rules };
}

function parseRule(ctx: Ctx, node: Node, index: number, defaultConfidence: number): GateRule {
  const line = lineOf(ctx, node);
  const field = `gates[${index}]`;
  if (!isMap(node))
    throw new UserError("rule must be a mapping", {
      file: ctx.file,
      line,
      field,
      expected: "metric: task/metric plus min, max, compare_to or range",
    });
  const pairs = new Map<string, Pair>();
  for (const { key, pair } of pairsOf(node)) {
    if (!RULE_KEYS.includes(key))
      throw new UserError(`unknown key '${key}'`, {
        file: ctx.file,
        line: lineOf(ctx, pair.key as Node),
        field: `${field}.${key}`,
        expected: RULE_KEYS.join(", "),
        hint: didYouMean(key, RULE_KEYS),
      });
    pairs.set(key, pair);
  }
  const at = (key: string) => {
    const p = pairs.get(key);
    return { file: ctx.file, line: p ? lineOf(ctx, (p.value as Node) ?? (p.key as Node)) : line };
  };
  const num = (key: string, check: (x: number) => boolean, expected: string) =>
    pairs.has(key) ? number(ctx, pairs.get(key)!, `${field}.${key}`, check, expected) : undefined;
  const str = (key: string, expected: string): string | undefined => {
    if (!pairs.has(key)) return undefined;
    const v = scalarValue(pairs.get(key)!);
    if (typeof v !== "string" || v.trim() === "")
      throw new UserError(`invalid value ${JSON.stringify(v)}`, {
        ...at(key),
        field: `${field}.${key}`,
        expected,
      });
    return v;
  };

  const metricText = str("metric", "task/metric, e.g. arith_mc/acc");
  if (metricText === undefined)
    throw new UserError("rule has no metric", {
      file: ctx.file,
      line,
      field: `${field}.metric`,
      expected: "metric: task/metric (e.g. gsm8k/exact_match,strict-match) or an operational metric",
    });
  const metric = parseMetricRef(metricText, { ...at("metric"), field: `${field}.metric` });
  const name = str("name", "a display name") ?? metric.text;
  const has = (k: string) => pairs.has(k);
  const kinds = [
    has("min") || has("max") ? "min/max" : "",
    has("compare_to") ? "compare_to" : "",
    has("range") ? "range" : "",
  ].filter(Boolean);
  if (kinds.length === 0)
    throw new UserError("rule has no condition", {
      file: ctx.file,
      line,
      field,
      expected: "one of min/max, compare_to or range",
    });
  if (kinds.length > 1)
    throw new UserError(`rule mixes ${kinds.join(" and ")}`, {
      file: ctx.file,
      line,
      field,
      expected: "one condition per rule (write separate rules)",
    });
  const kind: GateRule["kind"] =
    kinds[0] === "min/max" ? "threshold" : kinds[0] === "compare_to" ? "compare" : "range";
  for (const k of ["max_drop", "confidence"])
    if (has(k) && kind !== "compare")
      throw new UserError(`'${k}' only applies to compare_to rules`, { ...at(k), field: `${field}.${k}` });
  const historyKeys = ["history_runs", "history_method", "history_k", "history_model"];

  const rule: GateRule = {
    index,
    line,
    name,
    metric,
    kind,
    maxDrop: 0,
    confidence: defaultConfidence,
    fail: kind !== "range",
  };
  if (has("fail")) {
    const v = scalarValue(pairs.get("fail")!);
    if (typeof v !== "boolean")
      throw new UserError(`invalid value ${JSON.stringify(v)}`, {
        ...at("fail"),
        field: `${field}.fail`,
        expected: "true or false",
      });
    rule.fail = v;
  }
  if (kind === "threshold") {
    rule.min = num("min", () => true, "a number");
    rule.max = num("max", () => true, "a number");
    if (rule.min !== undefined && rule.max !== undefined && rule.min > rule.max)
      throw new UserError(`min ${rule.min} is above max ${rule.max}`, {
        ...at("min"),
        field: `${field}.min`,
      });
  } else if (kind === "compare") {
    const to = str("compare_to", "baseline");
    if (to !== "baseline")
      throw new UserError(`invalid value ${JSON.stringify(to)}`, {
        ...at("compare_to"),
        field: `${field}.compare_to`,
        expected: "baseline (the --baseline runs)",
      });
    rule.maxDrop = num("max_drop", (x) => x >= 0, "a number ≥ 0, in metric units") ?? 0;
    rule.confidence = num("confidence", (x) => x > 0 && x < 1, "a number in (0, 1)") ?? defaultConfidence;
  } else {
    const p = pairs.get("range")!;
    const v = p.value as Node | null;
    const rangeAt = { ...at("range"), field: `${field}.range` };
    const expected = "[lo, hi] or history";
    if (isScalar(v) && v.value === "history") {
      if (metric.operational && metric.task === undefined)
        throw new UserError("range: history needs a task-qualified metric", {
          ...at("metric"),
          field: `${field}.metric`,
          expected: `task/${metric.key}`,
        });
      const method = str("history_method", "sd or minmax") ?? "sd";
      if (method !== "sd" && method !== "minmax")
        throw new UserError(`invalid value ${JSON.stringify(method)}`, {
          ...at("history_method"),
          field: `${field}.history_method`,
          expected: "sd (mean ± k·sd) or minmax",
        });
      rule.range = {
        history: {
          runs: num("history_runs", (x) => Number.isInteger(x) && x >= 2, "an integer ≥ 2") ?? 10,
          method,
          k: num("history_k", (x) => x > 0, "a number > 0") ?? 3,
          model: str("history_model", "a glob on the model spec, e.g. llamacpp:ckpt-*.gguf"),
        },
      };
    } else if (isSeq(v)) {
      const vals = v.items.map((x) => (isScalar(x) ? x.value : undefined));
      if (vals.length !== 2 || !vals.every((x) => typeof x === "number" && Number.isFinite(x)))
        throw new UserError(`invalid range ${JSON.stringify(v.toJSON())}`, { ...rangeAt, expected });
      const [lo, hi] = vals as number[];
      if (lo > hi) throw new UserError(`range [${lo}, ${hi}] has lo > hi`, { ...rangeAt, expected });
      rule.range = { lo, hi };
    } else throw new UserError(`invalid range ${JSON.stringify(scalarValue(p))}`, { ...rangeAt, expected });
  }
  for (const k of historyKeys)
    if (has(k) && !(rule.range && "history" in rule.range))
      throw new UserError(`'${k}' only applies to range: history rules`, {
        ...at(k),
        field: `${field}.${k}`,
      });
  return rule;
}
