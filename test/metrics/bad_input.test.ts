/**
 * Bad input to the metric library functions: empty corpora, mismatched lengths, missing references
 * and invalid options throw a RangeError (bad value) or TypeError (wrong type) that names the metric,
 * the argument and what was expected.
 */
import { describe, expect, it } from "vitest";
import {
  bleuFromStats,
  bleuSegmentStats,
  corpusBleu,
  corpusBleuStats,
  sentenceBleu,
  sumStats,
} from "../../src/metrics/bleu.js";
import {
  chrfFromStats,
  corpusChrf,
  corpusChrfStats,
  sentenceChrf,
  sumChrfStats,
} from "../../src/metrics/chrf.js";
import { corpusTer, corpusTerStats, sentenceTer, terFromStats } from "../../src/metrics/ter.js";

// Deliberately ill-typed arguments, as JavaScript callers (or JSON) can pass them.
const any = (x: unknown): any => x;

type Corpus = (hyps: string[], refs: string[][], opts?: object) => unknown;
const CORPUS: Array<[string, string, Corpus]> = [
  ["BLEU", "corpusBleu", corpusBleu],
  ["BLEU", "corpusBleuStats", corpusBleuStats],
  ["chrF", "corpusChrf", corpusChrf],
  ["chrF", "corpusChrfStats", corpusChrfStats],
  ["TER", "corpusTer", corpusTer],
  ["TER", "corpusTerStats", corpusTerStats],
];
type Sentence = (hyp: string, refs: string[], opts?: object) => unknown;
const SENTENCE: Array<[string, string, Sentence]> = [
  ["BLEU", "sentenceBleu", sentenceBleu],
  ["BLEU", "bleuSegmentStats", bleuSegmentStats],
  ["chrF", "sentenceChrf", sentenceChrf],
  ["TER", "sentenceTer", sentenceTer],
];

describe.each(CORPUS)("%s %s: corpus input", (metric, _name, fn) => {
  it("rejects hypotheses and reference lists of different lengths", () => {
    expect(() => fn(["a", "b"], [["a"]])).toThrow(
      new RangeError(
        `${metric}: 2 hypotheses but 1 reference lists (refs[i] holds the references of hyps[i])`,
      ),
    );
    expect(() => fn(["a"], [["a"], ["b"]])).toThrow(RangeError);
  });

  it("rejects a segment without references, naming it", () => {
    expect(() => fn(["a", "b"], [["a"], []])).toThrow(
      new RangeError(`${metric}: refs[1] has no reference (at least one is needed)`),
    );
  });

  it("rejects references given as a plain string list and non-string items", () => {
    expect(() => fn(["a"], any(["a"]))).toThrow(
      new TypeError(`${metric}: refs[0] must be an array of reference strings, got string "a"`),
    );
    expect(() => fn(["a"], any([["a", 3]]))).toThrow(
      new TypeError(`${metric}: refs[0][1] must be a reference string, got number 3`),
    );
    expect(() => fn(any(["a", null]), [["a"], ["b"]])).toThrow(
      new TypeError(`${metric}: hyps[1] must be a string, got null`),
    );
    expect(() => fn(any("a b"), [["a"]])).toThrow(TypeError);
    expect(() => fn(["a"], any(undefined))).toThrow(
      new TypeError(`${metric}: references must be an array of reference lists, got undefined`),
    );
  });
});

describe("empty corpora", () => {
  it("corpus scores need at least one segment", () => {
    expect(() => corpusBleu([], [])).toThrow(
      new RangeError("BLEU: corpus BLEU needs at least one segment, got none"),
    );
    expect(() => corpusChrf([], [])).toThrow(
      new RangeError("chrF: corpus chrF needs at least one segment, got none"),
    );
    expect(() => corpusTer([], [])).toThrow(
      new RangeError("TER: corpus TER needs at least one segment, got none"),
    );
    expect(() => sumStats([])).toThrow(RangeError);
    expect(() => sumChrfStats([])).toThrow(RangeError);
  });

  it("per-segment statistics of an empty corpus are empty", () => {
    expect(corpusBleuStats([], [])).toEqual([]);
    expect(corpusChrfStats([], [])).toEqual([]);
    expect(corpusTerStats([], [])).toEqual([]);
  });

  it("empty strings are valid segments", () => {
    expect(corpusBleu([""], [[""]]).score).toBe(0);
    expect(sentenceChrf("", [""]).score).toBe(0);
    expect(sentenceTer("", [""]).score).toBe(0);
  });
});

describe.each(SENTENCE)("%s %s: sentence input", (metric, _name, fn) => {
  it("needs at least one reference", () => {
    expect(() => fn("a", [])).toThrow(
      new RangeError(`${metric}: the references has no reference (at least one is needed)`),
    );
    expect(() => fn("a", any("a"))).toThrow(TypeError);
    expect(() => fn(any(undefined), ["a"])).toThrow(
      new TypeError(`${metric}: the hypothesis must be a string, got undefined`),
    );
  });

  it("rejects unknown options and non-object options", () => {
    expect(() => fn("a", ["a"], { tokenizer: "intl" })).toThrow(RangeError);
    expect(() => fn("a", ["a"], { tokenizer: "intl" })).toThrow(`${metric}: unknown option 'tokenizer'`);
    expect(() => fn("a", ["a"], any("13a"))).toThrow(
      new TypeError(`${metric}: options must be an object, got string "13a"`),
    );
  });
});

describe("invalid option values", () => {
  const bad: Array<[string, () => unknown, ErrorConstructor, string]> = [
    [
      "BLEU tokenize",
      () => sentenceBleu("a", ["a"], any({ tokenize: "int" })),
      RangeError,
      "BLEU: unknown tokenize 'int' (expected one of: 13a, intl, char, none)",
    ],
    [
      "BLEU tokenize type",
      () => sentenceBleu("a", ["a"], any({ tokenize: 13 })),
      TypeError,
      "BLEU: tokenize must be one of 13a, intl, char, none, got number 13",
    ],
    [
      "BLEU smoothMethod",
      () => sentenceBleu("a", ["a"], any({ smoothMethod: "add-one" })),
      RangeError,
      "BLEU: unknown smoothMethod 'add-one'",
    ],
    [
      "BLEU smoothValue < 0",
      () => sentenceBleu("a", ["a"], { smoothMethod: "floor", smoothValue: -1 }),
      RangeError,
      "BLEU: smoothValue must be a number ≥ 0 or null, got -1",
    ],
    [
      "BLEU smoothValue NaN",
      () => sentenceBleu("a", ["a"], { smoothValue: Number.NaN }),
      RangeError,
      "BLEU: smoothValue must be a number ≥ 0 or null, got NaN",
    ],
    [
      "BLEU smoothValue type",
      () => sentenceBleu("a", ["a"], any({ smoothValue: "0.1" })),
      TypeError,
      'BLEU: smoothValue must be a number, got string "0.1"',
    ],
    [
      "BLEU maxNgramOrder 0",
      () => corpusBleu(["a"], [["a"]], { maxNgramOrder: 0 }),
      RangeError,
      "BLEU: maxNgramOrder must be an integer ≥ 1, got 0",
    ],
    [
      "BLEU maxNgramOrder 2.5",
      () => corpusBleu(["a"], [["a"]], { maxNgramOrder: 2.5 }),
      RangeError,
      "BLEU: maxNgramOrder must be an integer ≥ 1, got 2.5",
    ],
    [
      "BLEU maxNgramOrder type",
      () => corpusBleu(["a"], [["a"]], any({ maxNgramOrder: "4" })),
      TypeError,
      'BLEU: maxNgramOrder must be a number, got string "4"',
    ],
    [
      "BLEU lowercase type",
      () => corpusBleu(["a"], [["a"]], any({ lowercase: "yes" })),
      TypeError,
      'BLEU: lowercase must be true or false, got string "yes"',
    ],
    [
      "BLEU effectiveOrder type",
      () => sentenceBleu("a", ["a"], any({ effectiveOrder: 1 })),
      TypeError,
      "BLEU: effectiveOrder must be true or false, got number 1",
    ],
    [
      "BLEU stats length",
      () => bleuFromStats([1, 1, 1], {}),
      RangeError,
      "BLEU: expected 10 statistics for max_ngram_order 4, got 3",
    ],
    [
      "chrF charOrder < 0",
      () => corpusChrf(["a"], [["a"]], { charOrder: -1 }),
      RangeError,
      "chrF: charOrder must be an integer ≥ 0, got -1",
    ],
    [
      "chrF wordOrder 1.5",
      () => corpusChrf(["a"], [["a"]], { wordOrder: 1.5 }),
      RangeError,
      "chrF: wordOrder must be an integer ≥ 0, got 1.5",
    ],
    [
      "chrF orders 0 + 0",
      () => sentenceChrf("a", ["a"], { charOrder: 0, wordOrder: 0 }),
      RangeError,
      "chrF: charOrder + wordOrder must be positive, got 0 + 0",
    ],
    [
      "chrF beta 0",
      () => sentenceChrf("a", ["a"], { beta: 0 }),
      RangeError,
      "chrF: beta must be a number > 0, got 0",
    ],
    [
      "chrF beta Infinity",
      () => sentenceChrf("a", ["a"], { beta: Number.POSITIVE_INFINITY }),
      RangeError,
      "chrF: beta must be a number > 0, got Infinity",
    ],
    [
      "chrF beta type",
      () => sentenceChrf("a", ["a"], any({ beta: "2" })),
      TypeError,
      'chrF: beta must be a number, got string "2"',
    ],
    [
      "chrF whitespace type",
      () => sentenceChrf("a", ["a"], any({ whitespace: "no" })),
      TypeError,
      'chrF: whitespace must be true or false, got string "no"',
    ],
    [
      "chrF stats length",
      () => chrfFromStats([1, 2, 3]),
      RangeError,
      "chrF: expected 18 statistics for these orders, got 3",
    ],
    [
      "TER normalized type",
      () => sentenceTer("a", ["a"], any({ normalized: 1 })),
      TypeError,
      "TER: normalized must be true or false, got number 1",
    ],
    [
      "TER unknown option",
      () => corpusTer(["a"], [["a"]], any({ no_punct: true })),
      RangeError,
      "TER: unknown option 'no_punct' (expected one of: normalized, noPunct, asianSupport, caseSensitive)",
    ],
    ["TER stats length", () => terFromStats([1]), RangeError, "TER: expected 2 statistics, got 1"],
  ];
  it.each(bad)("%s", (_label, call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });

  it("undefined means the default and null smoothValue means the method's default", () => {
    const def = corpusBleu(["the cat sat"], [["the cat sat down"]]).score;
    expect(
      corpusBleu(["the cat sat"], [["the cat sat down"]], { tokenize: undefined, smoothValue: null }).score,
    ).toBe(def);
    expect(sentenceChrf("a b", ["a c"], { beta: undefined }).score).toBe(sentenceChrf("a b", ["a c"]).score);
  });
});
