/**
 * BERTScore in `assay score`: the embeddings come from a server (see models/token_embeddings.ts), so
 * this metric needs every item before it scores any (bert-score's IDF is over all the references).
 */
import { type BertScore, bertScoreCorpus } from "../../metrics/bertscore.js";
import type { MetricDef } from "../../metrics/registry.js";
import { OptionReader, type Options } from "../../metrics/registry_text.js";
import { createTokenEmbedder, embedAll, type TokenEmbedder } from "../../models/token_embeddings.js";
import { UserError, type Where } from "../../util/errors.js";

export const BERTSCORE = "bertscore";
export const BERTSCORE_OPTIONS = ["endpoint", "idf", "baseline", "batch_size"] as const;
const PARTS = ["precision", "recall", "f1"] as const;

/** The three reported metrics, each a mean over items with its standard error. */
export const BERTSCORE_DEFS: MetricDef[] = PARTS.map((p) => ({
  name: `${BERTSCORE}_${p}`,
  higherIsBetter: true,
  aggregation: "mean",
  outputTypes: ["generate_until"],
}));

export interface BertScoreSetup {
  embedder: TokenEmbedder;
  idf: boolean;
  baseline?: BertScore;
  batchSize: number;
}

/** Checks the metric's options (before any input is read) and builds its embedder. */
export function bertScoreSetup(options: Options, where: Where): BertScoreSetup {
  const r = new OptionReader(BERTSCORE, options, where, BERTSCORE_OPTIONS);
  const expected = "tei:<url> or llama-server:<url>, e.g. tei:http://127.0.0.1:8080";
  const endpoint = r.string("endpoint", expected);
  if (endpoint === undefined)
    throw new UserError(`metric '${BERTSCORE}' needs an embeddings endpoint`, {
      ...where,
      expected: `--params '{"bertscore":{"endpoint":"tei:http://127.0.0.1:8080"}}'`,
    });
  const baseline = r.numbers("baseline", 3, "[precision, recall, f1] of the model's rescale baseline");
  return {
    embedder: createTokenEmbedder(endpoint, `${where.field ?? "--params"} bertscore.endpoint`),
    idf: r.bool("idf") ?? false,
    baseline: baseline && { precision: baseline[0], recall: baseline[1], f1: baseline[2] },
    batchSize: r.int("batch_size", 1) ?? 32,
  };
}

/** Each item's BERTScore against its references, as named metric values. */
export async function bertScoreValues(
  setup: BertScoreSetup,
  items: readonly { prediction: string; references: readonly string[] }[],
  onProgress?: (done: number, total: number) => void,
): Promise<Record<string, number>[]> {
  const texts = items.flatMap((it) => [it.prediction, ...it.references]);
  const embedded = await embedAll(setup.embedder, texts, setup.batchSize, onProgress);
  let at = 0;
  const cands = [];
  const refs = [];
  for (const it of items) {
    cands.push(embedded[at++]);
    refs.push(embedded.slice(at, at + it.references.length));
    at += it.references.length;
  }
  return bertScoreCorpus(cands, refs, { idf: setup.idf, baseline: setup.baseline }).map((s) =>
    Object.fromEntries(PARTS.map((p) => [`${BERTSCORE}_${p}`, s[p]])),
  );
}
