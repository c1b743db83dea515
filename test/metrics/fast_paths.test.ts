/**
 * The fast paths of BLEU and chrF against straightforward implementations, on random inputs built
 * from the characters that matter: the one-pass 13a tokenizer against sacreBLEU's regular
 * expressions, and integer n-gram matching against string-keyed counting (several references too).
 */
import { describe, expect, it } from "vitest";
import { bleuSegmentStats, corpusBleu, corpusBleuStats, sumStats } from "../../src/metrics/bleu.js";
import { chrfSegmentStats, corpusChrf } from "../../src/metrics/chrf.js";
import { addClippedMatches, hashOf, SegmentInterner } from "../../src/metrics/ngram_match.js";
import { pyRStrip, pySplit } from "../../src/metrics/pystr.js";
import { Spans, spans13a, tokenize13a, tokenize13aRegexp, tokens13a } from "../../src/metrics/tokenizers.js";

/** Deterministic PRNG (LCG) so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
}

function randomString(rnd: () => number, alphabet: readonly string[], maxLen: number): string {
  const len = Math.floor(rnd() * (maxLen + 1));
  let s = "";
  for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
  return s;
}

// Digits, "." and ",", "-", 13a punctuation, Python-only whitespace, entities, <skipped>, line
// breaks, non-ASCII letters, a surrogate pair and a lone surrogate.
const TRICKY = [
  "a",
  "b",
  "1",
  "9",
  "0",
  ".",
  ",",
  "-",
  " ",
  "'",
  "/",
  "&",
  "<",
  ">",
  "$",
  "_",
  "~",
  "\n",
  "\t",
  "\x1c",
  "\x85",
  "\xa0",
  "\u3000",
  "\ufeff",
  "é",
  "😀",
  "\ud800",
  "&amp;",
  "&lt;",
  "&quot;",
  "<skipped>",
  "-\n",
];

/** The tokenizer's running token hashes equal the interner's hash of each token. */
const spans = new Spans();
function hashesAgree(s: string): boolean {
  const line = spans13a(s, spans);
  for (let k = 0; k < spans.count; k++)
    if (spans.hashes[k] !== hashOf(line, spans.starts[k], spans.ends[k])) return false;
  return true;
}

describe("one-pass 13a tokenizer", () => {
  it("equals sacreBLEU's regular expressions on every string of up to 6 of a b 1 . , - / space", () => {
    const small = ["a", "1", ".", ",", "-", " ", "/"];
    const bad: string[] = [];
    const visit = (s: string, depth: number): void => {
      if (tokens13a(s).join("\u0000") !== pySplit(tokenize13aRegexp(s)).join("\u0000")) bad.push(s);
      if (!hashesAgree(s)) bad.push(`hash: ${s}`);
      if (depth > 0) for (const c of small) visit(s + c, depth - 1);
    };
    visit("", 6);
    expect(bad.slice(0, 10)).toEqual([]);
  });

  it("equals sacreBLEU's regular expressions on random tricky strings", () => {
    const rnd = rng(7);
    const bad: string[] = [];
    for (let t = 0; t < 30000; t++) {
      const alphabet = TRICKY.slice(0, 4 + Math.floor(rnd() * (TRICKY.length - 4)));
      const s = randomString(rnd, alphabet, 16);
      if (tokens13a(s).join("\u0000") !== pySplit(tokenize13aRegexp(s)).join("\u0000")) bad.push(s);
      if (tokenize13a(s) !== tokenize13aRegexp(s)) bad.push(s);
      if (!hashesAgree(s)) bad.push(`hash: ${s}`);
    }
    expect(bad.slice(0, 10)).toEqual([]);
  });

  it("keeps decimals and splits dot runs as mteval does", () => {
    expect(tokens13a("3.14 a.5 a..5 1..5 1...5 x, y-1-2 1-a")).toEqual(
      "3.14 a . 5 a . .5 1 . . 5 1 . . .5 x , y-1 - 2 1 - a".split(" "),
    );
  });
});

/** Σ over hypothesis n-grams of min(hyp count, max reference count), with string keys. */
function naiveMatches(
  hyp: readonly number[],
  refs: readonly (readonly number[])[],
  maxOrder: number,
): number[] {
  const counts = (xs: readonly number[], n: number) => {
    const m = new Map<string, number>();
    for (let i = 0; i + n <= xs.length; i++) {
      const k = xs.slice(i, i + n).join(",");
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    return m;
  };
  const out: number[] = [];
  for (let n = 1; n <= maxOrder; n++) {
    const h = counts(hyp, n);
    const rs = refs.map((r) => counts(r, n));
    let match = 0;
    for (const [k, c] of h) match += Math.min(c, Math.max(0, ...rs.map((r) => r.get(k) ?? 0)));
    out.push(match);
  }
  return out;
}

describe("integer n-gram matching", () => {
  it("equals string-keyed clipped counts for 1–3 references and orders 1–7", () => {
    const rnd = rng(11);
    for (let t = 0; t < 4000; t++) {
      const symbols = 1 + Math.floor(rnd() * 4);
      const seqOf = () => Array.from({ length: Math.floor(rnd() * 14) }, () => Math.floor(rnd() * symbols));
      const hyp = seqOf();
      const refs = Array.from({ length: 1 + Math.floor(rnd() * 3) }, seqOf);
      const maxOrder = 1 + Math.floor(rnd() * 7);
      const seq = Int32Array.from([...hyp, -1, ...refs.flatMap((r) => [...r, -1])]);
      const got = new Array<number>(maxOrder).fill(0);
      addClippedMatches(seq, seq.length, symbols, maxOrder, got);
      expect({ hyp, refs, got }).toEqual({ hyp, refs, got: naiveMatches(hyp, refs, maxOrder) });
    }
  });

  it("interns substrings to stable dense ids", () => {
    const v = new SegmentInterner();
    const words = Array.from({ length: 5000 }, (_, i) => `w${i % 1234}${"x".repeat(i % 3)}`);
    const ids = words.map((w) => v.id(`<${w}>`, 1, w.length + 1));
    const first = new Map<string, number>();
    words.forEach((w, i) => {
      if (!first.has(w)) first.set(w, ids[i]);
      expect(ids[i]).toBe(first.get(w));
    });
    expect(v.size).toBe(first.size);
    expect([...first.values()].sort((a, b) => a - b)).toEqual([...Array(first.size).keys()]);
  });

  it("interns per segment: dense ids from 0 after each reset, through table growth", () => {
    const v = new SegmentInterner();
    const rnd = rng(11);
    const alphabet = ["a", "b", "é", "😀", ".", "1", "-"];
    for (let segment = 0; segment < 40; segment++) {
      v.reset();
      // Up to ~2,000 tokens (beyond the initial table), one- and many-character, ASCII and not.
      const n = 1 + Math.floor(rnd() * (segment % 5 === 0 ? 2000 : 60));
      const tokens = Array.from({ length: n }, () =>
        randomString(rnd, alphabet, 1 + Math.floor(rnd() * 4)).replace(/^$/, "a"),
      );
      const line = ` ${tokens.join(" ")} `;
      const first = new Map<string, number>();
      let at = 1;
      for (const t of tokens) {
        const id =
          segment % 2 === 0
            ? v.id(line, at, at + t.length)
            : v.idHashed(line, at, at + t.length, hashOf(line, at, at + t.length));
        if (!first.has(t)) first.set(t, first.size);
        expect(id).toBe(first.get(t));
        at += t.length + 1;
      }
      expect(v.size).toBe(first.size);
    }
  });
  it("reserve makes room for a segment's tokens and interns them as before", () => {
    const v = new SegmentInterner();
    v.id("keep", 0, 4);
    v.reserve(6000); // forgets the current tokens
    expect(v.size).toBe(0);
    const words = Array.from({ length: 6000 }, (_, i) => `t${i % 4321}`);
    const line = words.join(" ");
    const first = new Map<string, number>();
    let at = 0;
    for (const w of words) {
      if (!first.has(w)) first.set(w, first.size);
      expect(v.id(line, at, at + w.length)).toBe(first.get(w));
      at += w.length + 1;
    }
    expect(v.size).toBe(4321);
  });
});

/** sacreBLEU's segment statistics with string n-grams over the regex tokenizer. */
function naiveBleuStats(hyp: string, refs: readonly string[], maxOrder = 4): number[] {
  const tok = (s: string) => pySplit(tokenize13aRegexp(pyRStrip(s)));
  const ids = new Map<string, number>();
  const idsOf = (ts: string[]) =>
    ts.map((w) => {
      if (!ids.has(w)) ids.set(w, ids.size);
      return ids.get(w)!;
    });
  const h = idsOf(tok(hyp));
  const rs = refs.map((r) => idsOf(tok(r)));
  let best = -1;
  for (const r of rs)
    if (
      best < 0 ||
      Math.abs(h.length - r.length) < Math.abs(h.length - best) ||
      (Math.abs(h.length - r.length) === Math.abs(h.length - best) && r.length < best)
    )
      best = r.length;
  const totals = Array.from({ length: maxOrder }, (_, n) => Math.max(0, h.length - n));
  return [h.length, best, ...naiveMatches(h, rs, maxOrder), ...totals];
}

/** sacreBLEU's chrF statistics (char order 6, no words) with string n-grams over code points. */
function naiveChrfStats(hyp: string, ref: string): number[] {
  const chars = (s: string) => [...pySplit(s).join("")].map((c) => c.codePointAt(0)!);
  const h = chars(hyp);
  const r = chars(ref);
  const m = naiveMatches(h, [r], 6);
  return m.flatMap((match, i) => [
    r.length > i ? Math.max(0, h.length - i) : 0,
    Math.max(0, r.length - i),
    match,
  ]);
}

describe("BLEU and chrF statistics", () => {
  it("equal string-keyed counting on random segments (several references for BLEU)", () => {
    const rnd = rng(3);
    const alphabet = ["a", "b", "ab", "1", ".", ",", "-", " ", "  ", "'", "😀", "é", "\u3000", "\n", "&amp;"];
    for (let t = 0; t < 3000; t++) {
      const hyp = randomString(rnd, alphabet, 14);
      const refs = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => randomString(rnd, alphabet, 14));
      expect([hyp, refs, bleuSegmentStats(hyp, refs)]).toEqual([hyp, refs, naiveBleuStats(hyp, refs)]);
      expect([hyp, refs[0], chrfSegmentStats(hyp, [refs[0]])]).toEqual([
        hyp,
        refs[0],
        naiveChrfStats(hyp, refs[0]),
      ]);
    }
  });

  it("corpus scores equal the sum of the segment statistics", () => {
    const rnd = rng(5);
    const hyps = Array.from({ length: 200 }, () =>
      randomString(rnd, ["the ", "cat ", "sat ", "mat ", ". "], 12),
    );
    const refs = hyps.map(() => [randomString(rnd, ["the ", "cat ", "sat ", "mat ", ". "], 12)]);
    const stats = corpusBleuStats(hyps, refs);
    expect(stats).toHaveLength(200);
    expect(corpusBleu(hyps, refs).counts).toEqual(sumStats(stats).slice(2, 6));
    expect(corpusChrf(hyps, refs).score).toBeGreaterThan(0);
  });

  it("corpus statistics hold for a segment with more tokens than the buffers reserved up front (65,536)", () => {
    const rnd = rng(8);
    const words = ["a", "b", "1", ".", ",", "-", "\u00e9", "x,y", "1.5", "the"];
    const text = (n: number) =>
      Array.from({ length: n }, () => words[Math.floor(rnd() * words.length)]).join(" ");
    const hyps = [text(10), text(70_000), text(5)];
    const refs = [[text(12)], [text(69_000), text(300)], [text(5)]];
    expect(corpusBleuStats(hyps, refs)).toEqual(hyps.map((h, i) => naiveBleuStats(h, refs[i])));
  });
});
