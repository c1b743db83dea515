/**
 * `assay score`: text metrics over a predictions file or a stored generation run's outputs (`--run`),
 * with the engine's aggregation (mean ± stderr and t interval; corpus metrics bootstrapped); `--cases`
 * (golden metric cases) is in score_cases.ts.
 */
import { createWriteStream } from "node:fs";
import type { Command } from "commander";
import { type JsonlRecord, readJsonl } from "../../data/jsonl.js";
import { RunAggregator } from "../../engine/aggregate.js";
import { getMetric, type MetricDef, metricNames, type SampleValue } from "../../metrics/registry.js";
import { BERTSCORE_OPTIONS, type Options, ROUGE_METRICS } from "../../metrics/registry_text.js";
import { ProviderError } from "../../models/types.js";
import { alignColumns, fmtCI, fmtInt, fmtNum, printable } from "../../report/format.js";
import type { AggregateValue } from "../../store/types.js";
import { didYouMean, UserError, type Where } from "../../util/errors.js";
import {
  intOption,
  printJson,
  type SchedulerFlags,
  schedulerOptionsFrom,
  storeFrom,
  withSchedulerOptions,
  withStoreOption,
} from "../context.js";
import { createProgress, progressMode } from "../progress.js";
import { BERTSCORE, BERTSCORE_DEFS, bertScoreSetup, bertScoreValues } from "./score_bertscore.js";
import { scoreCases } from "./score_cases.js";
import { isObject, isStringList, writeText } from "./score_common.js";
import { type ScoreItem, storedRunItems } from "./score_run.js";

interface ScoreOptions extends SchedulerFlags {
  run?: string;
  filter?: string;
  store?: string;
  metric: string[];
  params?: string;
  out?: string;
  json?: boolean;
  cases?: boolean;
  seed: number;
}

export function register(program: Command): void {
  const cmd = program
    .command("score")
    .description(
      "score predictions against references with text metrics (BLEU, chrF, TER, ROUGE, SQuAD, BERTScore, ...)",
    )
    .argument(
      "[predictions]",
      "JSONL, one {prediction, references (string or list), id?} per line; with --cases, golden metric cases",
    )
    .option("--run <run>", "score a stored generation run's outputs instead (id or prefix)")
    .option("--filter <name>", "with --run: the filter whose output is scored (default: the task's first)")
    .option(
      "--metric <name>",
      "metric to compute, repeatable ('rouge' = rouge1, rouge2, rougeL, rougeLsum; 'bertscore' needs an endpoint in --params)",
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option(
      "--params <json>",
      'metric options as JSON: {"tokenize":"intl"} for every metric that has the option, {"chrf":{"word_order":2}} for one',
    )
    .option("--out <file>", "write per-item scores as JSONL (with --cases: the case results)")
    .option("--seed <n>", "bootstrap seed for corpus metrics", intOption("--seed"), 1234)
    .option("--json", "print the results as JSON")
    .option(
      "--cases",
      "input holds golden cases {id, metric, params, predictions, references}; print {id, value} per case",
    )
    .action(async (file: string | undefined, opts: ScoreOptions) => {
      if ((file === undefined) === (opts.run === undefined))
        throw new UserError(file ? "give a predictions file or --run, not both" : "nothing to score", {
          field: file ? "--run" : "predictions",
          expected: "a predictions JSONL file, or --run <run id> for a stored generation run",
        });
      if (opts.filter !== undefined && opts.run === undefined)
        throw new UserError("--filter applies to --run only", { field: "--filter" });
      if (file !== undefined) {
        if (opts.cases) await scoreCases(file, opts);
        else await scoreItems({ file }, readItems(file), opts);
        return;
      }
      if (opts.cases) throw new UserError("--cases reads a file, not a run", { field: "--cases" });
      const store = storeFrom(opts);
      try {
        const stored = await storedRunItems(store, opts.run!, opts.filter);
        await scoreItems({ run: stored.run.id, filter: stored.filter }, stored.items, opts);
      } finally {
        await store.close();
      }
    });
  withStoreOption(cmd);
  withSchedulerOptions(cmd);
}

// --- metrics and options ----------------------------------------------------------------------------

/** Metrics that score a prediction against references (those with a generation scorer). */
function textMetricNames(): string[] {
  return metricNames().filter((n) => getMetric(n).generation !== undefined);
}

/** Option names a chosen metric accepts. */
function optionNames(metric: string): readonly string[] {
  return metric === BERTSCORE ? BERTSCORE_OPTIONS : (getMetric(metric).options ?? []);
}

/** `--metric` values, `rouge` expanded, duplicates dropped, each checked against the registry. */
function resolveMetrics(names: string[]): string[] {
  if (names.length === 0)
    throw new UserError("no metric given", {
      field: "--metric",
      expected: "at least one --metric, e.g. --metric bleu --metric rouge",
    });
  const valid = [...textMetricNames(), BERTSCORE];
  const out: string[] = [];
  for (const name of names)
    for (const n of name === "rouge" ? ROUGE_METRICS : [name]) {
      if (!valid.includes(n))
        throw new UserError(`unknown metric '${n}'`, {
          field: "--metric",
          expected: `one of: rouge, ${valid.join(", ")}`,
          hint: didYouMean(n, ["rouge", ...valid]),
        });
      if (!out.includes(n)) out.push(n);
    }
  return out;
}

/**
 * Splits `--params` among the metrics: a key naming a chosen metric (or `rouge`) holds that metric's
 * own options; any other key goes to every chosen metric that has such an option.
 */
function optionsPerMetric(metrics: string[], text: string | undefined): Map<string, Options> {
  const per = new Map<string, Options>(metrics.map((m) => [m, {}]));
  if (text === undefined) return per;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UserError(`not valid JSON: ${(e as Error).message}`, {
      field: "--params",
      expected: `a JSON object such as '{"tokenize":"intl"}'`,
    });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new UserError(`not a JSON object: ${text.slice(0, 60)}`, {
      field: "--params",
      expected: `a JSON object such as '{"tokenize":"intl"}'`,
    });
  const own = (name: string) => (name === "rouge" ? metrics.filter((m) => m.startsWith("rouge")) : [name]);
  for (const [key, value] of Object.entries(parsed as Options)) {
    if ((metrics.includes(key) || (key === "rouge" && own(key).length > 0)) && isObject(value)) {
      for (const m of own(key)) Object.assign(per.get(m)!, value);
      continue;
    }
    const takers = metrics.filter((m) => optionNames(m).includes(key));
    if (takers.length === 0) {
      const known = [...new Set(metrics.flatMap(optionNames))];
      throw new UserError(`option '${key}' applies to none of ${metrics.join(", ")}`, {
        field: "--params",
        expected: known.length ? `one of: ${known.join(", ")}` : "no options for these metrics",
        hint: didYouMean(key, known),
      });
    }
    for (const m of takers) per.get(m)![key] = value;
  }
  return per;
}

// --- predictions file -------------------------------------------------------------------------------

function readItem(rec: JsonlRecord, file: string): ScoreItem {
  const where = { file, line: rec.line };
  const v = rec.value;
  if (typeof v.prediction !== "string")
    throw new UserError(v.prediction === undefined ? "missing field" : "not a string", {
      ...where,
      field: "prediction",
      expected: "the predicted text as a string",
    });
  // `reference` (singular) as in perf_pairs.jsonl is accepted too.
  const field = v.references === undefined && v.reference !== undefined ? "reference" : "references";
  const raw = v[field];
  const refs = typeof raw === "string" ? [raw] : raw;
  if (!isStringList(refs) || refs.length === 0)
    throw new UserError(raw === undefined ? "missing field" : "not a string or a list of strings", {
      ...where,
      field,
      expected: "a reference string or a non-empty list of strings",
    });
  if (v.id !== undefined && typeof v.id !== "string" && typeof v.id !== "number")
    throw new UserError("not a string or number", {
      ...where,
      field: "id",
      expected: "a string or number id",
    });
  return {
    id: (v.id as string | number | undefined) ?? rec.line,
    prediction: v.prediction,
    references: refs,
  };
}

interface Scored {
  name: string;
  def: MetricDef;
  options: Options;
  scorer: (prediction: string, references: string[]) => SampleValue;
}

/** Where the items came from: a predictions file, or a stored run (its filter known after the first item). */
type ItemSource = { file: string } | { run: string; filter: () => string | undefined };

async function scoreItems(
  source: ItemSource,
  input: AsyncIterable<ScoreItem>,
  opts: ScoreOptions,
): Promise<void> {
  const names = resolveMetrics(opts.metric);
  const perMetric = optionsPerMetric(names, opts.params);
  const where: Where = { field: "--params" };
  // Building each scorer validates its options before any line is read.
  const metrics: Scored[] = names
    .filter((name) => name !== BERTSCORE)
    .map((name) => {
      const def = getMetric(name);
      const options = perMetric.get(name)!;
      return { name, def, options, scorer: def.generation!(options, where) };
    });
  const bert = names.includes(BERTSCORE) ? bertScoreSetup(perMetric.get(BERTSCORE)!, where) : undefined;
  const defs = [...metrics.map((m) => m.def), ...(bert ? BERTSCORE_DEFS : [])];
  const aggregator = new RunAggregator(new Map(defs.map((d) => [d.name, d])), opts.seed);
  const refCounts = new Set<number>();

  // BERTScore needs every item first (one batch of embedding requests, IDF over all references).
  let items: AsyncIterable<ScoreItem> | ScoreItem[] = input;
  let bertValues: Record<string, number>[] = [];
  if (bert) {
    const all: ScoreItem[] = [];
    for await (const item of items) all.push(item);
    items = all;
    const progress = createProgress(progressMode(!!opts.json));
    try {
      bertValues = await bertScoreValues(bert, schedulerOptionsFrom(opts), all, (done, total) =>
        progress.update({ ...EMBED_PROGRESS, done, total }),
      );
    } catch (e) {
      if (e instanceof ProviderError)
        throw new UserError(`embeddings request failed: ${e.message}`, {
          field: "--params bertscore.endpoint",
          expected: "a running embeddings server (--max-retries and --timeout set how long to wait)",
        });
      throw e;
    } finally {
      progress.stop();
    }
  }

  const out = opts.out ? createWriteStream(opts.out) : undefined;
  let n = 0;
  try {
    for await (const item of items) {
      const scores: Record<string, SampleValue> = { ...bertValues[n] };
      for (const m of metrics) scores[m.name] = m.scorer(item.prediction, item.references);
      aggregator.add(scores);
      refCounts.add(item.references.length);
      n++;
      if (out) {
        // A corpus metric's item score is its formula over that item alone (sentence-level).
        const itemScores = Object.fromEntries(
          defs.map((d) => {
            const v = scores[d.name];
            return [d.name, Array.isArray(v) ? d.combine!(v) : v];
          }),
        );
        await writeText(out, `${JSON.stringify({ id: item.id, scores: itemScores })}\n`);
      }
    }
  } finally {
    if (out) await new Promise<void>((resolve) => out.end(resolve));
  }
  if (n === 0)
    throw "file" in source
      ? new UserError("no predictions", {
          file: source.file,
          expected: "JSONL lines {prediction, references}",
        })
      : new UserError(`run ${source.run} has no samples`, { field: "--run", expected: "a run with outputs" });
  const from = "file" in source ? { file: source.file } : { run: source.run, filter: source.filter() };

  const nrefs = refCounts.size === 1 ? [...refCounts][0] : ("var" as const);
  const results = aggregator.result();
  const rows = [
    ...metrics.map((m) => ({
      metric: m.name,
      ...results[m.name],
      ...(m.def.signature ? { signature: m.def.signature(m.options, nrefs, where) } : {}),
    })),
    ...(bert ? BERTSCORE_DEFS.map((d) => ({ metric: d.name, ...results[d.name] })) : []),
  ];
  if (opts.json) {
    printJson({ ...from, n, metrics: Object.fromEntries(rows.map(({ metric, ...r }) => [metric, r])) });
    return;
  }
  if ("run" in from) process.stdout.write(`run ${from.run}, filter ${from.filter}\n\n`);
  process.stdout.write(formatTable(rows, n));
}

const EMBED_PROGRESS = {
  runId: "score",
  task: "bertscore embeddings",
  model: "",
  errors: 0,
  cacheHits: 0,
  retries: 0,
};

async function* readItems(file: string): AsyncIterable<ScoreItem> {
  for await (const rec of readJsonl(file)) yield readItem(rec, file);
}

function formatTable(
  rows: Array<AggregateValue & { metric: string; signature?: string }>,
  n: number,
): string {
  const header = ["Metric", "Value", "± Stderr", "95% CI", "n", "Method"];
  const right = [false, true, true, false, true, false];
  const lines = alignColumns(
    header,
    rows.map((r) => [
      r.metric,
      fmtNum(r.value),
      `± ${fmtNum(r.stderr)}`,
      fmtCI(r.ciLow, r.ciHigh),
      fmtInt(r.n),
      r.method,
    ]),
    right,
  );
  const signed = rows.filter((r) => r.signature);
  if (signed.length > 0) {
    lines.push("");
    for (const r of signed) lines.push(`${r.metric} signature: ${printable(r.signature!)}`);
  }
  lines.push("", `${fmtInt(n)} item${n === 1 ? "" : "s"}; higher is better except ${lowerNames(rows)}`);
  return `${lines.join("\n")}\n`;
}

const lowerNames = (rows: Array<{ metric: string; higherIsBetter: boolean }>): string => {
  const lower = rows.filter((r) => !r.higherIsBetter).map((r) => r.metric);
  return lower.length ? lower.join(", ") : "none";
};
