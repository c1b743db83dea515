/**
 * BLEU exactly as NLTK 3.8's `nltk.translate.bleu_score` computes it, quirks included:
 * - per-sentence denominators are `max(1, count)`;
 * - `method0` turns a zero precision into `sys.float_info.min` (tiny positive scores);
 * - zero precisions left by the other methods are silently dropped from the geometric mean;
 * - in `corpus_bleu`, `method4` uses the total hypothesis length while `method5`/`method6` look at the
 *   last (references, hypothesis) pair only.
 * Precisions are exact rationals until a smoothing method turns them into floats, following Python's
 * `Fraction`/`int`/`float` arithmetic, so results agree with NLTK to the last bit or so.
 */

import { ngramCounts, sortedNgramKeys } from "./ngram_keys.js";
import { pyLower, pySplit } from "./pystr.js";
import { fsum, ratioToNumber } from "./pytext.js";

export type NltkSmoothing =
  | "method0"
  | "method1"
  | "method2"
  | "method3"
  | "method4"
  | "method5"
  | "method6"
  | "method7";

export interface NltkBleuOptions {
  /** n-gram weights; default `[0.25, 0.25, 0.25, 0.25]`. */
  weights?: readonly number[];
  /** `SmoothingFunction().<method>`; default `method0` (no smoothing). */
  smoothing?: NltkSmoothing;
  /** `SmoothingFunction(epsilon, alpha, k)` arguments; defaults 0.1, 5, 5. Integers behave as Python ints. */
  epsilon?: number;
  alpha?: number;
  k?: number;
  /** Re-weight uniformly when the total hypothesis length is < 4 and the weights are the default. */
  autoReweigh?: boolean;
}

/** The golden/reference preprocessing `text.lower().split()` with Python semantics. */
export function nltkTokenize(text: string): string[] {
  return pySplit(pyLower(text));
}

// ---- Python numbers: float (number), int (bigint) and Fraction (Rat) -------------------------------

interface Rat {
  n: bigint;
  d: bigint;
}
type PyNum = number | bigint | Rat;

const isRat = (x: PyNum): x is Rat => typeof x === "object";

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** A normalised Fraction, as Python's arithmetic returns. */
function frac(n: bigint, d: bigint): Rat {
  if (d === 0n) throw new RangeError("ZeroDivisionError: Fraction(_, 0)");
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const g = gcd(n, d);
  return g > 1n ? { n: n / g, d: d / g } : { n, d };
}

function toFloat(x: PyNum): number {
  if (typeof x === "number") return x;
  if (typeof x === "bigint") return Number(x);
  return ratioToNumber(x.n, x.d);
}

const asRat = (x: bigint | Rat): Rat => (typeof x === "bigint" ? { n: x, d: 1n } : x);

function add(a: PyNum, b: PyNum): PyNum {
  if (typeof a === "number" || typeof b === "number") return toFloat(a) + toFloat(b);
  if (typeof a === "bigint" && typeof b === "bigint") return a + b;
  const x = asRat(a);
  const y = asRat(b);
  return frac(x.n * y.d + y.n * x.d, x.d * y.d);
}

function mul(a: PyNum, b: PyNum): PyNum {
  if (typeof a === "number" || typeof b === "number") return toFloat(a) * toFloat(b);
  if (typeof a === "bigint" && typeof b === "bigint") return a * b;
  const x = asRat(a);
  const y = asRat(b);
  return frac(x.n * y.n, x.d * y.d);
}

function div(a: PyNum, b: PyNum): PyNum {
  if (typeof a === "number" || typeof b === "number") return toFloat(a) / toFloat(b);
  // int / int is true division: a correctly rounded float.
  if (typeof a === "bigint" && typeof b === "bigint") return ratioToNumber(a, b);
  const x = asRat(a);
  const y = asRat(b);
  return frac(x.n * y.d, x.d * y.n);
}

function square(a: PyNum): PyNum {
  if (typeof a === "number") return a * a;
  if (typeof a === "bigint") return a * a;
  // Fraction ** int keeps the operands unnormalised.
  return { n: a.n * a.n, d: a.d * a.d };
}

function isPositive(a: PyNum): boolean {
  if (typeof a === "number") return a > 0;
  if (typeof a === "bigint") return a > 0n;
  return a.d > 0n ? a.n > 0n : a.n < 0n;
}

/** Python `x == 0`; for a Fraction it compares raw numerator and denominator with 0 and 1. */
function eqZero(a: PyNum): boolean {
  if (typeof a === "number") return a === 0;
  if (typeof a === "bigint") return a === 0n;
  return a.n === 0n && a.d === 1n;
}

/** Python truthiness. */
const truthy = (a: PyNum): boolean => (isRat(a) ? a.n !== 0n : typeof a === "bigint" ? a !== 0n : a !== 0);

/** A Python number for a user-given parameter: integers act as ints, anything else as a float. */
const param = (x: number): PyNum => (Number.isInteger(x) ? BigInt(x) : x);

// ---- n-gram statistics ----------------------------------------------------------------------------

interface Encoded {
  refs: Int32Array[];
  hyp: Int32Array;
  base: number;
}

function encode(references: readonly (readonly string[])[], hypothesis: readonly string[]): Encoded {
  const ids = new Map<string, number>();
  const enc = (toks: readonly string[]): Int32Array => {
    const out = new Int32Array(toks.length);
    for (let i = 0; i < toks.length; i++) {
      let id = ids.get(toks[i]);
      if (id === undefined) ids.set(toks[i], (id = ids.size));
      out[i] = id;
    }
    return out;
  };
  const hyp = enc(hypothesis);
  const refs = references.map(enc);
  return { refs, hyp, base: Math.max(ids.size, 2) };
}

/** NLTK `modified_precision` as (numerator, denominator), denominator = max(1, hypothesis n-grams). */
function modifiedPrecisionEncoded(e: Encoded, n: number): [number, number] {
  const total = Math.max(0, e.hyp.length - n + 1);
  if (total === 0) return [0, 1];
  const h = sortedNgramKeys(e.hyp, n, e.base);
  if (h === null) return modifiedPrecisionMaps(e, n);
  // Distinct hypothesis n-grams with their counts, then the largest count in any one reference.
  const uniq: number[] = [];
  const cnt: number[] = [];
  for (let i = 0; i < h.length; i++) {
    if (i > 0 && h[i] === h[i - 1]) cnt[cnt.length - 1]++;
    else {
      uniq.push(h[i]);
      cnt.push(1);
    }
  }
  const maxRef = new Array<number>(uniq.length).fill(0);
  for (const ref of e.refs) {
    const r = sortedNgramKeys(ref, n, e.base)!;
    let j = 0;
    for (let k = 0; k < uniq.length && j < r.length; k++) {
      while (j < r.length && r[j] < uniq[k]) j++;
      let c = 0;
      while (j < r.length && r[j] === uniq[k]) {
        c++;
        j++;
      }
      if (c > maxRef[k]) maxRef[k] = c;
    }
  }
  let numerator = 0;
  for (let k = 0; k < uniq.length; k++) numerator += Math.min(cnt[k], maxRef[k]);
  return [numerator, total];
}

function modifiedPrecisionMaps(e: Encoded, n: number): [number, number] {
  const counts = ngramCounts(e.hyp, n);
  const maxCounts = new Map<string, number>();
  for (const ref of e.refs) {
    const rc = ngramCounts(ref, n);
    for (const key of counts.keys()) {
      const c = rc.get(key) ?? 0;
      if (c > (maxCounts.get(key) ?? 0)) maxCounts.set(key, c);
    }
  }
  let numerator = 0;
  let total = 0;
  for (const [key, c] of counts) {
    numerator += Math.min(c, maxCounts.get(key) ?? 0);
    total += c;
  }
  return [numerator, Math.max(1, total)];
}

/** NLTK `modified_precision(references, hypothesis, n)` as `[numerator, denominator]` (unreduced). */
export function nltkModifiedPrecision(
  references: readonly (readonly string[])[],
  hypothesis: readonly string[],
  n: number,
): [number, number] {
  return modifiedPrecisionEncoded(encode(references, hypothesis), n);
}

/** NLTK `closest_ref_length`: the reference length nearest the hypothesis length, shorter on ties. */
export function nltkClosestRefLength(references: readonly { length: number }[], hypLen: number): number {
  let best = -1;
  for (const r of references) {
    const len = r.length;
    if (
      best < 0 ||
      Math.abs(len - hypLen) < Math.abs(best - hypLen) ||
      (Math.abs(len - hypLen) === Math.abs(best - hypLen) && len < best)
    )
      best = len;
  }
  if (best < 0) throw new Error("closest_ref_length: no references");
  return best;
}

/** NLTK `brevity_penalty(closest_ref_len, hyp_len)`. */
export function nltkBrevityPenalty(closestRefLen: number, hypLen: number): number {
  if (hypLen > closestRefLen) return 1;
  if (hypLen === 0) return 0;
  return Math.exp(1 - closestRefLen / hypLen);
}

// ---- smoothing ------------------------------------------------------------------------------------

const FLOAT_MIN = 2.2250738585072014e-308; // sys.float_info.min

interface SmoothCtx {
  epsilon: number;
  alpha: number;
  k: number;
  last: Encoded;
  hypLen: number;
}

function smooth(method: NltkSmoothing, pn: PyNum[], ctx: SmoothCtx): PyNum[] {
  const numOf = (p: PyNum): bigint => (p as Rat).n;
  const denOf = (p: PyNum): bigint => (p as Rat).d;
  switch (method) {
    case "method0":
      return pn.map((p) => (numOf(p) !== 0n ? p : FLOAT_MIN));
    case "method1":
      return pn.map((p) => (numOf(p) === 0n ? toFloat(add(param(ctx.epsilon), 0n)) / Number(denOf(p)) : p));
    case "method2":
      return pn.map((p, i) => (i === 0 ? p : { n: numOf(p) + 1n, d: denOf(p) + 1n }));
    case "method3": {
      let inc = 1;
      return pn.map((p) => {
        if (isRat(p) && p.n === 0n) return ratioToNumber(1n, 2n ** BigInt(inc++) * p.d);
        return p;
      });
    }
    case "method4": {
      let inc = 1;
      const hypLen = ctx.hypLen || ctx.last.hyp.length;
      return pn.map((p) => {
        if (isRat(p) && p.n === 0n && hypLen > 1) {
          const scaled = toFloat(mul(2n ** BigInt(inc++), param(ctx.k)));
          const numerator = 1 / (scaled / Math.log(hypLen));
          return numerator / Number(p.d);
        }
        return p;
      });
    }
    case "method5": {
      const [n5, d5] = modifiedPrecisionEncoded(ctx.last, 5);
      const plus1: PyNum[] = [...pn, { n: BigInt(n5), d: BigInt(d5) }];
      const out = [...pn];
      let prev = add(pn[0], 1n);
      for (let i = 0; i < pn.length; i++) {
        out[i] = div(add(add(prev, pn[i]), plus1[i + 1]), 3n);
        prev = out[i];
      }
      return out;
    }
    case "method6": {
      if (pn.length < 3) throw new RangeError("method6 needs at least 3 n-gram orders");
      if (!truthy(pn[2])) throw new Error("This smoothing method requires non-zero precision for bigrams.");
      const out = [...pn];
      const alpha = param(ctx.alpha);
      for (let i = 2; i < pn.length; i++) {
        const pi0: PyNum = eqZero(out[i - 2]) ? 0n : div(square(out[i - 1]), out[i - 2]);
        const m = numOf(pn[i]);
        const l = BigInt(Math.max(0, ctx.last.hyp.length - i));
        out[i] = div(add(m, mul(alpha, pi0)), add(l, alpha));
      }
      return out;
    }
    case "method7": {
      const p4 = smooth("method4", pn, ctx);
      return smooth("method5", p4, ctx);
    }
    default:
      throw new Error(`unknown smoothing method: ${method as string}`);
  }
}

// ---- BLEU -----------------------------------------------------------------------------------------

const DEFAULT_WEIGHTS = [0.25, 0.25, 0.25, 0.25] as const;

/**
 * NLTK `corpus_bleu(list_of_references, hypotheses, weights, smoothing_function, auto_reweigh)` over
 * pre-tokenised input. Returns a float in [0, 1].
 */
export function nltkCorpusBleu(
  listOfReferences: readonly (readonly (readonly string[])[])[],
  hypotheses: readonly (readonly string[])[],
  opts: NltkBleuOptions = {},
): number {
  if (listOfReferences.length !== hypotheses.length)
    throw new Error("The number of hypotheses and their reference(s) should be the same");
  if (hypotheses.length === 0) throw new Error("corpus_bleu needs at least one hypothesis");
  const weights = opts.weights ?? DEFAULT_WEIGHTS;
  const maxN = weights.length;
  const nums = new Array<number>(maxN).fill(0);
  const dens = new Array<number>(maxN).fill(0);
  let hypLengths = 0;
  let refLengths = 0;
  let last: Encoded | undefined;
  for (let s = 0; s < hypotheses.length; s++) {
    const e = encode(listOfReferences[s], hypotheses[s]);
    for (let n = 1; n <= maxN; n++) {
      const [num, den] = modifiedPrecisionEncoded(e, n);
      nums[n - 1] += num;
      dens[n - 1] += den;
    }
    hypLengths += e.hyp.length;
    refLengths += nltkClosestRefLength(e.refs, e.hyp.length);
    last = e;
  }
  const bp = nltkBrevityPenalty(refLengths, hypLengths);
  // No matching unigram: NLTK returns exactly 0 whatever the smoothing.
  if (nums[0] === 0) return 0;

  let pn: PyNum[] = nums.map((n, i) => ({ n: BigInt(n), d: BigInt(dens[i]) }));
  pn = smooth(opts.smoothing ?? "method0", pn, {
    epsilon: opts.epsilon ?? 0.1,
    alpha: opts.alpha ?? 5,
    k: opts.k ?? 5,
    last: last!,
    hypLen: hypLengths,
  });

  let weight: readonly number[] = weights;
  if (
    opts.autoReweigh &&
    hypLengths < 4 &&
    weights.length === 4 &&
    weights.every((w) => w === 0.25) // `weight == (0.25, 0.25, 0.25, 0.25)`
  )
    weight = new Array<number>(hypLengths).fill(1 / hypLengths);

  const terms: number[] = [];
  const len = Math.min(weight.length, pn.length);
  for (let i = 0; i < len; i++) if (isPositive(pn[i])) terms.push(weight[i] * Math.log(toFloat(pn[i])));
  return bp * Math.exp(fsum(terms));
}

/** NLTK `sentence_bleu(references, hypothesis, ...)` over pre-tokenised input. */
export function nltkSentenceBleu(
  references: readonly (readonly string[])[],
  hypothesis: readonly string[],
  opts: NltkBleuOptions = {},
): number {
  return nltkCorpusBleu([references], [hypothesis], opts);
}
