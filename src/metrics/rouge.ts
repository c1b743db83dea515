/**
 * ROUGE as computed by Google's rouge-score 0.1.2 (`RougeScorer(...).score` / `score_multi`) with its
 * default tokenizer: lowercase, keep only [a-z0-9] runs, optionally Porter-stem tokens longer than 3.
 */

import { ngramCounts, sortedNgramKeys } from "./ngram_keys.js";
import { porterStem } from "./porter.js";

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

/** `rouge1` … `rouge9`, `rougeL` (sentence LCS) or `rougeLsum` (summary-level LCS over "\n" lines). */
export type RougeType = `rouge${number}` | "rougeL" | "rougeLsum";

export interface RougeOptions {
  useStemmer?: boolean;
}

const TOKEN_RE = /[a-z0-9]+/g;

/** rouge-score's default tokenizer. */
export function rougeTokenize(text: string, useStemmer = false): string[] {
  // After lowercasing, only ASCII a-z/0-9 survive; JS and Python agree on which characters lower to
  // those (A-Z, U+212A KELVIN SIGN, U+0130's leading 'i').
  const tokens = text.toLowerCase().match(TOKEN_RE) ?? [];
  if (!useStemmer) return tokens;
  for (let i = 0; i < tokens.length; i++) if (tokens[i].length > 3) tokens[i] = porterStem(tokens[i]);
  // rouge-score re-validates tokens after stemming; a stem is never empty, but keep the check.
  return tokens.every((x) => x.length > 0) ? tokens : tokens.filter((x) => x.length > 0);
}

function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

const ZERO: RougeScore = { precision: 0, recall: 0, fmeasure: 0 };

/** Maps tokens of several lists to small integer ids so n-grams and LCS compare numbers. */
class Vocab {
  private ids = new Map<string, number>();
  encode(tokens: string[]): Int32Array {
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      let id = this.ids.get(tokens[i]);
      if (id === undefined) {
        id = this.ids.size;
        this.ids.set(tokens[i], id);
      }
      out[i] = id;
    }
    return out;
  }
  get size(): number {
    return this.ids.size;
  }
}

/** Clipped n-gram overlap sum(min(target count, prediction count)). */
function ngramOverlap(target: Int32Array, prediction: Int32Array, n: number, base: number): number {
  const t = sortedNgramKeys(target, n, base);
  const p = sortedNgramKeys(prediction, n, base);
  let inter = 0;
  if (t !== null && p !== null) {
    // Merging two sorted multisets counts each shared key min(a, b) times.
    let i = 0;
    let j = 0;
    while (i < t.length && j < p.length) {
      if (t[i] === p[j]) {
        inter++;
        i++;
        j++;
      } else if (t[i] < p[j]) i++;
      else j++;
    }
    return inter;
  }
  const tc = ngramCounts(target, n);
  const pc = ngramCounts(prediction, n);
  for (const [k, c] of tc) inter += Math.min(c, pc.get(k) ?? 0);
  return inter;
}

function scoreNgrams(target: Int32Array, prediction: Int32Array, n: number, base: number): RougeScore {
  const inter = ngramOverlap(target, prediction, n, base);
  const precision = inter / Math.max(prediction.length - n + 1, 1);
  const recall = inter / Math.max(target.length - n + 1, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

function lcsLength(a: Int32Array, b: Int32Array): number {
  if (a.length < b.length) [a, b] = [b, a];
  const cols = b.length;
  let prev = new Int32Array(cols + 1);
  let cur = new Int32Array(cols + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= cols; j++) {
      cur[j] = ai === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[cols];
}

function scoreLcs(target: Int32Array, prediction: Int32Array): RougeScore {
  if (target.length === 0 || prediction.length === 0) return { ...ZERO };
  const lcs = lcsLength(target, prediction);
  const precision = lcs / prediction.length;
  const recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** rouge-score's `lcs_ind`: indices into `ref` of one LCS, chosen by its exact backtracking order. */
function lcsIndices(ref: Int32Array, can: Int32Array): number[] {
  const rows = ref.length;
  const cols = can.length;
  const w = cols + 1;
  const t = new Int32Array((rows + 1) * w);
  for (let i = 1; i <= rows; i++) {
    const ri = ref[i - 1];
    for (let j = 1; j <= cols; j++) {
      const up = t[(i - 1) * w + j];
      const left = t[i * w + j - 1];
      t[i * w + j] = ri === can[j - 1] ? t[(i - 1) * w + j - 1] + 1 : Math.max(up, left);
    }
  }
  const out: number[] = [];
  let i = rows;
  let j = cols;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if (t[i * w + j - 1] > t[(i - 1) * w + j]) j--;
    else i--;
  }
  return out.reverse();
}

function summaryLevelLcs(refSents: Int32Array[], canSents: Int32Array[]): RougeScore {
  if (refSents.length === 0 || canSents.length === 0) return { ...ZERO };
  let m = 0;
  let n = 0;
  for (const s of refSents) m += s.length;
  for (const s of canSents) n += s.length;
  if (n === 0 || m === 0) return { ...ZERO };
  const cntR = new Map<number, number>();
  const cntC = new Map<number, number>();
  for (const s of refSents) for (const x of s) cntR.set(x, (cntR.get(x) ?? 0) + 1);
  for (const s of canSents) for (const x of s) cntC.set(x, (cntC.get(x) ?? 0) + 1);
  let hits = 0;
  for (const r of refSents) {
    const union = new Set<number>();
    for (const c of canSents) for (const idx of lcsIndices(r, c)) union.add(idx);
    const sorted = [...union].sort((a, b) => a - b);
    for (const idx of sorted) {
      const tok = r[idx];
      const c = cntC.get(tok) ?? 0;
      const rr = cntR.get(tok) ?? 0;
      // Counts shared across sentences keep a token from being credited twice (ROUGE 1.5.5).
      if (c > 0 && rr > 0) {
        hits++;
        cntC.set(tok, c - 1);
        cntR.set(tok, rr - 1);
      }
    }
  }
  const recall = hits / m;
  const precision = hits / n;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Token ids of each "\n"-separated line (split_summaries=False); empty lines are dropped. */
function sentences(text: string, whole: Int32Array, vocab: Vocab, stem: boolean): Int32Array[] {
  // A single line tokenises exactly like the whole text.
  if (!text.includes("\n")) return text.length > 0 ? [whole] : [];
  return text
    .split("\n")
    .filter((s) => s.length > 0)
    .map((s) => vocab.encode(rougeTokenize(s, stem)));
}

function parseN(type: string): number {
  const m = /^rouge([0-9])$/.exec(type);
  if (!m) throw new Error(`Invalid rouge type: ${type}`);
  const n = Number(m[1]);
  if (n <= 0) throw new Error(`rougen requires positive n: ${type}`);
  return n;
}

/** rouge-score `RougeScorer(types, use_stemmer).score(target, prediction)`. Note: target first. */
export function rougeScore(
  target: string,
  prediction: string,
  types: readonly RougeType[],
  opts: RougeOptions = {},
): Record<string, RougeScore> {
  const stem = opts.useStemmer ?? false;
  const vocab = new Vocab();
  let t: Int32Array | undefined;
  let p: Int32Array | undefined;
  const result: Record<string, RougeScore> = {};
  for (const type of types) {
    if (t === undefined || p === undefined) {
      t = vocab.encode(rougeTokenize(target, stem));
      p = vocab.encode(rougeTokenize(prediction, stem));
    }
    if (type === "rougeLsum") {
      result[type] = summaryLevelLcs(
        sentences(target, t, vocab, stem),
        sentences(prediction, p, vocab, stem),
      );
      continue;
    }
    if (type === "rougeL") result[type] = scoreLcs(t, p);
    else result[type] = scoreNgrams(t, p, parseN(type), vocab.size);
  }
  return result;
}

/**
 * rouge-score `score_multi(targets, prediction)`: per type, the target with the highest fmeasure
 * (first one on ties, like `np.argmax`) supplies that type's precision, recall and fmeasure.
 */
export function rougeScoreMulti(
  targets: readonly string[],
  prediction: string,
  types: readonly RougeType[],
  opts: RougeOptions = {},
): Record<string, RougeScore> {
  if (targets.length === 0) throw new Error("rougeScoreMulti needs at least one target");
  const all = targets.map((t) => rougeScore(t, prediction, types, opts));
  const out: Record<string, RougeScore> = {};
  for (const type of types) {
    let best = all[0][type];
    for (let i = 1; i < all.length; i++) if (all[i][type].fmeasure > best.fmeasure) best = all[i][type];
    out[type] = best;
  }
  return out;
}
