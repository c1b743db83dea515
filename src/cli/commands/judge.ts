/**
 * `assay judge`: LLM-as-judge runs. `mt-bench` generates (or loads) answers and grades them with FastChat's
 * prompts; `pairs` and `single` grade answers from a JSONL file, with bias diagnostics and, when human
 * labels are attached, judge-human agreement. Judge calls go through the scheduler: cached and retried.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { parseDocument } from "yaml";
import { readJsonlAll } from "../../data/jsonl.js";
import { Scheduler } from "../../engine/scheduler.js";
import {
  type PairwiseDiagnostics,
  pairwiseDiagnostics,
  parseStats,
  scoreHumanAgreement,
} from "../../judges/bias.js";
import { JudgeClient } from "../../judges/client.js";
import {
  checkReferences,
  fastchatPairRecord,
  generateAnswers,
  judgePairwise,
  judgeSingle,
  loadAnswers,
  loadQuestions,
  loadReferences,
  type MtAnswer,
  mtBenchPrompts,
  NEED_REF_CATS,
  type PairSummary,
  type SingleSummary,
  summarizePairwise,
  summarizeSingle,
} from "../../judges/mtbench.js";
import {
  type PairItem,
  type PairJudgment,
  PairwiseJudge,
  TIE_RULES,
  type TieRule,
  type Winner,
  winRates,
} from "../../judges/pairwise.js";
import { panelScores, panelVerdicts } from "../../judges/panel.js";
import { getPrompt, type JudgePrompt, loadJudgePrompts, templateFields } from "../../judges/prompts.js";
import {
  type Rubric,
  RubricJudge,
  type ScoreMethod,
  SingleAnswerJudge,
  validateRubric,
} from "../../judges/single.js";
import { createProvider } from "../../models/registry.js";
import { type ModelProvider, ProviderError } from "../../models/types.js";
import { alignColumns, fmtNum } from "../../report/format.js";
import type { Store } from "../../store/types.js";
import { UserError } from "../../util/errors.js";
import { cacheDirFor, intOption, printJson, storeFrom, withStoreOption } from "../context.js";
import { EXIT_ERROR } from "../exit.js";

interface CommonOptions {
  judge: string[];
  parseRetries: number;
  judgeMaxTokens: number;
  concurrency: number;
  timeout: number;
  maxRetries: number;
  seed: number;
  outputDir?: string;
  json?: boolean;
  store?: string;
}

const collect = (v: string, acc: string[]) => [...acc, v];

function common(cmd: Command): Command {
  return withStoreOption(
    cmd
      .option("-j, --judge <spec>", "judge model spec (repeat for a panel where supported)", collect, [])
      .option(
        "--parse-retries <n>",
        "new samples after an unparseable judgment",
        intOption("--parse-retries", 0),
        2,
      )
      .option("--judge-max-tokens <n>", "max tokens of a judgment", intOption("--judge-max-tokens", 1), 2048)
      .option("--concurrency <n>", "requests in flight per model", intOption("--concurrency", 1), 16)
      .option("--timeout <seconds>", "per-request timeout", intOption("--timeout", 1), 120)
      .option(
        "--max-retries <n>",
        "retries per request on 429, 5xx, timeouts",
        intOption("--max-retries", 0),
        6,
      )
      .option("--seed <n>", "seed for sampled requests", intOption("--seed", 0), 1234)
      .option("--output-dir <dir>", "write judgments.jsonl and summary.json here")
      .option("--json", "print the summary as JSON"),
  );
}

/** Providers and schedulers of one command, closed together. */
class Models {
  private providers = new Map<string, ModelProvider>();
  private schedulers = new Map<string, Scheduler>();
  constructor(
    private readonly store: Store,
    private readonly opts: CommonOptions,
  ) {}

  async scheduler(spec: string): Promise<Scheduler> {
    let s = this.schedulers.get(spec);
    if (s) return s;
    const p = await createProvider(spec, { cacheDir: cacheDirFor(this.store) });
    this.providers.set(spec, p);
    s = new Scheduler(p, this.store, {
      concurrency: this.opts.concurrency,
      timeoutMs: this.opts.timeout * 1000,
      maxRetries: this.opts.maxRetries,
    });
    this.schedulers.set(spec, s);
    return s;
  }

  async judge(spec: string): Promise<JudgeClient> {
    const s = await this.scheduler(spec);
    return new JudgeClient(this.providers.get(spec)!, s, {
      parseRetries: this.opts.parseRetries,
      maxTokens: this.opts.judgeMaxTokens,
      seed: this.opts.seed,
    });
  }

  async close(): Promise<void> {
    for (const s of this.schedulers.values()) await s.flush();
    for (const p of this.providers.values()) await p.close?.();
  }
}

/** Runs `body` with the store and models; provider failures become one clear error line. */
async function withModels<T>(opts: CommonOptions, body: (models: Models) => Promise<T>): Promise<T> {
  const store = storeFrom(opts);
  const models = new Models(store, opts);
  try {
    return await body(models);
  } catch (e) {
    if (e instanceof ProviderError)
      throw new UserError(`model request failed: ${e.message}`, {
        hint: "answers and judgments made so far are cached; rerun the same command to continue",
      });
    throw e;
  } finally {
    await models.close();
    await store.close();
  }
}

function requireJudges(opts: CommonOptions, max = Number.POSITIVE_INFINITY): string[] {
  if (opts.judge.length === 0)
    throw new UserError("no judge given", {
      field: "--judge",
      expected: "a model spec, e.g. --judge openai:gpt-4o",
    });
  if (opts.judge.length > max)
    throw new UserError(`${opts.judge.length} judges given`, {
      field: "--judge",
      expected: max === 1 ? "one judge for this command" : `at most ${max}`,
    });
  return opts.judge;
}

function tieRuleOption(v: string): TieRule {
  if (!(TIE_RULES as readonly string[]).includes(v))
    throw new UserError(`invalid value '${v}'`, { field: "--tie-rule", expected: TIE_RULES.join(", ") });
  return v as TieRule;
}

function writeOutputs(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
}

const jsonl = (rows: readonly unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join("");
const num = (x: number | null | undefined, d = 3) =>
  x === null || x === undefined || !Number.isFinite(x) ? "-" : fmtNum(x, d);
const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? "-" : `${(100 * x).toFixed(1)}%`;

function parseLine(
  label: string,
  p: { judgments: number; failed: number; failureRate: number; outputs: number; unparseableOutputs: number },
): string {
  return `${label}: ${p.failed} of ${p.judgments} judgments failed to parse (${pct(p.failureRate)}); ${p.unparseableOutputs} of ${p.outputs} outputs unparseable (retries included)`;
}

function diagnosticsText(d: PairwiseDiagnostics): string[] {
  const lines = [parseLine("parse", d.parse)];
  const p = d.position;
  lines.push(
    `position: consistency ${pct(p.consistency)} (${p.consistent}/${p.pairs} pairs), biased to first ${p.biasedFirst}, to second ${p.biasedSecond}; first-position rate ${pct(p.firstPositionRate)} of ${p.decisive} decisive verdicts; ties ${pct(p.tieRate)}`,
  );
  const l = d.length;
  lines.push(
    `length: spearman(verdict, length difference) ${num(l.spearman)} (p ${num(l.pvalue, 4)}, n ${l.n}); longer answer chosen ${pct(l.longerWinRate)} of ${l.decisiveWithLengthDifference}`,
  );
  const s = d.selfPreference;
  lines.push(
    s.flag
      ? `self-preference: WARNING judge ${s.judge} (family ${s.judgeFamily ?? "same name"}) grades its own family: ${s.sameFamily.join(", ")}`
      : `self-preference: none (judge family ${s.judgeFamily ?? "unknown"})`,
  );
  if (d.human) {
    const h = d.human;
    lines.push(
      `humans (${h.pairs} pairs, ${h.unparseable} without a judge verdict): vs majority ${pct(h.vsMajority.withTies.rate)} with ties (${h.vsMajority.withTies.agree}/${h.vsMajority.withTies.total}), ${pct(h.vsMajority.withoutTies.rate)} without (${h.vsMajority.withoutTies.agree}/${h.vsMajority.withoutTies.total}); vs each human ${pct(h.vsEachHuman.withTies.rate)} / ${pct(h.vsEachHuman.withoutTies.rate)}; Cohen's kappa vs majority ${num(h.kappaVsMajority)}; vs majority counting failed judgments as wrong ${pct(h.vsMajorityFailedAsWrong.withTies.rate)} (${h.vsMajorityFailedAsWrong.withTies.agree}/${h.vsMajorityFailedAsWrong.withTies.total})`,
    );
  }
  return lines;
}

function singleTable(s: SingleSummary): string {
  const header = ["model", "turn 1", "turn 2", "overall", "n", "failed", ...s.categories];
  const rows = s.models.map((m) => [
    m.model,
    num(m.turn1.mean),
    num(m.turn2.mean),
    num(m.overall.mean),
    String(m.overall.n),
    `${m.failed} (${pct(m.failureRate)})`,
    ...s.categories.map((c) => num(m.categories[c]?.mean)),
  ]);
  const lines = alignColumns(
    header,
    rows,
    header.map((_, i) => i > 0),
  );
  lines.push("", parseLine("parse", s.parse));
  if (s.selfPreference.flag)
    lines.push(
      `self-preference: WARNING judge ${s.judge} grades its own family: ${s.selfPreference.sameFamily.join(", ")}`,
    );
  return lines.join("\n");
}

function winRows(rates: PairSummary["winRates"]): string[] {
  const header = ["model", "win", "loss", "tie", "win rate", "adjusted"];
  const rows = rates.map((w) => [
    w.model,
    String(w.win),
    String(w.loss),
    String(w.tie),
    num(w.winRate),
    num(w.winRateAdjusted),
  ]);
  return alignColumns(
    header,
    rows,
    header.map((_, i) => i > 0),
  );
}

function pairTable(s: PairSummary): string {
  const lines = winRows(s.winRates);
  const cats = Object.keys(s.categories).filter((c) => c !== "");
  if (cats.length > 0) {
    lines.push("");
    const h2 = ["adjusted win rate", ...cats];
    const rows = s.winRates.map((w) => [
      w.model,
      ...cats.map((c) => num(s.categories[c].find((x) => x.model === w.model)?.winRateAdjusted)),
    ]);
    lines.push(
      ...alignColumns(
        h2,
        rows,
        h2.map((_, i) => i > 0),
      ),
    );
  }
  lines.push(
    "",
    `tie rule ${s.tieRule}; ${s.failedPairs} of ${s.pairs} pairs without a verdict (left out of win rates)`,
  );
  lines.push(...diagnosticsText(s.diagnostics));
  return lines.join("\n");
}

/** Failures are recorded and reported; a run where nothing parsed produced no result, so it fails. */
function finish(failed: number, total: number): void {
  if (total > 0 && failed === total) {
    process.stderr.write(
      `assay: error: every judgment (${total}) failed to parse; no scores were produced\n`,
    );
    process.exitCode = EXIT_ERROR;
  } else if (failed > 0)
    process.stderr.write(
      `assay: warning: ${failed} of ${total} judgments failed to parse (recorded, not scored)\n`,
    );
}

// ---------------------------------------------------------------------------------------------
// mt-bench

interface MtOptions extends CommonOptions {
  benchDir?: string;
  questions?: string;
  judgePrompts?: string;
  reference?: string;
  model: string[];
  answers: string[];
  mode: "single" | "pairwise";
  baseline?: string;
  baselineModel?: string;
  tieRule: TieRule;
  limit?: number;
  category?: string;
  turns: string;
  maxTokens: number;
}

function benchFile(opts: MtOptions, explicit: string | undefined, rel: string, field: string): string {
  if (explicit) return explicit;
  const dir = opts.benchDir ?? process.env.ASSAY_MT_BENCH_DIR;
  if (!dir)
    throw new UserError("where is the MT-Bench data?", {
      field: "--bench-dir",
      expected: `a directory with question.jsonl, judge_prompts.jsonl and reference_answer/ (or ${field}, or $ASSAY_MT_BENCH_DIR)`,
    });
  const f = path.join(dir, rel);
  if (!existsSync(f))
    throw new UserError(`no ${rel} in ${dir}`, {
      file: f,
      field,
      expected: "FastChat's MT-Bench data layout",
    });
  return f;
}

const answerName = (file: string) => path.basename(file).replace(/\.jsonl(\.gz)?$/, "");

async function mtBench(opts: MtOptions): Promise<void> {
  const [judgeSpec] = requireJudges(opts, 1);
  if (opts.mode !== "single" && opts.mode !== "pairwise")
    throw new UserError(`invalid value '${opts.mode}'`, { field: "--mode", expected: "single or pairwise" });
  const turns = opts.turns.split(",").map((t) => Number(t.trim()));
  if (turns.some((t) => t !== 1 && t !== 2) || new Set(turns).size !== turns.length)
    throw new UserError(`invalid value '${opts.turns}'`, { field: "--turns", expected: "1, 2 or 1,2" });
  const mode = opts.baselineModel !== undefined || opts.baseline !== undefined ? "pairwise" : opts.mode;
  const questionFile = benchFile(opts, opts.questions, "question.jsonl", "--questions");
  const promptFile = benchFile(opts, opts.judgePrompts, "judge_prompts.jsonl", "--judge-prompts");
  const allQuestions = await loadQuestions(questionFile);
  let questions = allQuestions;
  const categoryOrder = [...new Set(questions.map((q) => q.category))];
  if (opts.category) {
    const want = opts.category.split(",").map((c) => c.trim());
    for (const c of want)
      if (!categoryOrder.includes(c))
        throw new UserError(`unknown category '${c}'`, {
          field: "--category",
          expected: categoryOrder.join(", "),
        });
    questions = questions.filter((q) => want.includes(q.category));
  }
  if (opts.limit !== undefined) questions = questions.slice(0, opts.limit);
  const prompts = mtBenchPrompts(await loadJudgePrompts(promptFile));
  let references = new Map<number, string[]>();
  if (questions.some((q) => NEED_REF_CATS.includes(q.category))) {
    const referenceFile = benchFile(
      opts,
      opts.reference,
      path.join("reference_answer", "gpt-4.jsonl"),
      "--reference",
    );
    references = await loadReferences(referenceFile, questions);
    checkReferences(questions, references, referenceFile, turns);
  }

  // Recorded answers are loaded (and checked) before any model is called.
  const answerFiles = [...opts.answers];
  const specs = [...opts.model];
  let baseline: string | undefined = opts.baseline;
  if (opts.baselineModel !== undefined) {
    if (/\.jsonl(\.gz)?$/.test(opts.baselineModel) && existsSync(opts.baselineModel)) {
      if (!answerFiles.includes(opts.baselineModel)) answerFiles.push(opts.baselineModel);
      baseline = answerName(opts.baselineModel);
    } else {
      if (!specs.includes(opts.baselineModel)) specs.push(opts.baselineModel);
      baseline = opts.baselineModel;
    }
  }
  const recorded = new Map<string, Map<number, MtAnswer>>();
  for (const f of answerFiles) {
    // Checked against every question; answers to questions not selected are then set aside.
    const { model, answers: all } = await loadAnswers(f, allQuestions, questionFile);
    const answers = new Map(questions.filter((q) => all.has(q.id)).map((q) => [q.id, all.get(q.id)!]));
    if (recorded.has(model))
      throw new UserError(`two answer files for model '${model}'`, {
        file: f,
        field: "--answers",
        expected: "one file per model",
      });
    const missing = questions.filter((q) => !answers.has(q.id));
    if (missing.length > 0)
      throw new UserError(`no answer to question ${missing[0].id} (${missing.length} missing)`, {
        file: f,
        field: "question_id",
        expected: "an answer to every selected question",
      });
    recorded.set(model, answers);
  }
  for (const spec of specs)
    if (recorded.has(spec) || specs.indexOf(spec) !== specs.lastIndexOf(spec))
      throw new UserError(`model '${spec}' given twice`, { field: "--model", expected: "distinct models" });
  if (specs.length + recorded.size === 0)
    throw new UserError("no model given", {
      field: "--model",
      expected: "--model <spec> to generate answers, or --answers <file>",
    });
  if (mode === "pairwise" && specs.length + recorded.size < 2)
    throw new UserError("pairwise judging needs two models", {
      field: "--baseline-model",
      expected: "a second --model, --answers or --baseline-model",
    });
  if (baseline !== undefined && !specs.includes(baseline) && !recorded.has(baseline))
    throw new UserError(`baseline '${baseline}' is not one of the models`, {
      field: "--baseline",
      expected: [...specs, ...recorded.keys()].join(", "),
    });

  await withModels(opts, async (models) => {
    const answers = new Map<string, Map<number, MtAnswer>>(recorded);
    const files: Record<string, string> = {};
    for (const spec of specs) {
      const s = await models.scheduler(spec);
      const generated = await generateAnswers(s, spec, questions, {
        maxTokens: opts.maxTokens,
        seed: opts.seed,
      });
      answers.set(spec, generated);
      const rows = [...generated.values()]
        .sort((a, b) => a.questionId - b.questionId)
        .map((a) => ({ question_id: a.questionId, model_id: spec, choices: [{ index: 0, turns: a.turns }] }));
      files[path.join("model_answer", `${spec.replace(/[^\w.-]+/g, "_")}.jsonl`)] = jsonl(rows);
    }
    const client = await models.judge(judgeSpec);
    if (mode === "single") {
      const records = await judgeSingle(client, prompts, questions, answers, references, turns);
      const summary = summarizeSingle(records, judgeSpec, categoryOrder);
      files["judgments.jsonl"] = jsonl(records);
      files["summary.json"] = `${JSON.stringify(summary, null, 2)}\n`;
      if (opts.outputDir) writeOutputs(opts.outputDir, files);
      if (opts.json) printJson({ mode, summary, judgeCalls: client.stats });
      else
        process.stdout.write(
          `MT-Bench single-answer grading, judge ${judgeSpec}\n\n${singleTable(summary)}\n`,
        );
      finish(summary.parse.failed, summary.parse.judgments);
    } else {
      const judgments = await judgePairwise(client, prompts, questions, answers, references, {
        baseline,
        turns,
        tieRule: opts.tieRule,
      });
      const summary = summarizePairwise(judgments, judgeSpec, opts.tieRule, baseline);
      files["judgments.jsonl"] = jsonl(judgments.map((j) => fastchatPairRecord(j, judgeSpec)));
      files["summary.json"] = `${JSON.stringify(summary, null, 2)}\n`;
      if (opts.outputDir) writeOutputs(opts.outputDir, files);
      if (opts.json) printJson({ mode, summary, judgeCalls: client.stats });
      else
        process.stdout.write(
          `MT-Bench pairwise grading, judge ${judgeSpec}${baseline ? `, baseline ${baseline}` : ""}\n\n${pairTable(summary)}\n`,
        );
      finish(summary.diagnostics.parse.failed, summary.diagnostics.parse.judgments);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// pairs / single over a JSONL file

const WINNER_OF: Record<string, Winner> = {
  model_1: "model_1",
  model_2: "model_2",
  tie: "tie",
  "1": "model_1",
  "2": "model_2",
  "0": "tie",
};

function humanVotes(v: unknown, where: { file: string; line: number }): Array<Winner | null> | undefined {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    if (x === null) return null;
    const w = typeof x === "string" || typeof x === "number" ? WINNER_OF[String(x)] : undefined;
    if (w === undefined)
      throw new UserError(`invalid human label ${JSON.stringify(x)}`, {
        ...where,
        field: "human",
        expected: 'labels "model_1", "model_2", "tie" (or 1, 2, 0), null for missing',
      });
    return w;
  });
}

function stringFields(
  value: Record<string, unknown>,
  where: { file: string; line: number },
  required: string[],
): Record<string, string> {
  for (const f of required) {
    if (typeof value[f] !== "string")
      throw new UserError(
        value[f] === undefined ? "missing field" : `invalid value ${JSON.stringify(value[f])?.slice(0, 40)}`,
        { ...where, field: f, expected: "a string" },
      );
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

async function loadPrompt(name: string, promptFile: string | undefined): Promise<JudgePrompt> {
  const prompts = promptFile ? await loadJudgePrompts(promptFile) : undefined;
  return getPrompt(name, prompts);
}

/** Template fields of a prompt that an item lacks, as an error naming the item's line. */
function checkFields(
  prompt: JudgePrompt,
  vars: Record<string, string>,
  where: { file: string; line: number },
  provided: string[],
): void {
  for (const f of new Set(templateFields(prompt.prompt_template))) {
    if (provided.includes(f) || vars[f] !== undefined) continue;
    throw new UserError("missing field", {
      ...where,
      field: f,
      expected: `a value for {${f}}, which judge prompt '${prompt.name}' uses${/ref/.test(f) ? " (it is reference-guided)" : ""}`,
    });
  }
}

interface PairsOptions extends CommonOptions {
  prompt: string;
  judgePrompts?: string;
  tieRule: TieRule;
  orders: string;
}

async function pairs(file: string, opts: PairsOptions): Promise<void> {
  const judges = requireJudges(opts);
  const prompt = await loadPrompt(opts.prompt, opts.judgePrompts);
  if (opts.orders !== "1" && opts.orders !== "2")
    throw new UserError(`invalid value '${opts.orders}'`, { field: "--orders", expected: "1 or 2" });
  const items: PairItem[] = [];
  const ids = new Set<string>();
  for (const { line, value } of await readJsonlAll(file)) {
    const where = { file, line };
    const vars = stringFields(value, where, ["question", "answer_1", "answer_2"]);
    const id = value.id === undefined ? String(line) : String(value.id);
    if (ids.has(id))
      throw new UserError(`duplicate id '${id}'`, { ...where, field: "id", expected: "unique ids" });
    ids.add(id);
    const { answer_1, answer_2, model_1, model_2, category, ...shared } = vars;
    checkFields(prompt, shared, where, ["answer_a", "answer_b"]);
    const human = humanVotes(value.human, where);
    items.push({
      id,
      model1: model_1 ?? "model_1",
      model2: model_2 ?? "model_2",
      shared,
      answer1: { "": answer_1 },
      answer2: { "": answer_2 },
      ...(category !== undefined ? { category } : {}),
      ...(human ? { human } : {}),
    });
  }
  if (items.length === 0) throw new UserError("no pairs", { file, expected: "one JSON object per line" });
  await withModels(opts, async (models) => {
    const results: Array<{ judge: string; judgments: PairJudgment[]; diagnostics: PairwiseDiagnostics }> = [];
    for (const spec of judges) {
      const client = await models.judge(spec);
      const judge = new PairwiseJudge(client, prompt, {
        tieRule: opts.tieRule,
        orders: Number(opts.orders) as 1 | 2,
      });
      const judgments = await Promise.all(items.map((it) => judge.judge(it)));
      results.push({ judge: spec, judgments, diagnostics: pairwiseDiagnostics(judgments, spec) });
    }
    const panel =
      judges.length > 1
        ? panelVerdicts(
            judges,
            results.map((r) => r.judgments.map((j) => j.verdict)),
          )
        : undefined;
    const summary = {
      file,
      prompt: prompt.name,
      tieRule: opts.tieRule,
      judges: results.map((r) => ({
        judge: r.judge,
        winRates: winRates(r.judgments),
        diagnostics: r.diagnostics,
      })),
      ...(panel ? { panel: { ...panel.disagreement, verdicts: panel.items.map((i) => i.verdict) } } : {}),
    };
    if (opts.outputDir)
      writeOutputs(opts.outputDir, {
        "judgments.jsonl": jsonl(
          results.flatMap((r) => r.judgments.map((j) => ({ id: j.id, ...fastchatPairRecord(j, r.judge) }))),
        ),
        "summary.json": `${JSON.stringify(summary, null, 2)}\n`,
      });
    if (opts.json) printJson(summary);
    else {
      const out: string[] = [];
      for (const r of results) {
        out.push(`judge ${r.judge}, prompt ${prompt.name}, tie rule ${opts.tieRule}, ${items.length} pairs`);
        out.push(...winRows(winRates(r.judgments)), ...diagnosticsText(r.diagnostics), "");
      }
      if (panel)
        out.push(
          `panel: judges disagree on ${panel.disagreement.itemsDisagreeing} of ${panel.disagreement.itemsCompared} pairs; Fleiss' kappa ${num(panel.disagreement.fleissKappa)}`,
        );
      process.stdout.write(`${out.join("\n").trimEnd()}\n`);
    }
    const failed = results.reduce((a, r) => a + r.diagnostics.parse.failed, 0);
    const total = results.reduce((a, r) => a + r.diagnostics.parse.judgments, 0);
    finish(failed, total);
  });
}

interface SingleOptions extends CommonOptions {
  prompt?: string;
  judgePrompts?: string;
  rubric?: string;
  rubricMode: "per-criterion" | "joint";
  method: ScoreMethod;
  samples: number;
  aggregate: "mean" | "majority";
}

/** A rubric file (YAML or JSON); errors carry the line of the offending entry. */
export function loadRubric(file: string): Rubric {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read rubric: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      file,
    });
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0)
    throw new UserError(`malformed rubric: ${doc.errors[0].message.split("\n")[0]}`, {
      file,
      line: doc.errors[0].linePos?.[0]?.line,
      expected: "YAML or JSON",
    });
  try {
    return validateRubric(doc.toJS(), { file });
  } catch (e) {
    if (!(e instanceof UserError) || e.where.field === undefined) throw e;
    // Point at the line of the field named in the error (or of its criterion when the field is absent).
    const m = /^criteria\[(\d+)\](?:\.(\w+))?/.exec(e.where.field);
    const paths: Array<Array<string | number>> = m
      ? [m[2] ? ["criteria", Number(m[1]), m[2]] : [], ["criteria", Number(m[1])]]
      : [[e.where.field]];
    let offset: number | undefined;
    for (const p of paths) {
      const node = p.length > 0 ? (doc.getIn(p, true) as { range?: number[] } | undefined) : undefined;
      offset ??= node?.range?.[0];
    }
    const line = offset === undefined ? undefined : text.slice(0, offset).split("\n").length;
    throw new UserError(e.message, { ...e.where, file, ...(line !== undefined ? { line } : {}) });
  }
}

async function single(file: string, opts: SingleOptions): Promise<void> {
  const judges = requireJudges(opts);
  const rubric = opts.rubric ? loadRubric(opts.rubric) : undefined;
  const rows: Array<{ id: string; vars: Record<string, string>; human: number | null; line: number }> = [];
  for (const { line, value } of await readJsonlAll(file)) {
    const where = { file, line };
    const vars = stringFields(value, where, ["question", "answer"]);
    const h = value.human;
    if (h !== undefined && h !== null && !(typeof h === "number" && Number.isFinite(h)))
      throw new UserError(`invalid human score ${JSON.stringify(h)}`, {
        ...where,
        field: "human",
        expected: "a number or null",
      });
    rows.push({
      id: value.id === undefined ? String(line) : String(value.id),
      vars,
      human: (h as number | undefined) ?? null,
      line,
    });
  }
  if (rows.length === 0) throw new UserError("no answers", { file, expected: "one JSON object per line" });
  const hasRef = rows.every((r) => r.vars.reference !== undefined);
  const promptName = opts.prompt ?? (rubric ? undefined : hasRef ? "assay-single-ref-v1" : "assay-single-v1");
  const prompt = promptName ? await loadPrompt(promptName, opts.judgePrompts) : undefined;
  // Rubric prompts fill criterion fields themselves.
  const provided = ["criteria", "json_example", "criterion", "criterion_name", "min", "max"];
  for (const r of rows) {
    if (prompt) checkFields(prompt, r.vars, { file, line: r.line }, provided);
    else if (rubric && hasRef !== (r.vars.reference !== undefined))
      throw new UserError("missing field", {
        file,
        line: r.line,
        field: "reference",
        expected: "a reference on every item or none",
      });
  }
  await withModels(opts, async (models) => {
    const perJudge: Array<{
      judge: string;
      scores: Array<number | null>;
      records: unknown[];
      parse: ReturnType<typeof parseStats>;
    }> = [];
    for (const spec of judges) {
      const client = await models.judge(spec);
      const common = { method: opts.method, samples: opts.samples, aggregate: opts.aggregate };
      if (rubric) {
        const rj = new RubricJudge(client, rubric, {
          ...common,
          mode: opts.rubricMode,
          prompt,
          reference: hasRef,
        });
        const res = await Promise.all(rows.map((r) => rj.grade(r.vars)));
        perJudge.push({
          judge: spec,
          scores: res.map((r) => r.overall),
          records: res.map((r, i) => ({ id: rows[i].id, judge: spec, ...r })),
          parse: parseStats(
            res.map((r) => ({ ok: r.ok, attempts: Object.values(r.judgments).flatMap((j) => j.attempts) })),
          ),
        });
      } else {
        const sj = new SingleAnswerJudge(client, prompt!, common);
        const res = await Promise.all(rows.map((r) => sj.grade(r.vars)));
        perJudge.push({
          judge: spec,
          scores: res.map((r) => r.score),
          records: res.map((r, i) => ({ id: rows[i].id, judge: spec, ...r })),
          parse: parseStats(res),
        });
      }
    }
    const humans = rows.map((r) => r.human);
    const summary = {
      file,
      prompt: prompt?.name,
      rubric: rubric?.name,
      method: opts.method,
      judges: perJudge.map((p) => {
        const valid = p.scores.filter((s): s is number => s !== null);
        return {
          judge: p.judge,
          mean: valid.length === 0 ? null : valid.reduce((a, b) => a + b, 0) / valid.length,
          n: valid.length,
          parse: p.parse,
          ...(humans.some((h) => h !== null) ? { human: scoreHumanAgreement(p.scores, humans) } : {}),
        };
      }),
      ...(perJudge.length > 1
        ? {
            panel: panelScores(
              judges,
              perJudge.map((p) => p.scores),
              opts.aggregate,
            ).disagreement,
          }
        : {}),
    };
    if (opts.outputDir)
      writeOutputs(opts.outputDir, {
        "judgments.jsonl": jsonl(perJudge.flatMap((p) => p.records)),
        "summary.json": `${JSON.stringify(summary, null, 2)}\n`,
      });
    if (opts.json) printJson(summary);
    else {
      const header = ["judge", "mean", "n", "failed", "spearman vs human"];
      const trows = summary.judges.map((j) => [
        j.judge,
        num(j.mean),
        String(j.n),
        `${j.parse.failed} (${pct(j.parse.failureRate)})`,
        num(j.human?.spearman),
      ]);
      const out = alignColumns(
        header,
        trows,
        header.map((_, i) => i > 0),
      );
      for (const j of summary.judges) out.push(parseLine(`parse (${j.judge})`, j.parse));
      if (summary.panel)
        out.push(
          `panel: scores differ on ${summary.panel.itemsDisagreeing} of ${summary.panel.itemsCompared} items (mean spread ${num(summary.panel.meanSpread)}); Krippendorff's alpha (interval) ${num(summary.panel.krippendorffAlpha)}`,
        );
      process.stdout.write(`${out.join("\n")}\n`);
    }
    const failed = summary.judges.reduce((a, j) => a + j.parse.failed, 0);
    const total = summary.judges.reduce((a, j) => a + j.parse.judgments, 0);
    finish(failed, total);
  });
}

export function register(program: Command): void {
  const judge = program
    .command("judge")
    .description("LLM-as-judge: MT-Bench, pairwise and single-answer grading with bias diagnostics");
  common(
    judge
      .command("mt-bench")
      .description(
        "answer MT-Bench with models (or load recorded answers) and grade them with FastChat's prompts",
      )
      .option(
        "--bench-dir <dir>",
        "MT-Bench data: question.jsonl, judge_prompts.jsonl, reference_answer/gpt-4.jsonl ($ASSAY_MT_BENCH_DIR)",
      )
      .option("--questions <file>", "question file (default <bench-dir>/question.jsonl)")
      .option("--judge-prompts <file>", "FastChat judge prompts (default <bench-dir>/judge_prompts.jsonl)")
      .option("--reference <file>", "reference answers (default <bench-dir>/reference_answer/gpt-4.jsonl)")
      .option("-m, --model <spec>", "generate answers with this model (repeatable)", collect, [])
      .option(
        "--answers <file>",
        "recorded answers in FastChat's model_answer format (repeatable)",
        collect,
        [],
      )
      .option("--mode <mode>", "single (scores 1-10) or pairwise", "single")
      .option(
        "--baseline-model <spec|file>",
        "pairwise against this baseline (a model spec or an answer file)",
      )
      .option("--baseline <name>", "pairwise against this one of the given models")
      .option("--tie-rule <rule>", `pairwise tie rule: ${TIE_RULES.join(", ")}`, tieRuleOption, "mtbench")
      .option("--limit <n>", "only the first N questions", intOption("--limit", 1))
      .option("--category <names>", "only these categories (comma-separated)")
      .option("--turns <turns>", "turns to grade: 1, 2 or 1,2", "1,2")
      .option("--max-tokens <n>", "max tokens of a generated answer", intOption("--max-tokens", 1), 1024),
  ).action((opts: MtOptions) => mtBench(opts));
  common(
    judge
      .command("pairs")
      .description(
        "compare answer pairs from a JSONL file ({question, answer_1, answer_2, model_1?, model_2?, reference?, human?})",
      )
      .argument("<file>", "JSONL of pairs")
      .option("--prompt <name>", "judge prompt (built-in, or from --judge-prompts)", "assay-pair-v1")
      .option("--judge-prompts <file>", "a JSONL of judge prompts in FastChat's format")
      .option("--tie-rule <rule>", `tie rule: ${TIE_RULES.join(", ")}`, tieRuleOption, "mtbench")
      .option("--orders <n>", "judge both orders (2) or only answer_1 first (1)", "2"),
  ).action((file: string, opts: PairsOptions) => pairs(file, opts));
  common(
    judge
      .command("single")
      .description(
        "grade answers from a JSONL file ({question, answer, reference?, human?}) with a prompt or a rubric",
      )
      .argument("<file>", "JSONL of answers")
      .option(
        "--prompt <name>",
        "judge prompt (default assay-single-v1, or assay-single-ref-v1 when every item has a reference)",
      )
      .option("--judge-prompts <file>", "a JSONL of judge prompts in FastChat's format")
      .option("--rubric <file>", "rubric of criteria, each with its own scale (YAML or JSON)")
      .option(
        "--rubric-mode <mode>",
        "per-criterion (one judgment each) or joint (one JSON judgment)",
        "per-criterion",
      )
      .option("--method <method>", "generate, logprobs (G-Eval), samples or auto", "generate")
      .option("--samples <n>", "samples for --method samples", intOption("--samples", 1), 5)
      .option("--aggregate <how>", "mean or majority (samples and panels)", "mean"),
  ).action((file: string, opts: SingleOptions) => {
    if (!["generate", "logprobs", "samples", "auto"].includes(opts.method))
      throw new UserError(`invalid value '${opts.method}'`, {
        field: "--method",
        expected: "generate, logprobs, samples or auto",
      });
    if (opts.aggregate !== "mean" && opts.aggregate !== "majority")
      throw new UserError(`invalid value '${opts.aggregate}'`, {
        field: "--aggregate",
        expected: "mean or majority",
      });
    if (opts.rubricMode !== "per-criterion" && opts.rubricMode !== "joint")
      throw new UserError(`invalid value '${opts.rubricMode}'`, {
        field: "--rubric-mode",
        expected: "per-criterion or joint",
      });
    return single(file, opts);
  });
}
