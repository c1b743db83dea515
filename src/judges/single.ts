/**
 * Single-answer grading: a prompt with a rating format (FastChat `[[rating]]`, Prometheus `[RESULT]`),
 * optionally reference-guided; G-Eval probability-weighted scores from the judge's log-probabilities,
 * or n samples aggregated by mean or majority; and rubrics of decomposed criteria, each on its own scale.
 */
import type { ChatMessage } from "../models/types.js";
import { UserError } from "../util/errors.js";
import { type Attempt, type JudgeClient, renderForScoring } from "./client.js";
import { type CriterionSpec, parseCriteriaJson, scoreParser } from "./parse.js";
import { defaultScale, formatTemplate, getPrompt, type JudgePrompt, type Scale } from "./prompts.js";

/** How a score is obtained: one generated judgment, G-Eval's Σ p(s)·s, or n samples. */
export type ScoreMethod = "generate" | "logprobs" | "samples" | "auto";

export interface SingleJudgeOptions {
  /** Default `generate`; `auto` uses log-probabilities when the judge has them, else samples when n > 1. */
  method?: ScoreMethod;
  /** Samples for `samples` (default 5). */
  samples?: number;
  /** How samples combine (default mean). */
  aggregate?: "mean" | "majority";
  /** Temperature of samples (default 1, as G-Eval). */
  sampleTemperature?: number;
  /** Scale override (default the prompt's). */
  scale?: Scale;
}

export interface SingleJudgment {
  ok: boolean;
  /** null when the judgment failed; never a default value. */
  score: number | null;
  method: "generate" | "logprobs" | "samples";
  prompt: string;
  /** Every generated output, unparseable ones included. */
  attempts: Attempt[];
  /** Outputs that did not parse. */
  parseFailures: number;
  error?: string;
  /** logprobs: probability of each score on the scale. */
  distribution?: Record<string, number>;
  /** samples: the parsed score of each sample (null for a sample that never parsed). */
  samples?: Array<number | null>;
  /** samples with majority: several scores tied for most frequent (their mean is the score). */
  majorityTie?: boolean;
}

export function messagesFor(prompt: JudgePrompt, vars: Readonly<Record<string, string>>): ChatMessage[] {
  const user = formatTemplate(prompt.prompt_template, vars, prompt.name);
  const system = formatTemplate(prompt.system_prompt, vars, prompt.name);
  return system.length > 0
    ? [
        { role: "system", content: system },
        { role: "user", content: user },
      ]
    : [{ role: "user", content: user }];
}

/** Where the score continuation starts when scoring with log-probabilities, per format. */
const SCORE_PREFIX: Record<string, [string, string]> = {
  "[[rating]]": ["Rating: [[", "]]"],
  "[RESULT]": ["[RESULT] ", ""],
};

export function majority(values: readonly number[]): { value: number; tie: boolean } {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const top = Math.max(...counts.values());
  const modes = [...counts].filter(([, c]) => c === top).map(([v]) => v);
  return { value: modes.reduce((a, b) => a + b, 0) / modes.length, tie: modes.length > 1 };
}

export class SingleAnswerJudge {
  readonly prompt: JudgePrompt;
  readonly scale: Scale;
  readonly method: "generate" | "logprobs" | "samples";
  readonly samples: number;
  readonly aggregate: "mean" | "majority";
  readonly sampleTemperature: number;

  constructor(
    readonly client: JudgeClient,
    prompt: JudgePrompt | string,
    opts: SingleJudgeOptions = {},
  ) {
    this.prompt = typeof prompt === "string" ? getPrompt(prompt) : prompt;
    if (this.prompt.type !== "single" || this.prompt.output_format === "json")
      throw new UserError(`judge prompt '${this.prompt.name}' is not a single-answer rating prompt`, {
        field: "prompt",
        expected:
          'type "single" with output_format "[[rating]]" or "[RESULT]" (JSON rubrics use RubricJudge)',
      });
    this.scale = opts.scale ?? defaultScale(this.prompt);
    this.samples = opts.samples ?? 5;
    if (!Number.isInteger(this.samples) || this.samples < 1)
      throw new UserError(`invalid samples ${opts.samples}`, {
        field: "samples",
        expected: "an integer ≥ 1",
      });
    this.aggregate = opts.aggregate ?? "mean";
    this.sampleTemperature = opts.sampleTemperature ?? 1;
    const method = opts.method ?? "generate";
    if (method === "auto")
      this.method = client.hasLogprobs ? "logprobs" : this.samples > 1 ? "samples" : "generate";
    else this.method = method;
    if (this.method === "logprobs") {
      if (!client.hasLogprobs)
        throw new UserError(`judge ${client.spec} returns no log-probabilities`, {
          field: "method",
          expected:
            "a judge with loglikelihood support (openai completions, ngram, llamacpp), or method samples",
        });
      if (!Number.isInteger(this.scale.min) || !Number.isInteger(this.scale.max))
        throw new UserError("probability-weighted scores need an integer scale", { field: "scale" });
    }
  }

  /** Grades one answer; template variables such as question, answer, reference come in `vars`. */
  async grade(vars: Readonly<Record<string, string>>): Promise<SingleJudgment> {
    const messages = messagesFor(this.prompt, vars);
    const prompt = messages[messages.length - 1].content;
    if (this.method === "logprobs") return this.byLogprobs(messages, prompt);
    const parse = scoreParser(this.prompt.output_format, this.scale);
    if (this.method === "generate") {
      const r = await this.client.ask(messages, parse);
      return {
        ok: r.ok,
        score: r.ok ? r.value : null,
        method: "generate",
        prompt,
        attempts: r.attempts,
        parseFailures: r.attempts.filter((a) => a.error !== undefined).length,
        ...(r.ok ? {} : { error: r.error }),
      };
    }
    const stride = this.client.parseRetries + 1;
    const runs = await Promise.all(
      Array.from({ length: this.samples }, (_, i) =>
        this.client.ask(messages, parse, { sampleBase: i * stride, temperature: this.sampleTemperature }),
      ),
    );
    const scores = runs.map((r) => (r.ok ? r.value : null));
    const valid = scores.filter((s): s is number => s !== null);
    const attempts = runs.flatMap((r) => r.attempts);
    const base = {
      method: "samples" as const,
      prompt,
      attempts,
      parseFailures: attempts.filter((a) => a.error !== undefined).length,
      samples: scores,
    };
    if (valid.length === 0)
      return { ...base, ok: false, score: null, error: `no sample parsed (${this.samples} samples)` };
    if (this.aggregate === "majority") {
      const m = majority(valid);
      return { ...base, ok: true, score: m.value, ...(m.tie ? { majorityTie: true } : {}) };
    }
    return { ...base, ok: true, score: valid.reduce((a, b) => a + b, 0) / valid.length };
  }

  /** G-Eval: Σ p(s)·s with p normalised over the scale's integer scores. */
  private async byLogprobs(messages: ChatMessage[], prompt: string): Promise<SingleJudgment> {
    const [prefix, suffix] = SCORE_PREFIX[this.prompt.output_format];
    const values: number[] = [];
    for (let s = this.scale.min; s <= this.scale.max; s++) values.push(s);
    // The closing suffix keeps "1" from also counting the mass of "10".
    const probs = await this.client.optionProbabilities(
      renderForScoring(messages, prefix),
      values.map((v) => `${v}${suffix}`),
    );
    const distribution: Record<string, number> = {};
    let score = 0;
    values.forEach((v, i) => {
      distribution[v] = probs[i];
      score += probs[i] * v;
    });
    return { ok: true, score, method: "logprobs", prompt, attempts: [], parseFailures: 0, distribution };
  }
}

// ---------------------------------------------------------------------------------------------
// Rubrics

export interface Criterion {
  name: string;
  description: string;
  scale: Scale;
  /** Descriptions of score levels, e.g. {"1": "wrong", "5": "fully correct"}. */
  levels?: Record<string, string>;
  /** Weight in the overall score (default 1). */
  weight?: number;
}

export interface Rubric {
  name: string;
  criteria: Criterion[];
}

export interface RubricJudgment {
  ok: boolean;
  /** Weighted mean of criterion scores normalised to [0, 1]; null unless every criterion was graded. */
  overall: number | null;
  criteria: Record<string, number | null>;
  /** Per-criterion judgments (per-criterion mode) or the one joint judgment. */
  judgments: Record<string, SingleJudgment> | { joint: Omit<SingleJudgment, "score"> };
  parseFailures: number;
  error?: string;
}

export function describeCriterion(c: Criterion): string {
  const lines = [`${c.name} (score ${c.scale.min}-${c.scale.max}): ${c.description}`];
  if (c.levels) for (const [k, v] of Object.entries(c.levels)) lines.push(`  ${k}: ${v}`);
  return lines.join("\n");
}

export function overallScore(rubric: Rubric, scores: Record<string, number>): number {
  let num = 0;
  let den = 0;
  for (const c of rubric.criteria) {
    const w = c.weight ?? 1;
    num += (w * (scores[c.name] - c.scale.min)) / (c.scale.max - c.scale.min);
    den += w;
  }
  return num / den;
}

/** Checks a rubric object; errors name the field. */
export function validateRubric(value: unknown, where: { file?: string; line?: number } = {}): Rubric {
  const r = value as Record<string, any>;
  const err = (msg: string, field: string, expected: string) =>
    new UserError(msg, { ...where, field, expected });
  if (r === null || typeof r !== "object" || Array.isArray(r))
    throw err("rubric is not an object", "rubric", "{name, criteria: [...]}");
  if (typeof r.name !== "string" || r.name === "") throw err("missing field", "name", "a rubric name");
  if (!Array.isArray(r.criteria) || r.criteria.length === 0)
    throw err(
      r.criteria === undefined
        ? "missing field"
        : Array.isArray(r.criteria)
          ? "no criteria"
          : "invalid value",
      "criteria",
      "a non-empty list of {name, description, scale}",
    );
  const names = new Set<string>();
  const criteria = r.criteria.map((c: any, i: number): Criterion => {
    const f = (k: string) => `criteria[${i}].${k}`;
    if (typeof c?.name !== "string" || !/^[\w .-]+$/.test(c.name))
      throw err(
        c?.name === undefined ? "missing field" : `invalid name ${JSON.stringify(c.name)}`,
        f("name"),
        "a name of letters, digits, spaces, _ . -",
      );
    if (names.has(c.name)) throw err(`duplicate criterion '${c.name}'`, f("name"), "unique criterion names");
    names.add(c.name);
    if (typeof c.description !== "string") throw err("missing field", f("description"), "a description");
    const s = c.scale;
    if (!s || !Number.isInteger(s.min) || !Number.isInteger(s.max) || s.min >= s.max)
      throw err(`invalid scale ${JSON.stringify(s)}`, f("scale"), "{min, max} integers with min < max");
    if (c.weight !== undefined && !(typeof c.weight === "number" && c.weight > 0))
      throw err(`invalid weight ${JSON.stringify(c.weight)}`, f("weight"), "a positive number");
    if (
      c.levels !== undefined &&
      (typeof c.levels !== "object" || Object.values(c.levels).some((v) => typeof v !== "string"))
    )
      throw err("invalid levels", f("levels"), '{"<score>": "description", ...}');
    return {
      name: c.name,
      description: c.description,
      scale: { min: s.min, max: s.max },
      ...(c.levels ? { levels: c.levels } : {}),
      ...(c.weight !== undefined ? { weight: c.weight } : {}),
    };
  });
  return { name: r.name, criteria };
}

export interface RubricJudgeOptions {
  /** `per-criterion` (default): one judgment per criterion, each with its own scale and parse; `joint`: one JSON judgment. */
  mode?: "per-criterion" | "joint";
  /** Prompt override (per-criterion: a `[[rating]]` prompt using {criterion}, {min}, {max}; joint: a JSON prompt). */
  prompt?: JudgePrompt | string;
  /** Per-criterion scoring method (see SingleJudgeOptions). */
  method?: ScoreMethod;
  samples?: number;
  aggregate?: "mean" | "majority";
}

export class RubricJudge {
  readonly mode: "per-criterion" | "joint";
  private readonly perCriterion: Map<string, SingleAnswerJudge> = new Map();
  private readonly jointPrompt?: JudgePrompt;

  constructor(
    readonly client: JudgeClient,
    readonly rubric: Rubric,
    opts: RubricJudgeOptions & { reference?: boolean } = {},
  ) {
    this.mode = opts.mode ?? "per-criterion";
    const prompt = typeof opts.prompt === "string" ? getPrompt(opts.prompt) : opts.prompt;
    if (this.mode === "joint") {
      this.jointPrompt = prompt ?? getPrompt(opts.reference ? "assay-rubric-ref-v1" : "assay-rubric-v1");
      if (this.jointPrompt.output_format !== "json")
        throw new UserError(`judge prompt '${this.jointPrompt.name}' does not answer in JSON`, {
          field: "prompt",
          expected: 'output_format "json" for a joint rubric',
        });
    } else {
      const p = prompt ?? getPrompt("assay-criterion-v1");
      for (const c of rubric.criteria)
        this.perCriterion.set(
          c.name,
          new SingleAnswerJudge(client, p, {
            scale: c.scale,
            method: opts.method,
            samples: opts.samples,
            aggregate: opts.aggregate,
          }),
        );
    }
  }

  async grade(vars: Readonly<Record<string, string>>): Promise<RubricJudgment> {
    if (this.mode === "joint") return this.gradeJoint(vars);
    const entries = await Promise.all(
      this.rubric.criteria.map(async (c) => {
        const j = await this.perCriterion.get(c.name)!.grade({
          ...vars,
          criterion: describeCriterion(c),
          criterion_name: c.name,
          min: String(c.scale.min),
          max: String(c.scale.max),
        });
        return [c.name, j] as const;
      }),
    );
    const judgments = Object.fromEntries(entries);
    const criteria = Object.fromEntries(entries.map(([n, j]) => [n, j.score]));
    const failed = entries.filter(([, j]) => !j.ok).map(([n]) => n);
    const parseFailures = entries.reduce((a, [, j]) => a + j.parseFailures, 0);
    if (failed.length > 0)
      return {
        ok: false,
        overall: null,
        criteria,
        judgments,
        parseFailures,
        error: `criteria not graded: ${failed.join(", ")}`,
      };
    return {
      ok: true,
      overall: overallScore(this.rubric, criteria as Record<string, number>),
      criteria,
      judgments,
      parseFailures,
    };
  }

  private async gradeJoint(vars: Readonly<Record<string, string>>): Promise<RubricJudgment> {
    const specs: CriterionSpec[] = this.rubric.criteria.map((c) => ({ name: c.name, scale: c.scale }));
    const example = JSON.stringify(
      Object.fromEntries(this.rubric.criteria.map((c) => [c.name, { reason: "...", score: c.scale.min }])),
    );
    const messages = messagesFor(this.jointPrompt!, {
      ...vars,
      criteria: this.rubric.criteria.map(describeCriterion).join("\n"),
      json_example: example,
    });
    const r = await this.client.ask(messages, (t) => parseCriteriaJson(t, specs));
    const parseFailures = r.attempts.filter((a) => a.error !== undefined).length;
    const joint = {
      ok: r.ok,
      method: "generate" as const,
      prompt: messages[messages.length - 1].content,
      attempts: r.attempts,
      parseFailures,
      ...(r.ok ? {} : { error: r.error }),
    };
    if (!r.ok)
      return {
        ok: false,
        overall: null,
        criteria: Object.fromEntries(this.rubric.criteria.map((c) => [c.name, null])),
        judgments: { joint },
        parseFailures,
        error: r.error,
      };
    return {
      ok: true,
      overall: overallScore(this.rubric, r.value),
      criteria: r.value,
      judgments: { joint },
      parseFailures,
    };
  }
}

/** Template variables of Prometheus-style absolute grading from a 5-level criterion. */
export function prometheusVars(c: Criterion): Record<string, string> {
  if (c.scale.min !== 1 || c.scale.max !== 5 || !c.levels)
    throw new UserError(`criterion '${c.name}' needs a 1-5 scale with a description for every level`, {
      field: "levels",
      expected: '{"1": ..., "2": ..., "3": ..., "4": ..., "5": ...}',
    });
  const out: Record<string, string> = { criterion: `${c.name}: ${c.description}` };
  for (let s = 1; s <= 5; s++) {
    const d = c.levels[String(s)];
    if (d === undefined)
      throw new UserError(`criterion '${c.name}' has no description for score ${s}`, {
        field: `levels.${s}`,
        expected: "a description for each score 1-5",
      });
    out[`score${s}`] = d;
  }
  return out;
}
