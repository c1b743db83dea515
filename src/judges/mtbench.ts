/**
 * MT-Bench end to end, as FastChat's llm_judge does it: answers to both turns (generated or recorded),
 * single-answer grading with single-v1 / single-math-v1 (reference answers for math, reasoning and coding)
 * and their multi-turn variants, pairwise grading with pair-v2 / pair-math-v1 (+ multi-turn) in both
 * orders, and FastChat's tables: mean score per turn and overall, per category, win rates.
 */
import path from "node:path";
import { readJsonlAll } from "../data/jsonl.js";
import type { Scheduler } from "../engine/scheduler.js";
import type { ChatMessage } from "../models/types.js";
import { UserError } from "../util/errors.js";
import {
  type PairwiseDiagnostics,
  type ParseStats,
  pairwiseDiagnostics,
  parseStats,
  type SelfPreference,
  selfPreference,
} from "./bias.js";
import type { JudgeClient } from "./client.js";
import {
  type PairItem,
  type PairJudgment,
  PairwiseJudge,
  type TieRule,
  type WinRate,
  winRates,
} from "./pairwise.js";
import { getPrompt, type JudgePrompt } from "./prompts.js";
import { SingleAnswerJudge, type SingleJudgment } from "./single.js";

/** Categories graded against a reference answer (FastChat NEED_REF_CATS). */
export const NEED_REF_CATS = ["math", "reasoning", "coding"];

/** FastChat's answer-generation temperature per category (gen_model_answer.py); others 0.7. */
export const TEMPERATURE_CONFIG: Record<string, number> = {
  writing: 0.7,
  roleplay: 0.7,
  extraction: 0.0,
  math: 0.0,
  coding: 0.0,
  reasoning: 0.0,
  stem: 0.1,
  humanities: 0.1,
};

export interface MtQuestion {
  id: number;
  category: string;
  turns: string[];
}

export interface MtAnswer {
  questionId: number;
  model: string;
  turns: string[];
}

const isInt = (v: unknown): v is number => Number.isInteger(v);

/** question.jsonl: `{question_id, category, turns: [...]}` per line. */
export async function loadQuestions(file: string): Promise<MtQuestion[]> {
  const out: MtQuestion[] = [];
  const seen = new Set<number>();
  for (const { line, value } of await readJsonlAll(file)) {
    const at = (field: string, expected: string, v: unknown) =>
      new UserError(v === undefined ? "missing field" : `invalid value ${JSON.stringify(v)?.slice(0, 60)}`, {
        file,
        line,
        field,
        expected,
      });
    const id = value.question_id;
    if (!isInt(id)) throw at("question_id", "an integer", id);
    if (seen.has(id))
      throw new UserError(`duplicate question ${id}`, {
        file,
        line,
        field: "question_id",
        expected: "unique ids",
      });
    seen.add(id);
    if (typeof value.category !== "string" || value.category === "")
      throw at("category", "a category name", value.category);
    const turns = value.turns;
    if (!Array.isArray(turns) || turns.length === 0 || !turns.every((t) => typeof t === "string"))
      throw at("turns", "a non-empty list of strings", turns);
    out.push({ id, category: value.category, turns: turns as string[] });
  }
  if (out.length === 0) throw new UserError("no questions", { file, expected: "one question per line" });
  return out;
}

/**
 * A FastChat answer file (`{question_id, model_id, choices: [{turns}]}`); every answer must belong to a
 * question and have a text for each of its turns. The model is named after the file, as FastChat does.
 */
export async function loadAnswers(
  file: string,
  questions: readonly MtQuestion[],
  questionFile = "the question file",
): Promise<{ model: string; answers: Map<number, MtAnswer> }> {
  const model = path.basename(file).replace(/\.jsonl(\.gz)?$/, "");
  const byId = new Map(questions.map((q) => [q.id, q]));
  const answers = new Map<number, MtAnswer>();
  for (const { line, value } of await readJsonlAll(file)) {
    const id = value.question_id;
    if (!isInt(id))
      throw new UserError(id === undefined ? "missing field" : `invalid value ${JSON.stringify(id)}`, {
        file,
        line,
        field: "question_id",
        expected: "an integer",
      });
    const q = byId.get(id);
    if (!q)
      throw new UserError(`answer to question ${id}, which is not in ${questionFile}`, {
        file,
        line,
        field: "question_id",
        expected: `the id of a question in ${questionFile}`,
      });
    if (answers.has(id))
      throw new UserError(`second answer to question ${id}`, {
        file,
        line,
        field: "question_id",
        expected: "one answer per question",
      });
    const turns = (value.choices as any)?.[0]?.turns;
    if (!Array.isArray(turns) || !turns.every((t) => typeof t === "string"))
      throw new UserError(turns === undefined ? "missing field" : "invalid value", {
        file,
        line,
        field: "choices[0].turns",
        expected: "a list of answer strings",
      });
    if (turns.length < q.turns.length)
      throw new UserError(`${turns.length} answer turn(s) for a ${q.turns.length}-turn question`, {
        file,
        line,
        field: "choices[0].turns",
        expected: `${q.turns.length} answers`,
      });
    answers.set(id, { questionId: id, model, turns });
  }
  return { model, answers };
}

/** reference_answer/<judge>.jsonl, same shape as answers; ids not among the questions are ignored. */
export async function loadReferences(
  file: string,
  questions: readonly MtQuestion[],
): Promise<Map<number, string[]>> {
  const ids = new Set(questions.map((q) => q.id));
  const out = new Map<number, string[]>();
  for (const { line, value } of await readJsonlAll(file)) {
    const id = value.question_id;
    if (!isInt(id))
      throw new UserError("missing field", { file, line, field: "question_id", expected: "an integer" });
    const turns = (value.choices as any)?.[0]?.turns;
    if (!Array.isArray(turns) || !turns.every((t) => typeof t === "string"))
      throw new UserError("missing field", {
        file,
        line,
        field: "choices[0].turns",
        expected: "a list of reference answers",
      });
    if (ids.has(id)) out.set(id, turns);
  }
  return out;
}

/** Fails before any judging when a reference-guided category lacks its reference answer. */
export function checkReferences(
  questions: readonly MtQuestion[],
  references: ReadonlyMap<number, string[]>,
  referenceFile: string,
  turns: readonly number[],
): void {
  for (const q of questions) {
    if (!NEED_REF_CATS.includes(q.category)) continue;
    const ref = references.get(q.id);
    const needed = Math.min(q.turns.length, Math.max(...turns));
    if (!ref || ref.length < needed)
      throw new UserError(
        `question ${q.id} (category ${q.category}) is graded against a reference answer, but ${
          ref ? `only ${ref.length} reference turn(s) exist` : "there is none"
        }`,
        {
          file: referenceFile,
          field: "question_id",
          expected: `a reference answer with ${needed} turn(s) for question ${q.id}`,
        },
      );
  }
}

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

// ---------------------------------------------------------------------------------------------
// Tables

export interface MeanN {
  mean: number | null;
  n: number;
}

export interface SingleModelSummary {
  model: string;
  turn1: MeanN;
  turn2: MeanN;
  /** Mean of every valid score over both turns (FastChat's "Average"). */
  overall: MeanN;
  categories: Record<string, MeanN>;
  judged: number;
  failed: number;
  failureRate: number;
}

export interface SingleSummary {
  judge: string;
  models: SingleModelSummary[];
  categories: string[];
  parse: ParseStats;
  selfPreference: SelfPreference;
}

function meanN(xs: number[]): MeanN {
  return { mean: xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length, n: xs.length };
}

/** FastChat's show_result single mode (failed judgments left out of means, counted separately). */
export function summarizeSingle(
  records: readonly SingleRecord[],
  judge: string,
  categoryOrder: readonly string[] = [],
): SingleSummary {
  const models = [...new Set(records.map((r) => r.model))];
  const cats = [
    ...new Set([
      ...categoryOrder.filter((c) => records.some((r) => r.category === c)),
      ...records.map((r) => r.category),
    ]),
  ];
  const rows = models.map((model): SingleModelSummary => {
    const mine = records.filter((r) => r.model === model);
    const valid = mine.filter((r) => r.ok && r.score !== null);
    const scores = (f: (r: SingleRecord) => boolean) => valid.filter(f).map((r) => r.score as number);
    const failed = mine.length - valid.length;
    return {
      model,
      turn1: meanN(scores((r) => r.turn === 1)),
      turn2: meanN(scores((r) => r.turn === 2)),
      overall: meanN(scores(() => true)),
      categories: Object.fromEntries(cats.map((c) => [c, meanN(scores((r) => r.category === c))])),
      judged: mine.length,
      failed,
      failureRate: mine.length === 0 ? 0 : failed / mine.length,
    };
  });
  rows.sort(
    (a, b) => (b.overall.mean ?? -Infinity) - (a.overall.mean ?? -Infinity) || a.model.localeCompare(b.model),
  );
  return {
    judge,
    models: rows,
    categories: cats,
    parse: parseStats(records),
    selfPreference: selfPreference(judge, models),
  };
}

export interface PairSummary {
  judge: string;
  tieRule: TieRule;
  baseline?: string;
  winRates: WinRate[];
  categories: Record<string, WinRate[]>;
  /** Pairs whose verdict could not be made (left out of win rates, as FastChat drops "error" rows). */
  failedPairs: number;
  pairs: number;
  diagnostics: PairwiseDiagnostics;
}

export function summarizePairwise(
  judgments: readonly PairJudgment[],
  judge: string,
  tieRule: TieRule,
  baseline?: string,
): PairSummary {
  const cats = [...new Set(judgments.map((j) => j.category ?? ""))];
  return {
    judge,
    tieRule,
    ...(baseline !== undefined ? { baseline } : {}),
    winRates: winRates(judgments, baseline),
    categories: Object.fromEntries(
      cats.map((c) => [
        c,
        winRates(
          judgments.filter((j) => (j.category ?? "") === c),
          baseline,
        ),
      ]),
    ),
    failedPairs: judgments.filter((j) => j.verdict === null).length,
    pairs: judgments.length,
    diagnostics: pairwiseDiagnostics(judgments, judge),
  };
}

/** A pair judgment in FastChat's model_judgment format (g1/g2 winners, "error" for a failed order). */
export function fastchatPairRecord(j: PairJudgment, judgeSpec: string): Record<string, unknown> {
  const [g1, g2] = [j.orders[0], j.orders[1]];
  const w = (o: typeof g1 | undefined) => (o === undefined ? undefined : o.ok ? o.winner : "error");
  const last = (o: typeof g1 | undefined) => o?.attempts.at(-1)?.text ?? "";
  return {
    question_id: Number(j.id.split(":")[0]),
    model_1: j.model1,
    model_2: j.model2,
    g1_winner: w(g1),
    g2_winner: w(g2),
    judge: [judgeSpec, j.judgePrompt ?? ""],
    g1_user_prompt: g1?.prompt,
    g1_judgment: last(g1),
    g2_user_prompt: g2?.prompt,
    g2_judgment: last(g2),
    turn: j.turn,
    category: j.category,
    tie_rule: j.tieRule,
    verdict: j.verdict,
    consistent: j.consistent,
    battles: j.battles,
    ...(j.probabilities ? { probabilities: j.probabilities } : {}),
    attempts: j.orders.map((o) =>
      o.attempts.map((a) => ({ text: a.text, ...(a.error ? { error: a.error } : {}) })),
    ),
    ...(j.error ? { error: j.error } : {}),
  };
}
