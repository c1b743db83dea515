/**
 * MT-Bench's files, as FastChat's llm_judge reads them: questions (two turns, a category, optional
 * reference answers), recorded answers and reference answers, each checked line by line.
 */
import path from "node:path";
import { readJsonlAll } from "../data/jsonl.js";
import { UserError } from "../util/errors.js";

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
