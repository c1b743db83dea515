/**
 * Judge prompts are data: FastChat's `judge_prompts.jsonl` is read at run time, and assay's own prompts
 * live in `prompts/*.json`. Templates use Python `str.format` fields (`{question}`, `{{` for a brace).
 */
import { readJsonlAll } from "../data/jsonl.js";
import { didYouMean, UserError, type Where } from "../util/errors.js";
import criterionV1 from "./prompts/assay-criterion-v1.json" with { type: "json" };
import pairArenaV1 from "./prompts/assay-pair-arena-v1.json" with { type: "json" };
import pairV1 from "./prompts/assay-pair-v1.json" with { type: "json" };
import prometheusNorefV1 from "./prompts/assay-prometheus-noref-v1.json" with { type: "json" };
import prometheusV1 from "./prompts/assay-prometheus-v1.json" with { type: "json" };
import rubricRefV1 from "./prompts/assay-rubric-ref-v1.json" with { type: "json" };
import rubricV1 from "./prompts/assay-rubric-v1.json" with { type: "json" };
import singleRefV1 from "./prompts/assay-single-ref-v1.json" with { type: "json" };
import singleV1 from "./prompts/assay-single-v1.json" with { type: "json" };

/**
 * How a judge states its result: FastChat's `[[rating]]` and `[[A]]` (A, B or C = tie), Arena-Hard's
 * `[[A>B]]` (A>>B, A>B, A=B, B>A, B>>A), a JSON object of criterion scores, or Prometheus's `[RESULT] n`.
 */
export type OutputFormat = "[[rating]]" | "[[A]]" | "[[A>B]]" | "json" | "[RESULT]";
export const OUTPUT_FORMATS: readonly OutputFormat[] = ["[[rating]]", "[[A]]", "[[A>B]]", "json", "[RESULT]"];

export interface Scale {
  min: number;
  max: number;
}

export interface JudgePrompt {
  name: string;
  type: "single" | "pairwise";
  system_prompt: string;
  prompt_template: string;
  output_format: OutputFormat;
  description?: string;
  category?: string;
  /** Rating scale (default 1–10 for `[[rating]]`, 1–5 for `[RESULT]`). */
  scale?: Scale;
  /** Where the prompt came from (file:line or `builtin`). */
  source?: string;
}

const BUILTIN_LIST = [
  singleV1,
  singleRefV1,
  pairV1,
  pairArenaV1,
  rubricV1,
  rubricRefV1,
  criterionV1,
  prometheusV1,
  prometheusNorefV1,
] as unknown[];

/** assay's own prompts by name. */
export const BUILTIN_PROMPTS: ReadonlyMap<string, JudgePrompt> = new Map(
  BUILTIN_LIST.map((p) => {
    const prompt = validatePrompt(p, { file: "src/judges/prompts" });
    return [prompt.name, { ...prompt, source: "builtin" }];
  }),
);

export function defaultScale(prompt: JudgePrompt): Scale {
  if (prompt.scale) return prompt.scale;
  return prompt.output_format === "[RESULT]" ? { min: 1, max: 5 } : { min: 1, max: 10 };
}

/** Checks one prompt object; errors name the file, line and field. */
export function validatePrompt(value: unknown, where: Where): JudgePrompt {
  const o = value as Record<string, unknown>;
  if (o === null || typeof o !== "object" || Array.isArray(o))
    throw new UserError("judge prompt is not an object", { ...where, expected: "{name, type, ...}" });
  const str = (field: string, optional = false): string | undefined => {
    const v = o[field];
    if (v === undefined && optional) return undefined;
    if (typeof v !== "string" || (!optional && field === "name" && v === ""))
      throw new UserError(
        v === undefined ? "missing field" : `invalid value ${JSON.stringify(v)?.slice(0, 60)}`,
        {
          ...where,
          field,
          expected: "a string",
        },
      );
    return v;
  };
  const name = str("name")!;
  const at = { ...where, hint: `in judge prompt '${name}'` };
  const type = o.type;
  if (type !== "single" && type !== "pairwise")
    throw new UserError(type === undefined ? "missing field" : `invalid value ${JSON.stringify(type)}`, {
      ...at,
      field: "type",
      expected: '"single" or "pairwise"',
    });
  const format = o.output_format as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format))
    throw new UserError(format === undefined ? "missing field" : `invalid value ${JSON.stringify(format)}`, {
      ...at,
      field: "output_format",
      expected: OUTPUT_FORMATS.map((f) => `"${f}"`).join(", "),
    });
  const pairwiseFormat = format === "[[A]]" || format === "[[A>B]]";
  if ((type === "pairwise") !== pairwiseFormat)
    throw new UserError(`output_format ${format} does not fit a ${type} prompt`, {
      ...at,
      field: "output_format",
      expected: type === "pairwise" ? '"[[A]]" or "[[A>B]]"' : '"[[rating]]", "json" or "[RESULT]"',
    });
  const prompt: JudgePrompt = {
    name,
    type,
    system_prompt: str("system_prompt")!,
    prompt_template: str("prompt_template")!,
    output_format: format,
  };
  const description = str("description", true);
  if (description !== undefined) prompt.description = description;
  const category = str("category", true);
  if (category !== undefined) prompt.category = category;
  if (o.scale !== undefined) prompt.scale = validateScale(o.scale, { ...at, field: "scale" });
  // A malformed template is a data error now, not a failed judgment later.
  templateFields(prompt.prompt_template, { ...at, field: "prompt_template" });
  templateFields(prompt.system_prompt, { ...at, field: "system_prompt" });
  return prompt;
}

export function validateScale(v: unknown, where: Where): Scale {
  const s = v as Record<string, unknown>;
  const ok =
    s !== null &&
    typeof s === "object" &&
    Number.isInteger(s.min) &&
    Number.isInteger(s.max) &&
    (s.min as number) < (s.max as number);
  if (!ok)
    throw new UserError(`invalid scale ${JSON.stringify(v)}`, {
      ...where,
      expected: "{min, max} integers with min < max",
    });
  return { min: s.min as number, max: s.max as number };
}

/** FastChat's judge_prompts.jsonl (or any JSONL of prompts in that shape), by name. */
export async function loadJudgePrompts(file: string): Promise<Map<string, JudgePrompt>> {
  const out = new Map<string, JudgePrompt>();
  for (const { line, value } of await readJsonlAll(file)) {
    const p = validatePrompt(value, { file, line });
    if (out.has(p.name))
      throw new UserError(`duplicate judge prompt '${p.name}'`, {
        file,
        line,
        field: "name",
        expected: "unique names",
      });
    out.set(p.name, { ...p, source: `${file}:${line}` });
  }
  if (out.size === 0) throw new UserError("no judge prompts", { file, expected: "one JSON prompt per line" });
  return out;
}

/** A prompt by name from `prompts` (then the built-ins), with a did-you-mean error. */
export function getPrompt(
  name: string,
  prompts?: ReadonlyMap<string, JudgePrompt>,
  field = "--prompt",
): JudgePrompt {
  const p = prompts?.get(name) ?? BUILTIN_PROMPTS.get(name);
  if (p) return p;
  const names = [...(prompts?.keys() ?? []), ...BUILTIN_PROMPTS.keys()];
  throw new UserError(`unknown judge prompt '${name}'`, {
    field,
    expected: "a prompt name",
    hint: didYouMean(name, names),
  });
}

/** Field names used by a `str.format` template; malformed braces throw. */
export function templateFields(template: string, where: Where = {}): string[] {
  const fields: string[] = [];
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === "{") {
      if (template[i + 1] === "{") {
        i++;
        continue;
      }
      const end = template.indexOf("}", i);
      const name = end < 0 ? "" : template.slice(i + 1, end);
      if (end < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
        throw new UserError(`malformed template field at character ${i}`, {
          ...where,
          expected: "{name} fields, with {{ and }} for literal braces",
        });
      fields.push(name);
      i = end;
    } else if (c === "}") {
      if (template[i + 1] !== "}")
        throw new UserError(`single '}' at character ${i}`, { ...where, expected: "}} for a literal brace" });
      i++;
    }
  }
  return fields;
}

/** Fills a template; a field without a value is an error naming the prompt and the field. */
export function formatTemplate(
  template: string,
  vars: Readonly<Record<string, string>>,
  promptName = "template",
): string {
  let out = "";
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === "{" && template[i + 1] === "{") {
      out += "{";
      i += 2;
    } else if (c === "}" && template[i + 1] === "}") {
      out += "}";
      i += 2;
    } else if (c === "{") {
      const end = template.indexOf("}", i);
      const name = template.slice(i + 1, end);
      const v = vars[name];
      if (v === undefined)
        throw new UserError(`judge prompt '${promptName}' needs '${name}', which this item does not have`, {
          field: name,
          expected: `values for ${[...new Set(templateFields(template))].join(", ")}`,
        });
      out += v;
      i = end + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
