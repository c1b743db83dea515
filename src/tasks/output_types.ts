/**
 * What each output type asks of the model and how its responses become per-sample scores,
 * with definitions exactly as in lm-evaluation-harness.
 */
import type { Doc } from "../data/dataset.js";
import { getMetric, type SampleValue } from "../metrics/registry.js";
import type { ChatMessage, GenerationParams, Request, Response } from "../models/types.js";
import type { MetricConfig } from "./config.js";
import type { CompiledFilter } from "./filters.js";
import { CONVERSATIONS, PROCESS_RESULTS } from "./preprocess.js";
import type { Target, Task } from "./task.js";

/** Python len(): code points, not UTF-16 units. */
const charLength = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};
const byteLength = (s: string): number => Buffer.byteLength(s, "utf8");
const argmax = (xs: number[]): number => {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
};

/** Generation parameters from `generation_kwargs`, with lm-eval's defaults. */
export function generationParams(task: Task): GenerationParams {
  const g = task.config.generation_kwargs;
  const until = g === undefined ? [task.fewshotDelimiter] : g.until;
  return {
    until: until === undefined ? [] : Array.isArray(until) ? until.map(String) : [String(until)],
    max_gen_toks: Number(g?.max_gen_toks ?? 256),
    temperature: g?.do_sample === false ? 0 : Number(g?.temperature ?? 0),
    ...(g?.top_p !== undefined ? { top_p: Number(g.top_p) } : {}),
    ...(g?.seed !== undefined ? { seed: Number(g.seed) } : {}),
  };
}

/** The requests one doc needs, in a fixed order that `scoreSample` relies on. */
export function buildRequests(task: Task, doc: Doc, prompt: string, metrics: MetricConfig[]): Request[] {
  const delim = task.targetDelimiter;
  switch (task.outputType) {
    case "multiple_choice": {
      const choices = task.docToChoice(doc);
      const reqs: Request[] = choices.map((c) => ({
        kind: "loglikelihood",
        context: prompt,
        continuation: `${delim}${c}`,
      }));
      if (metrics.some((m) => m.metric === "acc_mutual_info"))
        for (const c of choices)
          reqs.push({ kind: "loglikelihood", context: "", continuation: `${delim}${c}` });
      return reqs;
    }
    case "loglikelihood":
      return [{ kind: "loglikelihood", context: prompt, continuation: `${delim}${task.targetText(doc)}` }];
    case "loglikelihood_rolling":
      return [{ kind: "loglikelihood_rolling", text: task.targetText(doc) }];
    case "generate_until": {
      const params = generationParams(task);
      const repeats = task.config.repeats ?? 1;
      return Array.from({ length: repeats }, (_, i) =>
        repeats > 1 || params.temperature > 0
          ? { kind: "generate_until", prompt, params, sampleIndex: i }
          : { kind: "generate_until", prompt, params },
      );
    }
  }
}

export interface SampleScores {
  /** Keyed `metric,filter` as lm-eval reports them (`acc,none`, `exact_match,strict-match`). */
  scores: Record<string, SampleValue>;
  /** Filtered responses per filter name (generate_until only). */
  filtered?: Record<string, string[]>;
}

function goldIndex(task: Task, doc: Doc, choices: string[]): number | number[] {
  const t: Target = task.docToTarget(doc);
  if (typeof t === "number") return t;
  if (Array.isArray(t)) return t.map((x) => (typeof x === "number" ? x : choices.indexOf(String(x))));
  const i = choices.indexOf(t);
  return i; // -1 (lm-eval's -100): no choice matches the target, so every accuracy is 0.
}

function scoreMultipleChoice(task: Task, doc: Doc, resps: Response[], metrics: MetricConfig[]): SampleScores {
  const choices = task.docToChoice(doc);
  const lls = resps.slice(0, choices.length).map((r) => (r as { logprob: number }).logprob);
  const greedy = resps.slice(0, choices.length).map((r) => (r as { isGreedy: boolean }).isGreedy);
  const gold = goldIndex(task, doc, choices);
  const hit = (pred: number) => ((Array.isArray(gold) ? gold.includes(pred) : pred === gold) ? 1 : 0);
  const scores: Record<string, SampleValue> = {};
  for (const { metric } of metrics) {
    switch (metric) {
      case "acc":
        scores["acc,none"] = hit(argmax(lls));
        break;
      case "acc_norm":
        scores["acc_norm,none"] = hit(argmax(lls.map((ll, i) => ll / charLength(choices[i]))));
        break;
      case "acc_bytes":
        scores["acc_bytes,none"] = hit(argmax(lls.map((ll, i) => ll / byteLength(choices[i]))));
        break;
      case "acc_mutual_info": {
        const uncond = resps.slice(choices.length).map((r) => (r as { logprob: number }).logprob);
        scores["acc_mutual_info,none"] = hit(argmax(lls.map((ll, i) => ll - uncond[i])));
        break;
      }
      case "brier_score": {
        const g = Array.isArray(gold) ? gold[0] : gold;
        const m = Math.max(...lls);
        const exps = lls.map((ll) => Math.exp(ll - m));
        const z = exps.reduce((a, b) => a + b, 0);
        scores["brier_score,none"] = exps.reduce((s, e, i) => s + (e / z - (i === g ? 1 : 0)) ** 2, 0);
        break;
      }
      case "exact_match": {
        const g = Array.isArray(gold) ? gold[0] : gold;
        scores["exact_match,none"] = g >= 0 && greedy[g] ? 1 : 0;
        break;
      }
      default:
        getMetric(metric, { file: task.file });
    }
  }
  return { scores };
}

type GenerationScorer = (prediction: string, references: string[]) => SampleValue;
const scorerCache = new WeakMap<MetricConfig, GenerationScorer | null>();

/** The metric's per-sample scorer, built once per metric_list entry (its options compiled). */
function generationScorer(m: MetricConfig, file: string): GenerationScorer | null {
  let scorer = scorerCache.get(m);
  if (scorer === undefined) {
    const def = getMetric(m.metric, { file });
    const { metric: _m, aggregation: _a, higher_is_better: _h, ...options } = m;
    scorer = def.generation ? def.generation(options) : null;
    scorerCache.set(m, scorer);
  }
  return scorer;
}

/** Word count as lm-eval's `re.split(r"\s+", doc)`: a leading or trailing space adds an empty word. */
const countWords = (s: string): number => s.split(/\s+/).length;

export function scoreSample(
  task: Task,
  doc: Doc,
  resps: Response[],
  metrics: MetricConfig[],
  filters: CompiledFilter[],
): SampleScores {
  switch (task.outputType) {
    case "multiple_choice":
      return scoreMultipleChoice(task, doc, resps, metrics);
    case "loglikelihood": {
      const r = resps[0] as { logprob: number; isGreedy: boolean };
      const scores: Record<string, SampleValue> = {};
      for (const { metric } of metrics) {
        if (metric === "perplexity") scores["perplexity,none"] = [r.logprob, 1];
        else if (metric === "acc") scores["acc,none"] = r.isGreedy ? 1 : 0;
        else getMetric(metric, { file: task.file });
      }
      return { scores };
    }
    case "loglikelihood_rolling": {
      const ll = (resps[0] as { logprob: number }).logprob;
      const text = task.targetText(doc);
      const scores: Record<string, SampleValue> = {};
      for (const { metric } of metrics) {
        if (metric === "word_perplexity") scores["word_perplexity,none"] = [ll, countWords(text)];
        else if (metric === "byte_perplexity") scores["byte_perplexity,none"] = [ll, byteLength(text)];
        else if (metric === "bits_per_byte") scores["bits_per_byte,none"] = [ll, byteLength(text)];
        else getMetric(metric, { file: task.file });
      }
      return { scores };
    }
    case "generate_until": {
      const texts = resps.map((r) => (r as { text: string }).text);
      const refs = generationReferences(task, doc);
      const scores: Record<string, SampleValue> = {};
      const filtered: Record<string, string[]> = {};
      for (const f of filters) {
        const out = f.apply(texts);
        filtered[f.name] = out;
        for (const m of metrics) {
          const scorer = generationScorer(m, task.file);
          if (scorer) scores[`${m.metric},${f.name}`] = scorer(out[0] ?? "", refs);
        }
      }
      return { scores, filtered };
    }
  }
}

/**
 * The references a generation doc's output is scored against: its target, or each of a list of
 * targets, as text (an index into `doc_to_choice` becomes that choice).
 */
export function generationReferences(task: Task, doc: Doc): string[] {
  const target = task.docToTarget(doc);
  if (Array.isArray(target)) return target.map(String);
  return [
    typeof target === "number" && task.config.doc_to_choice !== undefined
      ? task.targetText(doc, target)
      : String(target),
  ];
}

/** A served request as the runner keeps it (the scheduler's result). */
export interface ServedLike {
  response: Response;
}

/**
 * Serves one doc's requests. A task with `assay.conversation` asks the doc's user turns one after
 * another, each with the conversation so far (FastChat's multi-turn generation); others send
 * `buildRequests` at once.
 */
export async function serveDoc<S extends ServedLike>(
  task: Task,
  doc: Doc,
  prompt: string,
  metrics: MetricConfig[],
  serveAll: (requests: Request[]) => Promise<S[]>,
): Promise<{ requests: Request[]; served: S[] }> {
  const hook = task.config.assay?.conversation;
  if (!hook || task.outputType !== "generate_until") {
    const requests = buildRequests(task, doc, prompt, metrics);
    return { requests, served: await serveAll(requests) };
  }
  const { turns, params: own } = CONVERSATIONS[hook](doc);
  const params = { ...generationParams(task), ...own };
  const requests: Request[] = [];
  const served: S[] = [];
  const messages: ChatMessage[] = [];
  for (const turn of turns) {
    messages.push({ role: "user", content: String(turn) });
    const req: Request = { kind: "generate_until", prompt: [...messages], params };
    const [s] = await serveAll([req]);
    requests.push(req);
    served.push(s);
    messages.push({ role: "assistant", content: (s.response as { text: string }).text });
  }
  return { requests, served };
}

/**
 * scoreSample, or the task's `assay.process_results` port (lm-eval's process_results: its returned
 * metrics replace the output type's, per filter for generation tasks).
 */
export async function scoreSampleAsync(
  task: Task,
  doc: Doc,
  resps: Response[],
  metrics: MetricConfig[],
  filters: CompiledFilter[],
): Promise<SampleScores> {
  const hook = task.config.assay?.process_results;
  if (!hook) return scoreSample(task, doc, resps, metrics, filters);
  const names = metrics.map((m) => m.metric);
  const scores: Record<string, SampleValue> = {};
  if (task.outputType !== "generate_until") {
    const out = await PROCESS_RESULTS[hook]({ doc, responses: resps, metrics: names });
    for (const [k, v] of Object.entries(out)) scores[`${k},none`] = v;
    return { scores };
  }
  const texts = resps.map((r) => (r as { text: string }).text);
  const filtered: Record<string, string[]> = {};
  for (const f of filters) {
    const out = f.apply(texts);
    filtered[f.name] = out;
    const res = await PROCESS_RESULTS[hook]({ doc, responses: resps, filtered: out, metrics: names });
    for (const [k, v] of Object.entries(res)) scores[`${k},${f.name}`] = v;
  }
  return { scores, filtered };
}
