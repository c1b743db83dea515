/**
 * Embedding metrics of a run (bertscore_* in a task's metric_list): after a sample is generated and
 * filtered, its output and references are embedded by the metric's server, through a scheduler of its
 * own (retries, timeouts, concurrency; no cache), and scored by metrics/bertscore.
 */

import type { Doc } from "../data/dataset.js";
import { bertScoreCorpus, type EmbeddedText } from "../metrics/bertscore.js";
import { type EmbeddingMetricSpec, getMetric, metricOptions } from "../metrics/registry.js";
import { createTokenEmbeddingsProvider } from "../models/token_embeddings.js";
import type { MetricConfig } from "../tasks/config.js";
import { generationReferences } from "../tasks/output_types.js";
import type { Task } from "../tasks/task.js";
import { Scheduler, type SchedulerOptions } from "./scheduler.js";

/**
 * Embeds the texts of `texts` that `known` lacks (each distinct one once) through `scheduler`, adding
 * them to `known`.
 */
export async function embedMissing(
  scheduler: Scheduler,
  texts: readonly string[],
  known: Map<string, EmbeddedText>,
): Promise<void> {
  const missing = [...new Set(texts.filter((t) => !known.has(t)))];
  if (missing.length === 0) return;
  const served = await scheduler.serveAll(missing.map((text) => ({ kind: "token_embeddings", text })));
  for (let i = 0; i < missing.length; i++) {
    const r = served[i].response;
    if (r.kind === "token_embeddings") known.set(missing[i], r);
  }
}

interface Entry {
  metric: string;
  spec: EmbeddingMetricSpec;
  scheduler: Scheduler;
}

export class EmbeddingScorer {
  private constructor(private readonly entries: Entry[]) {}

  /** The scorer for a task's embedding metrics, or undefined when it lists none. */
  static for(task: Task, configs: readonly MetricConfig[], scheduling: Partial<SchedulerOptions>) {
    const where = { ...task.where("metric_list"), field: "metric_list" };
    const schedulers = new Map<string, Scheduler>();
    const entries: Entry[] = [];
    for (const m of configs) {
      const def = getMetric(m.metric, where);
      if (!def.embedding) continue;
      const spec = def.embedding(metricOptions(m), where);
      let scheduler = schedulers.get(spec.endpoint);
      if (!scheduler) {
        const provider = createTokenEmbeddingsProvider(spec.endpoint, `${m.metric}.endpoint`);
        scheduler = new Scheduler(provider, null, scheduling);
        schedulers.set(spec.endpoint, scheduler);
      }
      entries.push({ metric: m.metric, spec, scheduler });
    }
    return entries.length > 0 ? new EmbeddingScorer(entries) : undefined;
  }

  /** `metric,filter` scores of one sample: each filter's first output against the doc's references. */
  async score(task: Task, doc: Doc, filtered: Record<string, string[]>): Promise<Record<string, number>> {
    const refs = generationReferences(task, doc);
    const embeddings = new Map<Scheduler, Map<string, EmbeddedText>>();
    const embed = async (scheduler: Scheduler, texts: string[]) => {
      let known = embeddings.get(scheduler);
      if (!known) embeddings.set(scheduler, (known = new Map()));
      await embedMissing(scheduler, texts, known);
      return texts.map((t) => known.get(t)!);
    };
    const scores: Record<string, number> = {};
    for (const [filter, outputs] of Object.entries(filtered))
      for (const { metric, spec, scheduler } of this.entries) {
        const [cand, ...refEmbeddings] = await embed(scheduler, [outputs[0] ?? "", ...refs]);
        const [s] = bertScoreCorpus([cand], [refEmbeddings], { baseline: spec.baseline });
        scores[`${metric},${filter}`] = s[spec.part];
      }
    return scores;
  }
}
