/** Task YAML in lm-evaluation-harness's format: loading, `include`, validation. */
import { readFileSync } from "node:fs";
import path from "node:path";
import YAML, { isMap, isScalar, LineCounter, type Node, parseDocument, type Scalar } from "yaml";
import { didYouMean, UserError } from "../util/errors.js";

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
  assay?: { fewshot_seed?: number; bootstrap_iters?: number; cluster_by?: string };
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
  for (const f of HOOK_FIELDS) {
    const v = c[f];
    if (isPythonHook(v))
      throw new UserError(`needs the Python hook '${v.__function__}', which assay cannot run`, {
        ...at(f),
        hint: "port the hook to a Jinja template or preprocess the dataset into the fields the template needs",
      });
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
