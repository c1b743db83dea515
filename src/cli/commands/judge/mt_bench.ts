/** `assay judge mt-bench`: generate (or load) answers and grade them with FastChat's prompts. */
import { existsSync } from "node:fs";
import path from "node:path";
import { generateAnswers, judgePairwise, judgeSingle, mtBenchPrompts } from "../../../judges/mtbench.js";
import {
  checkReferences,
  loadAnswers,
  loadQuestions,
  loadReferences,
  type MtAnswer,
  NEED_REF_CATS,
} from "../../../judges/mtbench_data.js";
import { fastchatPairRecord, summarizePairwise, summarizeSingle } from "../../../judges/mtbench_summary.js";
import type { TieRule } from "../../../judges/pairwise.js";
import { loadJudgePrompts } from "../../../judges/prompts.js";
import { UserError } from "../../../util/errors.js";
import { printJson } from "../../context.js";
import {
  type CommonOptions,
  finish,
  jsonl,
  pairTable,
  requireJudges,
  singleTable,
  withModels,
  writeOutputs,
} from "./shared.js";

// ---------------------------------------------------------------------------------------------
// mt-bench

export interface MtOptions extends CommonOptions {
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

export function benchFile(opts: MtOptions, explicit: string | undefined, rel: string, field: string): string {
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

export const answerName = (file: string) => path.basename(file).replace(/\.jsonl(\.gz)?$/, "");

export async function mtBench(opts: MtOptions): Promise<void> {
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
