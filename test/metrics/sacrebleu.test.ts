// Expected values below were produced by sacreBLEU 2.6.0 (Python 3.11) on the same inputs.
import { describe, expect, it } from "vitest";
import {
  bleuFromStats,
  bleuSegmentStats,
  bleuSignature,
  corpusBleu,
  corpusBleuStats,
  nrefsOf,
  sentenceBleu,
  sumStats,
} from "../../src/metrics/bleu.js";
import {
  chrfFromStats,
  chrfSignature,
  corpusChrf,
  corpusChrfStats,
  sentenceChrf,
  sumChrfStats,
} from "../../src/metrics/chrf.js";
import { pyFormatFixed, pyLower, pyRStrip, pySplit, pyStrip } from "../../src/metrics/pystr.js";
import { corpusTer, sentenceTer, terSignature } from "../../src/metrics/ter.js";
import { translationEditRate } from "../../src/metrics/ter_lib.js";
import { tokenize13a, tokenizeChar, tokenizeIntl, tokenizeTercom } from "../../src/metrics/tokenizers.js";

const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.abs(b));

describe("pystr", () => {
  it("splits and strips on Python whitespace, not JS \\s", () => {
    expect(pySplit("x\x1cy\x85z\ufeffw\u200bv")).toEqual(["x", "y", "z\ufeffw\u200bv"]);
    expect(pySplit("  a \u3000 b\n")).toEqual(["a", "b"]);
    expect(pySplit(" \t ")).toEqual([]);
    expect(pyRStrip("a \x85\ufeff")).toBe("a \x85\ufeff");
    expect(pyStrip("\x1f a b \u2028")).toBe("a b");
  });
  it("lowercases like str.lower()", () => {
    expect(pyLower("İΑΣ")).toBe("i\u0307ας");
    // Assigned after Unicode 14: Python 3.11 leaves it unchanged.
    expect(pyLower("A\ua7cbB")).toBe("a\ua7cbb");
  });
  it("formats like f'{x:.2f}' (ties to even on the exact value)", () => {
    expect([0.125, 0.375, 2.675, 1.005, -0.5, 1].map((x) => pyFormatFixed(x, 2))).toEqual([
      "0.12",
      "0.38",
      "2.67",
      "1.00",
      "-0.50",
      "1.00",
    ]);
  });
});

describe("tokenizers", () => {
  it("13a", () => {
    expect(tokenize13a("Hello, world! It's 3.5 &amp; 1,000-2. <skipped>end")).toBe(
      "Hello , world ! It's 3.5 & 1,000 - 2 . end",
    );
  });
  it("intl", () => {
    expect(tokenizeIntl("Hello, world! «Quote» 3.5 €10 (a)-b.")).toBe(
      "Hello , world ! « Quote » 3.5 € 10 ( a ) - b .",
    );
  });
  it("char splits code points", () => {
    expect(tokenizeChar("a b😀")).toBe("a   b 😀");
  });
  it("tercom normalisation", () => {
    expect(tokenizeTercom("Hello, World's 3.5 &amp; x.", { normalized: true })).toBe(
      "hello , world 's 3.5 & x .",
    );
  });
});

describe("BLEU", () => {
  it("sentence BLEU with two references", () => {
    const r = sentenceBleu(
      "The cat sat on the mat.",
      ["The cat is on the mat.", "There is a cat on the mat."],
      {
        effectiveOrder: true,
      },
    );
    close(r.score, 48.892302243490086);
    expect(r.counts).toEqual([6, 4, 2, 1]);
    expect(r.totals).toEqual([7, 6, 5, 4]);
    expect(r.sys_len).toBe(7);
    expect(r.ref_len).toBe(7);
    expect(r.bp).toBe(1);
  });
  it("corpus BLEU equals BLEU of summed segment statistics", () => {
    const hyps = ["The cat sat on the mat.", "Dogs bark loudly at night"];
    const refs = [["The cat is on the mat."], ["The dog barks at night."]];
    const r = corpusBleu(hyps, refs);
    close(r.score, 31.584620936478963);
    close(r.bp, 0.9200444146293233);
    expect(r.counts).toEqual([8, 5, 2, 1]);
    expect(r.totals).toEqual([12, 10, 8, 6]);
    const streamed = sumStats(hyps.map((h, i) => bleuSegmentStats(h, refs[i])));
    expect(streamed).toEqual(sumStats(corpusBleuStats(hyps, refs)));
    expect(bleuFromStats(streamed).score).toBe(r.score);
  });
  it("signature strings", () => {
    expect(bleuSignature()).toBe("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
    expect(bleuSignature({ effectiveOrder: true }, 2)).toBe(
      "nrefs:2|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0",
    );
    expect(
      bleuSignature(
        { smoothMethod: "add-k", lowercase: true, tokenize: "intl" },
        nrefsOf([["a", "b"], ["c"]]),
      ),
    ).toBe("nrefs:var|case:lc|eff:no|tok:intl|smooth:add-k[1.00]|version:2.6.0");
    expect(bleuSignature({ smoothMethod: "floor", smoothValue: 0.125 })).toBe(
      "nrefs:1|case:mixed|eff:no|tok:13a|smooth:floor[0.12]|version:2.6.0",
    );
  });
  it("scores 0 when nothing matches, whatever the smoothing", () => {
    const r = sentenceBleu("x y z", ["a b c"], { smoothMethod: "add-k" });
    expect(r.score).toBe(0);
    expect(r.precisions).toEqual([0, 0, 0, 0]);
  });
});

describe("chrF", () => {
  it("chrF and chrF++", () => {
    close(sentenceChrf("The cat sat on the mat.", ["The cat is on the mat."]).score, 67.17273492330233);
    close(
      sentenceChrf("The cat sat on the mat.", ["The cat is on the mat."], { wordOrder: 2 }).score,
      69.43695278069349,
    );
    expect(chrfSignature({ wordOrder: 2 })).toBe(
      "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0",
    );
  });
  it("corpus chrF comes from summed statistics", () => {
    const hyps = ["a cat", "the dog"];
    const refs = [["the cat"], ["the dog", "a dog"]];
    const stats = sumChrfStats(corpusChrfStats(hyps, refs));
    expect(stats.length).toBe(18);
    close(corpusChrf(hyps, refs).score, 63.83219482394756);
    expect(chrfFromStats(stats).score).toBe(corpusChrf(hyps, refs).score);
  });
});

describe("TER", () => {
  it("counts one shift", () => {
    const r = sentenceTer("on the mat the cat sat", ["the cat sat on the mat"]);
    close(r.score, 16.666666666666664);
    expect(r.num_edits).toBe(1);
    expect(r.ref_length).toBe(6);
    expect(terSignature()).toBe("nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0");
  });
  it("corpus TER: min edits over references, mean reference length", () => {
    const r = corpusTer(
      ["on the mat the cat sat", "hello"],
      [["the cat sat on the mat"], ["", "hello world"]],
    );
    close(r.score, 28.57142857142857);
    expect(r.num_edits).toBe(2);
    expect(r.ref_length).toBe(7);
  });
  it("empty reference: every hypothesis word is an edit", () => {
    expect(translationEditRate(["a", "b"], [])).toEqual([2, 0]);
    expect(sentenceTer("a b", [""]).score).toBe(100);
    expect(sentenceTer("", [""]).score).toBe(0);
  });
});
