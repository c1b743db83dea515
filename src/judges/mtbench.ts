/**
 * MT-Bench end to end, as FastChat's llm_judge does it: answers to both turns (generated, or recorded
 * and loaded by mtbench_data.ts), single-answer grading with single-v1 / single-math-v1 (reference
 * answers for math, reasoning and coding) and their multi-turn variants, and pairwise grading with
 * pair-v2 / pair-math-v1 (+ multi-turn) in both orders. The tables are in mtbench_summary.ts.
 */
import type { Scheduler } from "../engine/scheduler.js";
import type { ChatMessage } from "../models/types.js";
import { UserError } from "../util/errors.js";
import type { JudgeClient } from "./client.js";
import { type MtAnswer, type MtQuestion, NEED_REF_CATS, TEMPERATURE_CONFIG } from "./mtbench_data.js";
import { type PairItem, type PairJudgment, PairwiseJudge, type TieRule } from "./pairwise.js";
import { getPrompt, type JudgePrompt } from "./prompts.js";
import { SingleAnswerJudge, type SingleJudgment } from "./single.js";

/** Generates answers to every turn (turn 2 sees turn 1's answer), through the scheduler and its cache. */
export async function generateAnswers(
  scheduler: Scheduler,
  model: string,
  questions: readonly MtQuestion[],
  opts: { maxTokens?: number; seed?: number } = {},
): Promise<Map<number, MtAnswer>> {
  const out = new Map<number, MtAnswer>();
  await Promise.all(
    questions.map(async (q) => {
      const temperature = TEMPERATURE_CONFIG[q.category] ?? 0.7;
      const messages: ChatMessage[] = [];
      const turns: string[] = [];
      for (const turn of q.turns) {
        messages.push({ role: "user", content: turn });
        const [served] = await scheduler.serveAll([
          {
            kind: "generate_until",
            prompt: [...messages],
            params: {
              until: [],
              max_gen_toks: opts.maxTokens ?? 1024,
              temperature,
              ...(temperature > 0 ? { seed: opts.seed ?? 0 } : {}),
            },
          },
        ]);
        const text = served.response.kind === "generate_until" ? served.response.text.trim() : "";
        turns.push(text);
        messages.push({ role: "assistant", content: text });
      }
      out.set(q.id, { questionId: q.id, model, turns });
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// Judging

export interface MtJudgePrompts {
  single: JudgePrompt;
  singleMath: JudgePrompt;
  singleMulti: JudgePrompt;
  singleMathMulti: JudgePrompt;
  pair: JudgePrompt;
  pairMath: JudgePrompt;
  pairMulti: JudgePrompt;
  pairMathMulti: JudgePrompt;
}

/** FastChat's eight MT-Bench judge prompts from its judge_prompts.jsonl. */
export function mtBenchPrompts(prompts: ReadonlyMap<string, JudgePrompt>): MtJudgePrompts {
  const get = (n: string) => getPrompt(n, prompts, "--judge-prompts");
  return {
    single: get("single-v1"),
    singleMath: get("single-math-v1"),
    singleMulti: get("single-v1-multi-turn"),
    singleMathMulti: get("single-math-v1-multi-turn"),
    pair: get("pair-v2"),
    pairMath: get("pair-math-v1"),
    pairMulti: get("pair-v2-multi-turn"),
    pairMathMulti: get("pair-math-v1-multi-turn"),
  };
}

export interface SingleRecord {
  question_id: number;
  model: string;
  category: string;
  turn: number;
  judge: [string, string];
  ok: boolean;
  /** null for a failed judgment (FastChat writes -1 and filters it out). */
  score: number | null;
  user_prompt: string;
  /** The last output of the judge. */
  judgment: string;
  attempts: Array<{ text: string; error?: string }>;
  error?: string;
}

function refVars(ref: string[] | undefined): Record<string, string> {
  if (!ref) return {};
  return { ref_answer_1: ref[0] ?? "", ref_answer_2: ref[1] ?? "" };
}

/** Grades every (model, question, turn) with the FastChat prompt that fits it. */
export async function judgeSingle(
  client: JudgeClient,
  prompts: MtJudgePrompts,
  questions: readonly MtQuestion[],
  answers: ReadonlyMap<string, ReadonlyMap<number, MtAnswer>>,
  references: ReadonlyMap<number, string[]>,
  turns: readonly number[] = [1, 2],
): Promise<SingleRecord[]> {
  const judges = new Map<string, SingleAnswerJudge>();
  const judgeFor = (p: JudgePrompt) => {
    let j = judges.get(p.name);
    if (!j) judges.set(p.name, (j = new SingleAnswerJudge(client, p)));
    return j;
  };
  const jobs: Array<Promise<SingleRecord>> = [];
  for (const [model, byQ] of answers)
    for (const q of questions) {
      const a = byQ.get(q.id);
      if (!a) continue;
      const math = NEED_REF_CATS.includes(q.category);
      const ref = math ? refVars(references.get(q.id)) : {};
      for (const turn of turns) {
        if (turn > q.turns.length) continue;
        const prompt =
          turn === 1
            ? math
              ? prompts.singleMath
              : prompts.single
            : math
              ? prompts.singleMathMulti
              : prompts.singleMulti;
        const vars =
          turn === 1
            ? { question: q.turns[0], answer: a.turns[0], ...ref }
            : {
                question_1: q.turns[0],
                question_2: q.turns[1],
                answer_1: a.turns[0],
                answer_2: a.turns[1],
                ...ref,
              };
        jobs.push(
          judgeFor(prompt)
            .grade(vars)
            .then((j: SingleJudgment) => ({
              question_id: q.id,
              model,
              category: q.category,
              turn,
              judge: [client.spec, prompt.name] as [string, string],
              ok: j.ok,
              score: j.score,
              user_prompt: j.prompt,
              judgment: j.attempts.at(-1)?.text ?? "",
              attempts: j.attempts.map((t) => ({ text: t.text, ...(t.error ? { error: t.error } : {}) })),
              ...(j.error ? { error: j.error } : {}),
            })),
        );
      }
    }
  return Promise.all(jobs);
}

export interface PairPlanOptions {
  /** Compare every model with this one (FastChat pairwise-baseline); default all pairs. */
  baseline?: string;
  turns?: readonly number[];
  tieRule?: TieRule;
  orders?: 1 | 2;
}

/** Pairwise judgments of every model pair (or every model vs the baseline), per question and turn. */
export async function judgePairwise(
  client: JudgeClient,
  prompts: MtJudgePrompts,
  questions: readonly MtQuestion[],
  answers: ReadonlyMap<string, ReadonlyMap<number, MtAnswer>>,
  references: ReadonlyMap<number, string[]>,
  opts: PairPlanOptions = {},
): Promise<PairJudgment[]> {
  const models = [...answers.keys()];
  if (models.length < 2)
    throw new UserError("pairwise judging needs answers of at least two models", {
      field: "--model",
      expected: "two or more models or answer files",
    });
  if (opts.baseline !== undefined && !answers.has(opts.baseline))
    throw new UserError(`baseline '${opts.baseline}' is not one of the models`, {
      field: "--baseline",
      expected: models.join(", "),
    });
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < models.length; i++)
    for (let k = i + 1; k < models.length; k++) {
      const [a, b] = [models[i], models[k]];
      if (opts.baseline !== undefined && a !== opts.baseline && b !== opts.baseline) continue;
      // FastChat plays (model, baseline): the baseline is model_2.
      pairs.push(b === opts.baseline ? [a, b] : a === opts.baseline ? [b, a] : [a, b]);
    }
  const judges = new Map<string, PairwiseJudge>();
  const judgeFor = (p: JudgePrompt) => {
    let j = judges.get(p.name);
    if (!j)
      judges.set(p.name, (j = new PairwiseJudge(client, p, { tieRule: opts.tieRule, orders: opts.orders })));
    return j;
  };
  const jobs: Array<Promise<PairJudgment>> = [];
  for (const [m1, m2] of pairs)
    for (const q of questions) {
      const a1 = answers.get(m1)!.get(q.id);
      const a2 = answers.get(m2)!.get(q.id);
      if (!a1 || !a2) continue;
      const math = NEED_REF_CATS.includes(q.category);
      const ref = math ? refVars(references.get(q.id)) : {};
      for (const turn of opts.turns ?? [1, 2]) {
        if (turn > q.turns.length) continue;
        const prompt =
          turn === 1
            ? math
              ? prompts.pairMath
              : prompts.pair
            : math
              ? prompts.pairMathMulti
              : prompts.pairMulti;
        const item: PairItem =
          turn === 1
            ? {
                id: `${q.id}:1`,
                model1: m1,
                model2: m2,
                shared: { question: q.turns[0], ...ref },
                answer1: { "": a1.turns[0] },
                answer2: { "": a2.turns[0] },
                lengths: [[...a1.turns[0]].length, [...a2.turns[0]].length],
                category: q.category,
                turn,
              }
            : {
                id: `${q.id}:2`,
                model1: m1,
                model2: m2,
                shared: { question_1: q.turns[0], question_2: q.turns[1], ...ref },
                answer1: { _1: a1.turns[0], _2: a1.turns[1] },
                answer2: { _1: a2.turns[0], _2: a2.turns[1] },
                // The multi-turn prompts judge the second answer.
                lengths: [[...a1.turns[1]].length, [...a2.turns[1]].length],
                category: q.category,
                turn,
              };
        jobs.push(judgeFor(prompt).judge(item));
      }
    }
  return Promise.all(jobs);
}
