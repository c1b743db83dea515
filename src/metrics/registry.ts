/**
 * The metric registry: every name a task's `metric_list` may use, how per-sample values aggregate,
 * and (for generation metrics) how a sample is scored. Other metric modules register here.
 */
import type { MetricConfig, OutputType } from "../tasks/config.js";
import { didYouMean, UserError, type Where } from "../util/errors.js";
import type { BertScore } from "./bertscore.js";
import { EMBEDDING_METRICS, TEXT_METRICS } from "./registry_text.js";

/** What an embedding metric needs: the server (`tei:<url>` / `llama-server:<url>`) and the part kept. */
export interface EmbeddingMetricSpec {
  endpoint: string;
  part: keyof BertScore;
  baseline?: BertScore;
}

/** Per-sample value: a number (mean metrics) or a vector of sufficient statistics (corpus metrics). */
export type SampleValue = number | number[];

export interface MetricDef {
  name: string;
  higherIsBetter: boolean;
  /**
   * `mean`: the mean of per-sample numbers, with the sample standard error.
   * `corpus`: `combine` over the element-wise sums of per-sample statistic vectors, bootstrapped.
   */
  aggregation: "mean" | "corpus";
  combine?: (sums: number[]) => number;
  /** Output types whose scorer produces this metric. */
  outputTypes: OutputType[];
  /**
   * Generation metrics: builds the per-sample scorer from the metric_list options. Unknown or
   * ill-typed options throw a UserError here, at `where`, not per sample.
   */
  generation?: (
    options: Record<string, unknown>,
    where?: Where,
  ) => (prediction: string, references: string[]) => SampleValue;
  /** Option names `generation` accepts (beyond metric, aggregation, higher_is_better). */
  options?: readonly string[];
  /**
   * Embedding metrics (BERTScore): checks the options and says which server embeds the sample's output
   * and references and which score to keep. The engine makes the requests; metrics/bertscore scores.
   */
  embedding?: (options: Record<string, unknown>, where?: Where) => EmbeddingMetricSpec;
  /** sacreBLEU-style signature of the metric's options (BLEU, chrF, TER). */
  signature?: (options: Record<string, unknown>, nrefs: number | "var", where?: Where) => string;
}

const registry = new Map<string, MetricDef>();

export function registerMetric(def: MetricDef): void {
  registry.set(def.name, def);
}

export function metricNames(): string[] {
  return [...registry.keys()].sort();
}

export function getMetric(name: string, where: Where = {}): MetricDef {
  const def = registry.get(name);
  if (!def)
    throw new UserError(`unknown metric '${name}'`, {
      field: "metric_list",
      ...where,
      expected: "a registered metric",
      hint: didYouMean(name, registry.keys()),
    });
  return def;
}

const mc: OutputType[] = ["multiple_choice"];
for (const name of ["acc", "acc_norm", "acc_bytes", "acc_mutual_info"])
  registerMetric({ name, higherIsBetter: true, aggregation: "mean", outputTypes: mc });
registerMetric({ name: "brier_score", higherIsBetter: false, aggregation: "mean", outputTypes: mc });
registerMetric({
  name: "acc",
  higherIsBetter: true,
  aggregation: "mean",
  outputTypes: ["multiple_choice", "loglikelihood"],
});
// bleu, chrf, ter, rouge*, squad_*, f1, edit_similarity, exact_match, ...
for (const def of TEXT_METRICS) registerMetric(def);
// bertscore_precision, bertscore_recall, bertscore_f1
for (const def of EMBEDDING_METRICS) registerMetric(def);
// Per-sample [loglikelihood, 1]: exp(-mean ll).
registerMetric({
  name: "perplexity",
  higherIsBetter: false,
  aggregation: "corpus",
  combine: ([ll, n]) => Math.exp(-ll / n),
  outputTypes: ["loglikelihood"],
});
// Per-sample [loglikelihood, words] and [loglikelihood, bytes], as lm-eval's weighted_perplexity.
registerMetric({
  name: "word_perplexity",
  higherIsBetter: false,
  aggregation: "corpus",
  combine: ([ll, words]) => Math.exp(-ll / words),
  outputTypes: ["loglikelihood_rolling"],
});
registerMetric({
  name: "byte_perplexity",
  higherIsBetter: false,
  aggregation: "corpus",
  combine: ([ll, bytes]) => Math.exp(-ll / bytes),
  outputTypes: ["loglikelihood_rolling"],
});
registerMetric({
  name: "bits_per_byte",
  higherIsBetter: false,
  aggregation: "corpus",
  combine: ([ll, bytes]) => -ll / bytes / Math.LN2,
  outputTypes: ["loglikelihood_rolling"],
});

/** A metric_list entry's own options: everything but the keys lm-eval itself reads. */
export function metricOptions(m: MetricConfig): Record<string, unknown> {
  const { metric: _m, aggregation: _a, higher_is_better: _h, ...options } = m;
  return options;
}

/**
 * Checks a metric_list entry at task load: the name, and (for generation and embedding metrics) its
 * options, by building the scorer or reading the spec once. Returns the definition.
 */
export function validateMetricConfig(m: MetricConfig, where: Where = {}): MetricDef {
  const def = getMetric(m.metric, where);
  def.generation?.(metricOptions(m), { field: "metric_list", ...where });
  def.embedding?.(metricOptions(m), { field: "metric_list", ...where });
  return def;
}

/** lm-eval's default metrics per output type, used when a task has no metric_list. */
export const DEFAULT_METRICS: Record<OutputType, string[]> = {
  multiple_choice: ["acc", "acc_norm"],
  generate_until: ["exact_match"],
  loglikelihood: ["perplexity", "acc"],
  loglikelihood_rolling: ["word_perplexity", "byte_perplexity", "bits_per_byte"],
};
