import { type BleuOptions, corpusBleu, sentenceBleu } from "../../../src/metrics/bleu.js";
import { type ChrfOptions, corpusChrf, sentenceChrf } from "../../../src/metrics/chrf.js";
import { corpusTer, sentenceTer, type TerOptions } from "../../../src/metrics/ter.js";
import { compareDeep } from "../compare.js";
import type { CheckerModule, GoldenCase } from "../types.js";

const REL = 1e-9;

/** Validates the shared case layout and returns predictions, references and whether it is corpus-level. */
function inputs(c: GoldenCase): { hyps: string[]; refs: string[][]; corpus: boolean } {
  const hyps = c.predictions as string[];
  const refs = c.references as string[][];
  if (!Array.isArray(hyps) || !Array.isArray(refs) || hyps.length !== refs.length)
    throw new Error("predictions/references missing or of different lengths");
  const level = c.params?.level;
  if (level !== "sentence" && level !== "corpus") throw new Error(`unknown level '${level}'`);
  if (level === "sentence" && hyps.length !== 1) throw new Error("sentence case with N != 1");
  return { hyps, refs, corpus: level === "corpus" };
}

/** Compares a computed result with `expected` (a number compares against `score`). */
function compare(actual: { score: number }, expected: unknown): string | null {
  return typeof expected === "number"
    ? compareDeep(actual.score, expected, REL, 0, "score")
    : compareDeep(actual, expected, REL, 0);
}

/** Golden checkers for ../shared/golden/metrics: BLEU, chrF, TER (see its README). */
export const module: CheckerModule = {
  checkers: {
    bleu(c) {
      const { hyps, refs, corpus } = inputs(c);
      const p = c.params;
      const opts: BleuOptions = {
        tokenize: p.tokenize,
        lowercase: p.lowercase,
        smoothMethod: p.smooth_method,
        smoothValue: p.smooth_value,
        maxNgramOrder: p.max_ngram_order,
        effectiveOrder: p.effective_order,
      };
      const r = corpus ? corpusBleu(hyps, refs, opts) : sentenceBleu(hyps[0], refs[0], opts);
      return compare(r, c.expected);
    },
    chrf(c) {
      const { hyps, refs, corpus } = inputs(c);
      const p = c.params;
      const opts: ChrfOptions = {
        charOrder: p.char_order,
        wordOrder: p.word_order,
        beta: p.beta,
        lowercase: p.lowercase,
        whitespace: p.whitespace,
        epsSmoothing: p.eps_smoothing,
      };
      const r = corpus ? corpusChrf(hyps, refs, opts) : sentenceChrf(hyps[0], refs[0], opts);
      return compare(r, c.expected);
    },
    ter(c) {
      const { hyps, refs, corpus } = inputs(c);
      const p = c.params;
      const opts: TerOptions = {
        normalized: p.normalized,
        noPunct: p.no_punct,
        asianSupport: p.asian_support,
        caseSensitive: p.case_sensitive,
      };
      const r = corpus ? corpusTer(hyps, refs, opts) : sentenceTer(hyps[0], refs[0], opts);
      return compare(r, c.expected);
    },
  },
};
