/** Task YAML in lm-evaluation-harness's format: loading, `include`, validation. */
import { readFileSync } from "node:fs";
import path from "node:path";
import YAML, { isMap, isScalar, LineCounter, type Node, parseDocument, type Scalar } from "yaml";
import { FORMAT_NAMES, type LocalSpec } from "../data/formats.js";
import { didYouMean, UserError } from "../util/errors.js";
import { HOOKS } from "./preprocess.js";

export type OutputType = "multiple_choice" | "generate_until" | "loglikelihood" | "loglikelihood_rolling";
export const OUTPUT_TYPES: OutputType[] = [
  "multiple_choice",
  "generate_until",
  "loglikelihood",
  "loglikelihood_rolling",
];

/** A Python hook (`!function utils.process_docs`) that assay cannot run. */
export interface PythonHook {
  __function__: string;
}
export const isPythonHook = (v: unknown): v is PythonHook =>
  typeof v === "object" && v !== null && "__function__" in (v as object);

export interface MetricConfig {
  metric: string;
  aggregation?: string;
  higher_is_better?: boolean;
  [option: string]: unknown;
}

export interface FilterStep {
  function: string;
  [option: string]: unknown;
}

export interface FilterConfig {
  name: string;
  filter: FilterStep[];
}

export interface TaskConfig {
  task: string;
  task_alias?: string;
  tag?: string | string[];
  dataset_path?: string;
  dataset_name?: string | null;
  dataset_kwargs?: { data_files?: string | Record<string, string>; [k: string]: unknown };
  training_split?: string | null;
  validation_split?: string | null;
  test_split?: string | null;
  fewshot_split?: string | null;
  process_docs?: PythonHook;
  doc_to_text?: string | number | PythonHook;
  doc_to_target?: string | number | unknown[] | PythonHook;
  doc_to_choice?: string | unknown[] | Record<string, unknown> | PythonHook;
  description?: string;
  target_delimiter?: string;
  fewshot_delimiter?: string;
  fewshot_config?: { sampler?: string; samples?: unknown; [k: string]: unknown };
  num_fewshot?: number;
  output_type?: OutputType;
  generation_kwargs?: Record<string, unknown>;
  repeats?: number;
  metric_list?: MetricConfig[];
  filter_list?: FilterConfig[];
  process_results?: PythonHook;
  metadata?: Record<string, unknown>;
  /** assay's own additions. */
  assay?: AssayOptions;
}

export interface AssayOptions {
  fewshot_seed?: number;
  bootstrap_iters?: number;
  cluster_by?: string;
  /** Local copies per split, relative to the data directory (`--data-dir` / ASSAY_DATA_DIR). */
  local?: Record<string, LocalSpec>;
  /** JS ports of lm-eval Python hooks (src/tasks/preprocess.ts), in place of `!function`. */
  process_docs?: string;
  process_results?: string;
  /** Multi-turn generation: the doc's user turns are asked one after another. */
  conversation?: string;
}

/** Every key lm-eval's TaskConfig knows, plus ours. Keys lm-eval has that assay ignores are accepted. */
const KNOWN_KEYS = new Set([
  "task",
  "task_alias",
  "tag",
  "group",
  "dataset_path",
  "dataset_name",
  "dataset_kwargs",
  "training_split",
  "validation_split",
  "test_split",
  "fewshot_split",
  "process_docs",
  "doc_to_text",
  "doc_to_target",
  "doc_to_choice",
  "doc_to_image",
  "doc_to_audio",
  "unsafe_code",
  "process_results",
  "use_prompt",
  "description",
  "target_delimiter",
  "fewshot_delimiter",
  "fewshot_config",
  "num_fewshot",
  "metric_list",
  "output_type",
  "generation_kwargs",
  "repeats",
  "filter_list",
  "should_decontaminate",
  "doc_to_decontamination_query",
  "gen_prefix",
  "multiple_input",
  "multiple_target",
  "metadata",
  "include",
  "assay",
]);

const HOOK_FIELDS = [
  "process_docs",
  "doc_to_text",
  "doc_to_target",
  "doc_to_choice",
  "process_results",
] as const;

const functionTag = {
  tag: "!function",
  resolve: (value: string) => ({ __function__: value }),
  identify: (v: unknown) => isPythonHook(v),
};

interface Loaded {
  data: Record<string, unknown>;
  lineOf: (key: string) => number | undefined;
}

function parseYamlFile(file: string): Loaded {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(
      `cannot read task file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      {
        file,
      },
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { customTags: [functionTag], lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const line = err.linePos?.[0]?.line;
    throw new UserError(`malformed YAML: ${err.message.split("\n")[0]}`, {
      file,
      line,
      expected: "valid YAML",
    });
  }
  const contents = doc.contents as Node | null;
  if (!isMap(contents)) throw new UserError("task file must be a YAML mapping", { file, line: 1 });
  const lines = new Map<string, number>();
  for (const pair of contents.items) {
    const key = isScalar(pair.key) ? String((pair.key as Scalar).value) : undefined;
    const range = (pair.key as Node | null)?.range;
    if (key && range) lines.set(key, lineCounter.linePos(range[0]).line);
  }
  return { data: doc.toJS() as Record<string, unknown>, lineOf: (k) => lines.get(k) };
}

export interface LoadedTaskConfig {
  config: TaskConfig;
  file: string;
  /** Directory that relative dataset paths resolve against. */
  dir: string;
  lineOf: (key: string) => number | undefined;
}

/** Reads a YAML file and the files it `include`s (the including file wins), without validating. */
function readMerged(file: string, seen: Set<string>): Loaded & { merged: Record<string, unknown> } {
  const abs = path.resolve(file);
  if (seen.has(abs)) throw new UserError("include cycle", { file, field: "include" });
  seen.add(abs);
  const loaded = parseYamlFile(abs);
  const { data, lineOf } = loaded;
  let merged: Record<string, unknown> = {};
  if (data.include !== undefined) {
    if (typeof data.include !== "string")
      throw new UserError("include must be a file path", { file, line: lineOf("include"), field: "include" });
    merged = { ...readMerged(path.resolve(path.dirname(abs), data.include), seen).merged };
  }
  for (const [k, v] of Object.entries(data)) if (k !== "include") merged[k] = v;
  return { ...loaded, merged };
}

/** Loads a task YAML, merging `include`d files (the including file wins), and validates it. */
export function loadTaskConfig(file: string): LoadedTaskConfig {
  const { data, lineOf, merged } = readMerged(file, new Set());
  const config = merged as unknown as TaskConfig;
  validateTaskConfig(config, file, lineOf, data);
  return { config, file: path.resolve(file), dir: path.dirname(path.resolve(file)), lineOf };
}

function validateTaskConfig(
  c: TaskConfig,
  file: string,
  lineOf: (k: string) => number | undefined,
  own: Record<string, unknown>,
): void {
  for (const key of Object.keys(own)) {
    if (!KNOWN_KEYS.has(key))
      throw new UserError(`unknown key '${key}'`, {
        file,
        line: lineOf(key),
        field: key,
        expected: "an lm-evaluation-harness task key",
        hint: didYouMean(key, KNOWN_KEYS),
      });
  }
  const at = (field: string) => ({ file, line: lineOf(field), field });
  if (typeof c.task !== "string" || !c.task)
    throw new UserError("missing task name", { ...at("task"), expected: "a string" });
  if (c.output_type !== undefined && !OUTPUT_TYPES.includes(c.output_type))
    throw new UserError(`unknown output_type '${c.output_type}'`, {
      ...at("output_type"),
      expected: OUTPUT_TYPES.join(" | "),
      hint: didYouMean(String(c.output_type), OUTPUT_TYPES),
    });
  if (c.num_fewshot !== undefined && (!Number.isInteger(c.num_fewshot) || c.num_fewshot < 0))
    throw new UserError(`invalid num_fewshot ${JSON.stringify(c.num_fewshot)}`, {
      ...at("num_fewshot"),
      expected: "a non-negative integer",
    });
  if (c.metric_list !== undefined) {
    if (!Array.isArray(c.metric_list))
      throw new UserError("metric_list must be a list", {
        ...at("metric_list"),
        expected: "a list of {metric: name}",
      });
    for (const m of c.metric_list)
      if (typeof m?.metric !== "string")
        throw new UserError("each metric_list entry needs a 'metric' name", {
          ...at("metric_list"),
          expected: "{metric: name, aggregation?, higher_is_better?}",
        });
  }
  if (c.filter_list !== undefined) {
    if (!Array.isArray(c.filter_list))
      throw new UserError("filter_list must be a list", {
        ...at("filter_list"),
        expected: "a list of {name, filter}",
      });
    for (const f of c.filter_list)
      if (typeof f?.name !== "string" || !Array.isArray(f.filter))
        throw new UserError("each filter_list entry needs 'name' and a 'filter' list", {
          ...at("filter_list"),
          expected: "{name: str, filter: [{function: regex|take_first|...}]}",
        });
  }
  if (
    c.generation_kwargs !== undefined &&
    (typeof c.generation_kwargs !== "object" || c.generation_kwargs === null)
  )
    throw new UserError("generation_kwargs must be a mapping", at("generation_kwargs"));
  validateAssayOptions(c.assay, at("assay"));
  for (const f of HOOK_FIELDS) {
    const v = c[f];
    if (isPythonHook(v))
      throw new UserError(`needs the Python hook '${v.__function__}', which assay cannot run`, {
        ...at(f),
        hint: "port the hook to a Jinja template or preprocess the dataset into the fields the template needs",
      });
  }
}

/** A did-you-mean hint only when a name is near (the expected list already names them all). */
function nearHint(v: string, names: readonly string[]): string | undefined {
  const h = didYouMean(v, names);
  return h.startsWith("did you mean") ? h : undefined;
}

function validateAssayOptions(a: unknown, where: { file: string; line?: number; field: string }): void {
  if (a === undefined) return;
  if (!a || typeof a !== "object" || Array.isArray(a))
    throw new UserError("assay must be a mapping", { ...where, expected: "{process_docs?, local?, ...}" });
  const o = a as Record<string, unknown>;
  for (const key of ["process_docs", "process_results", "conversation"] as const) {
    const v = o[key];
    if (v === undefined) continue;
    const names: readonly string[] = HOOKS[key];
    if (typeof v !== "string" || !names.includes(v))
      throw new UserError(`unknown ${key} hook ${JSON.stringify(v)}`, {
        ...where,
        field: `assay.${key}`,
        expected: `one of: ${names.join(", ")}`,
        hint: typeof v === "string" ? nearHint(v, names) : undefined,
      });
  }
  if (o.local !== undefined) {
    if (!o.local || typeof o.local !== "object" || Array.isArray(o.local))
      throw new UserError("assay.local must map split names to files", {
        ...where,
        field: "assay.local",
        expected: "{test: {path: ..., format?: ...}}",
      });
    for (const [split, spec] of Object.entries(o.local as Record<string, unknown>)) {
      const s = spec as Partial<LocalSpec> | null;
      if (!s || typeof s !== "object" || typeof s.path !== "string")
        throw new UserError(`local copy of split '${split}' needs a path`, {
          ...where,
          field: `assay.local.${split}`,
          expected: "{path: <file under the data directory>, format?: <reader>}",
        });
      if (s.format !== undefined && !FORMAT_NAMES.includes(s.format))
        throw new UserError(`unknown format '${s.format}'`, {
          ...where,
          field: `assay.local.${split}.format`,
          expected: `one of: ${FORMAT_NAMES.join(", ")}`,
          hint: nearHint(String(s.format), FORMAT_NAMES),
        });
    }
  }
}

/** Serializes a config deterministically (sorted keys) for hashing. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

export const stringifyYaml = (v: unknown): string => YAML.stringify(v);
