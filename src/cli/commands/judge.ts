/**
 * `assay judge`: LLM-as-judge runs. `mt-bench` generates (or loads) answers and grades them with FastChat's
 * prompts; `pairs` and `single` grade answers from a JSONL file, with bias diagnostics and, when human
 * labels are attached, judge-human agreement. Judge calls go through the scheduler: cached and retried.
 * The commands live in ./judge/; this file declares their options.
 */
import type { Command } from "commander";
import { TIE_RULES } from "../../judges/pairwise.js";
import { UserError } from "../../util/errors.js";
import { intOption } from "../context.js";
import { type MtOptions, mtBench } from "./judge/mt_bench.js";
import { type PairsOptions, pairs } from "./judge/pairs.js";
import { collect, common, tieRuleOption } from "./judge/shared.js";
import { type SingleOptions, single } from "./judge/single.js";

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
