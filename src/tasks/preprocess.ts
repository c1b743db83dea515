/**
 * JavaScript ports of the few lm-evaluation-harness Python hooks the built-in tasks need. A task selects
 * one with assay's own key instead of `!function`:
 *
 *   assay: {process_docs: hellaswag}          # lm_eval/tasks/hellaswag/utils.py process_docs
 *   assay: {process_results: truthfulqa_mc2}  # lm_eval/tasks/truthfulqa/utils.py process_results_mc2
 *   assay: {process_results: humaneval}       # humaneval utils build_predictions + HF code_eval pass@k
 *   assay: {conversation: mt_bench}           # FastChat gen_model_answer: one user turn at a time
 */
import type { Doc } from "../data/dataset.js";
import { TEMPERATURE_CONFIG } from "../judges/mtbench_data.js";
import { passAtK } from "../metrics/pass_at_k.js";
import { registerMetric, type SampleValue } from "../metrics/registry.js";
import type { GenerationParams, Response } from "../models/types.js";
import { runPythonSandboxed } from "../sandbox/bwrap.js";

// --- process_docs -------------------------------------------------------------------------------

/** Python str.capitalize(): first character upper-cased, the rest lower-cased. */
function pyCapitalize(s: string): string {
  const chars = [...s];
  if (chars.length === 0) return s;
  return chars[0].toUpperCase() + chars.slice(1).join("").toLowerCase();
}

/** HellaSwag's `preprocess`: WikiHow bracket artifacts out, " [title]" to ". ", double spaces single. */
export function hellaswagPreprocess(text: string): string {
  let t = text.trim();
  t = t.replaceAll(" [title]", ". ");
  t = t.replace(/\[.*?\]/g, "");
  t = t.replaceAll("  ", " ");
  return t;
}

const LETTERS = "ABCDEFGHIJ";

/** HellaSwag process_docs; docs already in the processed form (the text export) pass unchanged. */
function hellaswagDoc(doc: Doc): Doc {
  if (doc.ctx_a === undefined && typeof doc.query === "string" && Array.isArray(doc.choices)) return doc;
  const ctx = `${String(doc.ctx_a)} ${pyCapitalize(String(doc.ctx_b))}`;
  const label = Number.parseInt(String(doc.label), 10);
  return {
    ...doc,
    query: hellaswagPreprocess(`${String(doc.activity_label)}: ${ctx}`),
    choices: (doc.endings as string[]).map((e) => hellaswagPreprocess(String(e))),
    gold: label,
    answer_letter: LETTERS[label],
  };
}

export const PROCESS_DOCS: Record<string, (doc: Doc) => Doc> = { hellaswag: hellaswagDoc };

// --- process_results ----------------------------------------------------------------------------

export interface ResultsInput {
  doc: Doc;
  /** Multiple choice: the loglikelihood responses. */
  responses: Response[];
  /** Generation: one filter's output (all samples for take_first_k / identity filters). */
  filtered?: string[];
  /** The metric names of the task's metric_list. */
  metrics: string[];
}

export type ResultsHook = (input: ResultsInput) => Promise<Record<string, SampleValue>>;

/**
 * TruthfulQA MC2: the probability mass of the true answers, normalized over all answers. Like lm-eval,
 * the answers before the first label 0 count as true. Computed relative to the largest loglikelihood,
 * which equals lm-eval's plain exp() wherever that does not underflow to 0/0.
 */
async function truthfulqaMc2({ doc, responses }: ResultsInput): Promise<Record<string, SampleValue>> {
  const lls = responses.map((r) => (r as { logprob: number }).logprob);
  const labels = ((doc.mc2_targets as { labels: number[] }).labels ?? []).map(Number);
  const split = labels.indexOf(0);
  const max = Math.max(...lls);
  const p = lls.map((ll) => Math.exp(ll - max));
  const total = p.reduce((a, b) => a + b, 0);
  const trueMass = p.slice(0, split < 0 ? p.length : split).reduce((a, b) => a + b, 0);
  return { acc: trueMass / total };
}

/** pass@k metric names (`pass@1`, `pass@10`, ...) a task may list; each is a mean over problems. */
export const PASS_AT_K = [1, 2, 5, 8, 10, 16, 20, 32, 50, 64, 100];
for (const k of PASS_AT_K)
  registerMetric({
    name: `pass@${k}`,
    higherIsBetter: true,
    aggregation: "mean",
    outputTypes: ["generate_until"],
  });

/**
 * HumanEval: each completion becomes `prompt + completion + "\n" + test + "\ncheck(entry_point)"`
 * (lm-eval's build_predictions and HF code_eval's test program) and runs in the sandbox; pass@k is the
 * unbiased estimator over the n samples. A k larger than n is left out, as code_eval does.
 */
async function humaneval({ doc, filtered, metrics }: ResultsInput): Promise<Record<string, SampleValue>> {
  const completions = filtered ?? [];
  const test = `${String(doc.test)}\ncheck(${String(doc.entry_point)})`;
  const results = await Promise.all(
    completions.map((c) => runPythonSandboxed(`${String(doc.prompt)}${c}\n${test}`)),
  );
  const n = results.length;
  const c = results.filter((r) => r.status === "passed").length;
  const out: Record<string, SampleValue> = {};
  for (const m of metrics) {
    const k = /^pass@(\d+)$/.exec(m);
    if (k && Number(k[1]) <= n && n > 0) out[m] = passAtK(n, c, Number(k[1]));
  }
  return out;
}

export const PROCESS_RESULTS: Record<string, ResultsHook> = { truthfulqa_mc2: truthfulqaMc2, humaneval };

// --- conversations ------------------------------------------------------------------------------

export interface Conversation {
  /** The user turns, asked one after another, each after the model's answer to the previous. */
  turns: string[];
  /** Per-doc generation settings that override the task's. */
  params?: Partial<GenerationParams>;
}

function mtBench(doc: Doc): Conversation {
  const turns = (doc.prompt ?? doc.turns) as string[];
  const t = TEMPERATURE_CONFIG[String(doc.category)];
  return { turns, ...(t !== undefined ? { params: { temperature: t } } : {}) };
}

export const CONVERSATIONS: Record<string, (doc: Doc) => Conversation> = { mt_bench: mtBench };

/** The hook names per assay key, for validation and messages. */
export const HOOKS = {
  process_docs: Object.keys(PROCESS_DOCS),
  process_results: Object.keys(PROCESS_RESULTS),
  conversation: Object.keys(CONVERSATIONS),
} as const;
