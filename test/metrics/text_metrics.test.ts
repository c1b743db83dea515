import { describe, expect, it } from "vitest";
import {
  bertScore,
  bertScorePair,
  cosineSimilarityMatrix,
  idfTable,
  idfWeights,
  rescaleWithBaseline,
} from "../../src/metrics/bertscore.js";
import { editSimilarity, levenshtein, levenshteinTokens } from "../../src/metrics/edit_distance.js";
import {
  nltkBrevityPenalty,
  nltkClosestRefLength,
  nltkCorpusBleu,
  nltkModifiedPrecision,
  nltkSentenceBleu,
  nltkTokenize,
} from "../../src/metrics/nltk_bleu.js";
import { porterStem } from "../../src/metrics/porter.js";
import { fsum, ratioToNumber } from "../../src/metrics/pytext.js";
import { rougeScore, rougeScoreMulti, rougeTokenize } from "../../src/metrics/rouge.js";
import {
  squadCorpus,
  squadExactMatch,
  squadExactMatchMulti,
  squadF1,
  squadF1Multi,
  squadNormalize,
} from "../../src/metrics/squad.js";

describe("porterStem (NLTK 3.8, NLTK_EXTENSIONS)", () => {
  it.each([
    // Examples from Porter's paper, traced through every step.
    ["caresses", "caress"],
    ["ponies", "poni"],
    ["cats", "cat"],
    ["feed", "feed"],
    ["agreed", "agre"],
    ["hopping", "hop"],
    ["running", "run"],
    ["falling", "fall"],
    ["filing", "file"],
    ["happy", "happi"],
    ["relational", "relat"],
    ["generalizations", "gener"],
    ["controlling", "control"],
    // NLTK extensions: 4-letter -ies/-ied keep the e, 'logi' keeps the l with the stem.
    ["ties", "tie"],
    ["dies", "die"],
    ["died", "die"],
    ["flies", "fli"],
    ["spied", "spi"],
    ["geology", "geolog"],
    // Irregular forms table.
    ["dying", "die"],
    ["skies", "sky"],
    ["news", "news"],
    ["innings", "inning"],
    ["proceed", "proceed"],
    // Words of one or two letters are returned as they are.
    ["is", "is"],
  ])("%s -> %s", (word, stem) => {
    expect(porterStem(word)).toBe(stem);
  });
});

describe("rouge", () => {
  it("tokenizes like rouge-score: lowercase, [a-z0-9] runs only", () => {
    expect(rougeTokenize("Héllo, WORLD! 42-x 日本")).toEqual(["h", "llo", "world", "42", "x"]);
    expect(rougeTokenize("running dogs", true)).toEqual(["run", "dog"]);
    // Only tokens longer than 3 characters are stemmed.
    expect(rougeTokenize("dies", true)).toEqual(["die"]);
    expect(rougeTokenize("was", true)).toEqual(["was"]);
  });

  it("matches the rouge-score docstring example", () => {
    const s = rougeScore(
      "The quick brown fox jumps over the lazy dog",
      "The quick brown dog jumps on the log.",
      ["rouge1", "rouge2", "rougeL"],
    );
    // 6 shared unigrams (the x2, quick, brown, dog, jumps); 8 predicted, 9 target tokens.
    expect(s.rouge1.precision).toBe(6 / 8);
    expect(s.rouge1.recall).toBe(6 / 9);
    expect(s.rouge1.fmeasure).toBeCloseTo((2 * 0.75 * (6 / 9)) / (0.75 + 6 / 9), 15);
    // Shared bigrams: "the quick", "quick brown".
    expect(s.rouge2.precision).toBe(2 / 7);
    expect(s.rouge2.recall).toBe(2 / 8);
    // LCS "the quick brown jumps the".
    expect(s.rougeL.precision).toBe(5 / 8);
    expect(s.rougeL.recall).toBe(5 / 9);
  });

  it("rougeLsum takes the union LCS per reference line", () => {
    const s = rougeScore("a b\nc d", "a c\nb d", ["rougeL", "rougeLsum"]);
    expect(s.rougeL.fmeasure).toBe(0.75);
    expect(s.rougeLsum).toEqual({ precision: 1, recall: 1, fmeasure: 1 });
    expect(rougeScore("", "a", ["rougeLsum"]).rougeLsum.fmeasure).toBe(0);
  });

  it("score_multi picks, per type, the target with the best fmeasure", () => {
    const s = rougeScoreMulti(["x y", "a b c", "a b d"], "a b", ["rouge1"]);
    expect(s.rouge1).toEqual({ precision: 1, recall: 2 / 3, fmeasure: 0.8 });
  });
});

describe("nltk bleu", () => {
  const hyp1 =
    "It is a guide to action which ensures that the military always obeys the commands of the party";
  const hyp2 = "It is to insure the troops forever hearing the activity guidebook that party direct";
  const ref1 = "It is a guide to action that ensures that the military will forever heed Party commands";
  const ref2 =
    "It is the guiding principle which guarantees the military forces always being under the command of the Party";
  const ref3 = "It is the practical guide for the army always to heed the directions of the party";
  const sp = (s: string) => s.split(" ");
  // The docstrings print values with ELLIPSIS, e.g. 0.5045...
  const digits = (v: number, prefix: string) =>
    expect(String(v).startsWith(prefix), `${v} vs ${prefix}...`).toBe(true);

  it("reproduces the NLTK docstring values", () => {
    const refs = [ref1, ref2, ref3].map(sp);
    digits(nltkSentenceBleu(refs, sp(hyp1)), "0.5045");
    digits(nltkSentenceBleu(refs, sp(hyp1), { weights: [0.2, 0.2, 0.2, 0.2, 0.2] }), "0.3920");
    digits(nltkSentenceBleu(refs, sp(hyp2), { smoothing: "method1" }), "0.0370");
    const r1 = [sp(ref1)];
    const h1 = sp(hyp1);
    digits(nltkSentenceBleu(r1, h1), "0.4118");
    digits(nltkSentenceBleu(r1, h1, { smoothing: "method2" }), "0.4452");
    digits(nltkSentenceBleu(r1, h1, { smoothing: "method5" }), "0.4905");
    digits(nltkSentenceBleu(r1, h1, { smoothing: "method6" }), "0.4135");
    digits(nltkSentenceBleu(r1, h1, { smoothing: "method7" }), "0.4905");
    const hyp3 = sp("he read the book because he was interested in world history");
    const ref3b = sp("he was interested in world history because he read the book");
    digits(nltkCorpusBleu([refs, [ref3b]], [sp(hyp1), hyp3]), "0.5920");
    digits(nltkCorpusBleu([refs, [ref3b]], [sp(hyp1), hyp3], { weights: [0.1, 0.3, 0.5, 0.1] }), "0.5818");
  });

  it("clips counts by the reference maximum", () => {
    const refs = [sp("the cat is on the mat"), sp("there is a cat on the mat")];
    expect(nltkModifiedPrecision(refs, sp("the the the the the the the"), 1)).toEqual([2, 7]);
    // max(1, count): no bigram in a one-token hypothesis gives 0/1.
    expect(nltkModifiedPrecision(refs, ["the"], 2)).toEqual([0, 1]);
  });

  it("method0 turns zero precisions into sys.float_info.min", () => {
    // Unigrams 3/4, bigrams 1/3, no trigram or 4-gram match; equal lengths so no brevity penalty.
    const v = nltkSentenceBleu([sp("a b x d")], sp("a b c d"));
    const min = 2.2250738585072014e-308;
    expect(v).toBeGreaterThan(0);
    expect(v / Math.exp(0.25 * (Math.log(0.75) + Math.log(1 / 3) + 2 * Math.log(min)))).toBeCloseTo(1, 12);
    // No unigram match at all: exactly 0.
    expect(nltkSentenceBleu([sp("x y")], sp("a b"))).toBe(0);
  });

  it("brevity penalty and closest reference length", () => {
    expect(
      nltkClosestRefLength(
        [
          [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
          [1, 2],
        ],
        12,
      ),
    ).toBe(13);
    expect(nltkClosestRefLength([new Array(13), new Array(11)], 12)).toBe(11);
    expect(nltkBrevityPenalty(28, 12)).toBeCloseTo(0.2635971381157267, 15);
    expect(nltkBrevityPenalty(5, 0)).toBe(0);
  });

  it("tokenizes with Python lower().split()", () => {
    expect(nltkTokenize("A\u0085B\u001fC\ufeffD \u200bE")).toEqual(["a", "b", "c\ufeffd", "\u200be"]);
  });
});

describe("python number helpers", () => {
  it("fsum is exactly rounded", () => {
    expect(fsum([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])).toBe(1);
    expect(fsum([1e100, 1, -1e100, 1e-100])).toBe(1);
    expect(fsum([1e-16, 1, 1e16])).toBe(10000000000000002);
  });

  it("ratioToNumber rounds big ratios correctly", () => {
    expect(ratioToNumber(1n, 3n)).toBe(1 / 3);
    expect(ratioToNumber(10n ** 30n, 3n * 10n ** 30n)).toBe(1 / 3);
    expect(ratioToNumber(2n ** 60n + 1n, 2n ** 60n)).toBe(1);
    // 2^60 + 2^7 lies halfway between two doubles (ulp 2^8): ties go to even, anything above rounds up.
    expect(ratioToNumber(2n ** 60n + 2n ** 7n, 1n)).toBe(2 ** 60);
    expect(ratioToNumber(2n ** 60n + 2n ** 7n + 1n, 1n)).toBe(2 ** 60 + 2 ** 8);
    expect(ratioToNumber(-(3n * (2n ** 60n + 2n ** 7n) + 1n), 3n)).toBe(-(2 ** 60 + 2 ** 8));
  });
});

describe("squad", () => {
  it('"the" vs "a": EM 1 but F1 0 (both normalise to empty)', () => {
    expect(squadNormalize("the")).toBe("");
    expect(squadExactMatch("the", "a")).toBe(1);
    expect(squadF1("the", "a")).toBe(0);
  });

  it("normalises like evaluate-v1.1.py", () => {
    expect(squadNormalize("The Cat, sat on   AN apple!")).toBe("cat sat on apple");
    // Articles inside words stay; punctuation is deleted before the article rule runs.
    expect(squadNormalize("theater a.n")).toBe("theater");
    // Python's \b: é is a word character, U+0301 (a combining mark) is not.
    expect(squadNormalize("theé cat")).toBe("theé cat");
    expect(squadNormalize("the\u0301 cat")).toBe("\u0301 cat");
  });

  it("F1 over token multisets, max over references", () => {
    expect(squadF1("an apple", "apple pie")).toBeCloseTo(2 / 3, 15);
    expect(squadF1Multi("an apple", ["pear", "apple pie", "apple"])).toBe(1);
    expect(squadExactMatchMulti("Apple.", ["pear", "apple"])).toBe(1);
    const c = squadCorpus(["apple", "x"], [["apple"], ["y", "x z"]]);
    expect(c.exactMatch).toBe(50);
    expect(c.f1).toBeCloseTo((100 * (1 + 2 / 3)) / 2, 12);
  });
});

describe("edit distance", () => {
  it("counts code points, not UTF-16 units", () => {
    expect(levenshtein("kitten", "sitting")).toBe(3);
    expect(levenshtein("", "abc")).toBe(3);
    expect(levenshtein("😀a", "a")).toBe(1);
    expect(levenshtein("😀", "😁")).toBe(1);
    expect(levenshteinTokens(["a", "b", "c"], ["a", "c"])).toBe(1);
    expect(editSimilarity("kitten", "sitting")).toBeCloseTo(1 - 3 / 7, 15);
    expect(editSimilarity("", "")).toBe(1);
    expect(editSimilarity("𠀀", "")).toBe(0);
  });
});

describe("bertscore math", () => {
  const s2 = Math.SQRT1_2;

  it("cosine similarity ignores vector length", () => {
    const sim = cosineSimilarityMatrix(
      [[2, 0]],
      [
        [0, 3],
        [1, 1],
      ],
    );
    expect(sim[0][0]).toBe(0);
    expect(sim[0][1]).toBeCloseTo(s2, 15);
  });

  it("greedy matching: precision over candidate tokens, recall over reference tokens", () => {
    // P = 1/sqrt2 (the one candidate token's best match), R = (0 + 1/sqrt2) / 2, F = sqrt2 / 3.
    const s = bertScorePair(
      { vectors: [[1, 0]] },
      {
        vectors: [
          [0, 1],
          [1, 1],
        ],
      },
    );
    expect(s.precision).toBeCloseTo(s2, 12);
    expect(s.recall).toBeCloseTo(s2 / 2, 12);
    expect(s.f1).toBeCloseTo(Math.SQRT2 / 3, 12);
  });

  it("weights, multi-reference max per component, baseline rescaling", () => {
    const cand = {
      vectors: [
        [1, 0],
        [0, 1],
      ],
      weights: [1, 3],
    };
    // Ref A: sims (1, 0) -> P = 1/4, R = 1, F = 0.4.
    const a = bertScorePair(cand, { vectors: [[1, 0]] });
    expect(a.precision).toBeCloseTo(0.25, 15);
    expect(a.recall).toBeCloseTo(1, 15);
    expect(a.f1).toBeCloseTo(0.4, 15);
    // Ref B: row maxima 0 and 1 -> P = 3/4; column maxima 1 and 0 -> R = 1/2; F = 0.6.
    const refB = {
      vectors: [
        [0, 1],
        [-1, 0],
      ],
    };
    const b = bertScorePair(cand, refB);
    expect(b.precision).toBeCloseTo(0.75, 15);
    expect(b.recall).toBeCloseTo(0.5, 15);
    expect(b.f1).toBeCloseTo(0.6, 15);
    const m = bertScore(cand, [{ vectors: [[1, 0]] }, refB]);
    expect(m.precision).toBeCloseTo(0.75, 15);
    expect(m.recall).toBeCloseTo(1, 15);
    expect(m.f1).toBeCloseTo(0.6, 15);
    const r = bertScore(cand, [{ vectors: [[1, 0]] }, refB], {
      baseline: { precision: 0.5, recall: 0.5, f1: 0.5 },
    });
    expect(r.precision).toBeCloseTo(0.5, 15);
    expect(r.recall).toBeCloseTo(1, 15);
    expect(r.f1).toBeCloseTo(0.2, 15);
    expect(
      rescaleWithBaseline({ precision: 1, recall: 1, f1: 1 }, { precision: 0.8, recall: 0, f1: 0.5 }),
    ).toEqual({
      precision: 1,
      recall: 1,
      f1: 1,
    });
  });

  it("empty candidate or reference scores 0", () => {
    expect(bertScorePair({ vectors: [] }, { vectors: [[1, 0]] })).toEqual({ precision: 0, recall: 0, f1: 0 });
    // Only special tokens (weight 0): bert-score treats the sentence as empty.
    expect(bertScorePair({ vectors: [[1, 0]], weights: [0] }, { vectors: [[1, 0]] }).f1).toBe(0);
  });

  it("idf = log((M + 1) / (df + 1)), unseen log(M + 1), specials 0", () => {
    const t = idfTable([
      ["a", "b", "b"],
      ["a", "c"],
    ]);
    expect(t.idf.get("a")).toBe(0);
    expect(t.idf.get("b")).toBeCloseTo(Math.log(3 / 2), 15);
    expect(t.unseen).toBeCloseTo(Math.log(3), 15);
    expect(Array.from(idfWeights(["[CLS]", "b", "z", "[SEP]"], t, new Set(["[CLS]", "[SEP]"])))).toEqual([
      0,
      Math.log(3 / 2),
      Math.log(3),
      0,
    ]);
  });
});
