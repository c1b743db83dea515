/**
 * BERTScore in `assay score`: token embeddings come from a server (models/token_embeddings.ts) through
 * the scheduler, so this metric needs every item before it scores any (bert-score's IDF is over all the
 * references). Embeddings are not cached: a text's vectors are far larger than the text.
 */
import { embedMissing } from "../../engine/embedding_scores.js";
import { Scheduler, type SchedulerOptions } from "../../engine/scheduler.js";
import { type BertScore, bertScoreCorpus, type EmbeddedText } from "../../metrics/bertscore.js";
import { getMetric, type MetricDef } from "../../metrics/registry.js";
import { BERTSCORE_PARTS, bertScoreOptions, type Options } from "../../metrics/registry_text.js";

import { createTokenEmbeddingsProvider } from "../../models/token_embeddings.js";
import type { ModelProvider } from "../../models/types.js";
import type { Where } from "../../util/errors.js";

export const BERTSCORE = "bertscore";
/** Texts handed to the scheduler at once; progress is reported after each chunk. */
const CHUNK = 256;

/** The three reported metrics (the registry's bertscore_*), each a mean over items with its stderr. */
export const BERTSCORE_DEFS: MetricDef[] = BERTSCORE_PARTS.map((p) => getMetric(`${BERTSCORE}_${p}`));

export interface BertScoreSetup {
  provider: ModelProvider;
  idf: boolean;
  baseline?: BertScore;
}

/** Checks the metric's options (before any input is read) and builds its embeddings provider. */
export function bertScoreSetup(options: Options, where: Where): BertScoreSetup {
  const { endpoint, idf, baseline } = bertScoreOptions(BERTSCORE, options, where, true);
  return {
    provider: createTokenEmbeddingsProvider(endpoint, `${where.field ?? "--params"} bertscore.endpoint`),
    idf,
    baseline,
  };
}

/** Each distinct text embedded once through the scheduler, in chunks (for progress), in input order. */
async function embedAll(
  scheduler: Scheduler,
  texts: readonly string[],
  onProgress: (done: number, total: number) => void,
): Promise<EmbeddedText[]> {
  const distinct = [...new Set(texts)];
  const known = new Map<string, EmbeddedText>();
  for (let start = 0; start < distinct.length; start += CHUNK) {
    await embedMissing(scheduler, distinct.slice(start, start + CHUNK), known);
    onProgress(Math.min(start + CHUNK, distinct.length), distinct.length);
  }
  return texts.map((t) => known.get(t)!);
}

/** Each item's BERTScore against its references, as named metric values. */
export async function bertScoreValues(
  setup: BertScoreSetup,
  scheduling: Partial<SchedulerOptions>,
  items: readonly { prediction: string; references: readonly string[] }[],
  onProgress: (done: number, total: number) => void = () => {},
): Promise<Record<string, number>[]> {
  const scheduler = new Scheduler(setup.provider, null, scheduling);
  const texts = items.flatMap((it) => [it.prediction, ...it.references]);
  const embedded = await embedAll(scheduler, texts, onProgress);
  let at = 0;
  const cands: EmbeddedText[] = [];
  const refs: EmbeddedText[][] = [];
  for (const it of items) {
    cands.push(embedded[at++]);
    refs.push(embedded.slice(at, at + it.references.length));
    at += it.references.length;
  }
  return bertScoreCorpus(cands, refs, { idf: setup.idf, baseline: setup.baseline }).map((s) =>
    Object.fromEntries(BERTSCORE_PARTS.map((p) => [`${BERTSCORE}_${p}`, s[p]])),
  );
}
