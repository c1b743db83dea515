import { type NltkSmoothing, nltkCorpusBleu, nltkTokenize } from "../../../src/metrics/nltk_bleu.js";
import { type RougeType, rougeScoreMulti } from "../../../src/metrics/rouge.js";
import { squadCorpus, squadExactMatchMulti, squadF1Multi } from "../../../src/metrics/squad.js";
import { compareDeep } from "../compare.js";
import type { CheckerModule, GoldenCase } from "../types.js";

function rouge(c: GoldenCase): string | null {
  const p = c.params;
  if (p.level !== "sentence") return `unsupported level ${p.level}`;
  if (p.split_summaries) return "split_summaries=true is not supported";
  const actual = rougeScoreMulti(c.references[0], c.predictions[0], p.rouge_types as RougeType[], {
    useStemmer: p.use_stemmer,
  });
  return compareDeep(actual, c.expected);
}

function nltkBleu(c: GoldenCase): string | null {
  const p = c.params;
  if (p.preprocess !== "lower_split") return `unsupported preprocess ${p.preprocess}`;
  const refs = (c.references as string[][]).map((rs) => rs.map(nltkTokenize));
  const hyps = (c.predictions as string[]).map(nltkTokenize);
  // sentence_bleu is corpus_bleu over one item.
  const actual = nltkCorpusBleu(refs, hyps, {
    weights: p.weights,
    smoothing: p.smoothing as NltkSmoothing,
    epsilon: p.epsilon,
    alpha: p.alpha,
    k: p.k,
    autoReweigh: p.auto_reweigh,
  });
  return compareDeep(actual, c.expected);
}

function squad(kind: "em" | "f1") {
  return (c: GoldenCase): string | null => {
    let actual: number;
    if (c.params.level === "corpus") {
      const s = squadCorpus(c.predictions, c.references);
      actual = kind === "em" ? s.exactMatch : s.f1;
    } else {
      const f = kind === "em" ? squadExactMatchMulti : squadF1Multi;
      actual = f(c.predictions[0], c.references[0]);
    }
    return compareDeep(actual, c.expected);
  };
}

/** Golden checkers for ../shared/golden/metrics: ROUGE, NLTK BLEU, SQuAD (see its README). */
export const module: CheckerModule = {
  checkers: { rouge, nltk_bleu: nltkBleu, squad_em: squad("em"), squad_f1: squad("f1") },
};
