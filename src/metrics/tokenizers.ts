/**
 * sacreBLEU 2.6.0 tokenizers, ported for exact parity: BLEU's `13a`, `intl`, `char` and `none`,
 * and the Tercom tokenizer used by TER. Inputs are single segments; all functions are pure.
 */
import { FNV_BASIS, FNV_PRIME } from "./ngram_match.js";
import { isPyWhitespace, pyLower, pyNormalizeSpace } from "./pystr.js";

export type BleuTokenizerName = "13a" | "intl" | "char" | "none";

// mteval-v13a: ASCII punctuation/symbols (and the space itself) become separate tokens.
const RE_13A_PUNCT = /[\x7b-\x7e\x5b-\x60\x20-\x26\x28-\x2b\x3a-\x40\x2f]/g;
// Period and comma are split unless preceded (then followed) by a digit; dash after a digit.
const RE_13A_PERIOD_BEFORE = /([^0-9])([.,])/gu;
const RE_13A_PERIOD_AFTER = /([.,])([^0-9])/gu;
const RE_13A_DASH = /([0-9])(-)/g;

/** sacreBLEU's TokenizerRegexp: the shared post-tokenizer of `13a` (expects the padded line). */
export function tokenizeRegexp(line: string): string {
  line = line.replace(RE_13A_PUNCT, " $& ");
  line = line.replace(RE_13A_PERIOD_BEFORE, "$1 $2 ");
  line = line.replace(RE_13A_PERIOD_AFTER, " $1 $2");
  line = line.replace(RE_13A_DASH, "$1 $2 ");
  return pyNormalizeSpace(line);
}

/** mteval-v13a's language-independent part: `<skipped>`, line breaks and four HTML entities. */
function unescape13a(line: string): string {
  // Each replacement runs only when it can change something; the order is sacreBLEU's.
  if (line.includes("<skipped>")) line = line.replaceAll("<skipped>", "");
  if (line.includes("\n")) line = line.replaceAll("-\n", "").replaceAll("\n", " ");
  if (line.includes("&")) {
    // Order matters: "&amp;lt;" becomes "&lt;", then "<", as in sacreBLEU. TER has the same chain; a
    // helper shared with it made warm corpus BLEU ~40% slower (V8 optimized spans13a differently).
    line = line
      .replaceAll("&quot;", '"')
      .replaceAll("&amp;", "&")
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">");
  }
  return line;
}

/**
 * sacreBLEU `13a` (mteval-v13a) tokenizer with its regular expressions, as sacreBLEU runs them.
 * `tokens13a` computes the same tokens in one pass; this is the reference it is tested against.
 */
export function tokenize13aRegexp(line: string): string {
  return tokenizeRegexp(` ${unescape13a(line)} `);
}

/** sacreBLEU `13a` (mteval-v13a) tokenizer. */
export function tokenize13a(line: string): string {
  return tokens13a(line).join(" ");
}

// Character classes of the one-pass 13a tokenizer.
const C_OTHER = 0;
const C_SPACE = 1; // Python whitespace
const C_PUNCT = 2; // RE_13A_PUNCT: always a token of its own
const C_DOT = 3; // "." and ","
const C_DASH = 4;
const C_DIGIT = 5; // ASCII 0-9 only, as [0-9]
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (isPyWhitespace(c)) ASCII_CLASS[c] = C_SPACE;
  else if (RE_13A_PUNCT.test(ch)) ASCII_CLASS[c] = C_PUNCT;
  else if (ch === "." || ch === ",") ASCII_CLASS[c] = C_DOT;
  else if (ch === "-") ASCII_CLASS[c] = C_DASH;
  else if (ch >= "0" && ch <= "9") ASCII_CLASS[c] = C_DIGIT;
  RE_13A_PUNCT.lastIndex = 0;
}

/** Outside the string is not a digit, like the padding spaces (checked: an out-of-range read deoptimizes). */
const isDigitAt = (s: string, i: number): boolean => {
  if (i < 0 || i >= s.length) return false;
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
};

/**
 * The tokens of sacreBLEU's `13a` tokenizer (`tokenize13a(line).split()`) as spans of the returned
 * string (`line` after `<skipped>`, line-break and entity replacement), in one pass without regular
 * expressions. The four regex passes only insert spaces, so the tokens follow from where
 * spaces end up between neighbouring characters:
 * - around every RE_13A_PUNCT character (pass 1);
 * - around "-" after a digit (pass 4; its matches never overlap);
 * - for a maximal run p1..pr of "." / "," between characters a and b (passes 2 and 3, whose
 *   matches consume characters): between all of p1..pr; between a and p1, and between pr and b,
 *   unless r = 1 and a and b are digits ("3.14"); except that between pr and b there is no space
 *   when b is a digit and r is even after a non-digit a or odd after a digit a ("a..5" → "a . .5").
 * Only ASCII characters take part (Python whitespace aside), so UTF-16 units serve as characters.
 * `test/metrics/fast_paths.test.ts` checks this against `tokenize13aRegexp` (all short strings over the
 * characters that matter, and random ones).
 */
export function spans13a(line: string, out: Spans): string {
  line = unescape13a(line);
  const n = line.length;
  // At most one token per character: room is made once, then tokens are written without calls
  // (calls are what costs most before the JIT has optimized this code, i.e. in a cold run).
  out.reserve(n);
  const starts = out.starts;
  const ends = out.ends;
  const hashes = out.hashes;
  let count = 0;
  let start = -1; // start of the token being read, or -1
  let h = FNV_BASIS; // FNV-1a of the token being read, for the interner (saves it a pass)
  let i = 0;
  while (i < n) {
    const c = line.charCodeAt(i);
    const k = c < 128 ? ASCII_CLASS[c] : isPyWhitespace(c) ? C_SPACE : C_OTHER;
    if (k === C_OTHER || k === C_DIGIT) {
      if (start < 0) {
        start = i;
        h = FNV_BASIS;
      }
      h = Math.imul(h ^ c, FNV_PRIME);
      i++;
    } else if (k === C_SPACE) {
      if (start >= 0) {
        starts[count] = start;
        ends[count] = i;
        hashes[count++] = h;
      }
      start = -1;
      i++;
    } else if (k === C_PUNCT || (k === C_DASH && isDigitAt(line, i - 1))) {
      if (start >= 0) {
        starts[count] = start;
        ends[count] = i;
        hashes[count++] = h;
      }
      starts[count] = i;
      ends[count] = i + 1;
      hashes[count++] = Math.imul(FNV_BASIS ^ c, FNV_PRIME);
      start = -1;
      i++;
    } else if (k === C_DASH) {
      if (start < 0) {
        start = i;
        h = FNV_BASIS;
      }
      h = Math.imul(h ^ c, FNV_PRIME);
      i++;
    } else {
      let j = i + 1;
      while (j < n && (line.charCodeAt(j) === 46 || line.charCodeAt(j) === 44)) j++;
      const odd = ((j - i) & 1) === 1;
      const aDigit = isDigitAt(line, i - 1);
      const bDigit = isDigitAt(line, j);
      if (j - i === 1 && aDigit && bDigit) {
        h = Math.imul(h ^ c, FNV_PRIME); // "3.14": part of the current token (a digit opened it)
        i++;
        continue;
      }
      if (start >= 0) {
        starts[count] = start;
        ends[count] = i;
        hashes[count++] = h;
      }
      for (let q = i; q < j - 1; q++) {
        starts[count] = q;
        ends[count] = q + 1;
        hashes[count++] = Math.imul(FNV_BASIS ^ line.charCodeAt(q), FNV_PRIME);
      }
      const lastHash = Math.imul(FNV_BASIS ^ line.charCodeAt(j - 1), FNV_PRIME);
      if (!bDigit || odd !== aDigit) {
        starts[count] = j - 1;
        ends[count] = j;
        hashes[count++] = lastHash;
        start = -1;
      } else {
        start = j - 1;
        h = lastHash;
      }
      i = j;
    }
  }
  if (start >= 0) {
    starts[count] = start;
    ends[count] = n;
    hashes[count++] = h;
  }
  out.count = count;
  return line;
}

/** Token spans: token k is `line.slice(starts[k], ends[k])`, with FNV-1a hash `hashes[k]`. */
export class Spans {
  // Roomy from the start: growing inside a hot loop costs a deoptimization on first use.
  starts = new Int32Array(4096);
  ends = new Int32Array(4096);
  hashes = new Int32Array(4096);
  count = 0;

  /** Makes room for `n` spans (discarding the current ones). */
  reserve(n: number): void {
    if (n <= this.starts.length) return;
    let size = this.starts.length;
    while (size < n) size *= 2;
    this.starts = new Int32Array(size);
    this.ends = new Int32Array(size);
    this.hashes = new Int32Array(size);
  }
}

const spans = new Spans();

/** The tokens of sacreBLEU's `13a` tokenizer (`tokenize13a(line).split()`); see `spans13a`. */
export function tokens13a(line: string): string[] {
  line = spans13a(line, spans);
  const out = new Array<string>(spans.count);
  for (let k = 0; k < spans.count; k++) out[k] = line.slice(spans.starts[k], spans.ends[k]);
  return out;
}

const RE_INTL_PUNCT_AFTER_NONDIGIT = /(\P{N})(\p{P})/gu;
const RE_INTL_PUNCT_BEFORE_NONDIGIT = /(\p{P})(\P{N})/gu;
const RE_INTL_SYMBOL = /\p{S}/gu;

/** sacreBLEU `intl` (mteval-v14 international) tokenizer: Unicode punctuation and symbols. */
export function tokenizeIntl(line: string): string {
  line = line.replace(RE_INTL_PUNCT_AFTER_NONDIGIT, "$1 $2 ");
  line = line.replace(RE_INTL_PUNCT_BEFORE_NONDIGIT, " $1 $2");
  line = line.replace(RE_INTL_SYMBOL, " $& ");
  return pyNormalizeSpace(line);
}

/** sacreBLEU `char` tokenizer: every code point separated by a space. */
export function tokenizeChar(line: string): string {
  return Array.from(line).join(" ");
}

/** sacreBLEU `none` tokenizer: the identity. */
export function tokenizeNone(line: string): string {
  return line;
}

/** The BLEU tokenizer function for a sacreBLEU tokenizer name. */
export function bleuTokenizer(name: BleuTokenizerName): (line: string) => string {
  switch (name) {
    case "13a":
      return tokenize13a;
    case "intl":
      return tokenizeIntl;
    case "char":
      return tokenizeChar;
    case "none":
      return tokenizeNone;
    default:
      throw new Error(`unknown BLEU tokenizer '${name as string}' (expected 13a, intl, char or none)`);
  }
}

export interface TercomOptions {
  normalized?: boolean;
  noPunct?: boolean;
  asianSupport?: boolean;
  caseSensitive?: boolean;
}

const RE_TER_PUNCT = /[\x7b-\x7e\x5b-\x60\x20-\x26\x28-\x2b\x3a-\x40\x2f]/g;
const RE_TER_POSSESSIVE = /'s /g;
// Python's `$` also matches before a final "\n".
const RE_TER_POSSESSIVE_END = /'s(?=\n?$)/;
const RE_TER_ASIAN_CJK = /[\u4e00-\u9fff\u3400-\u4dbf]/g;
const RE_TER_ASIAN_STROKES = /[\u31c0-\u31ef\u2e80-\u2eff]/g;
const RE_TER_ASIAN_COMPAT = /[\u3300-\u33ff\uf900-\ufaff\ufe30-\ufe4f]/g;
const RE_TER_ASIAN_ENCLOSED = /[\u3200-\u3f22]/g;
// Kana runs are split only when the whole (rest of the) line is one run, as in sacreBLEU's regexes.
const RE_TER_HIRAGANA = /(^|^[\u3040-\u309f])([\u3040-\u309f]+)(?=\n?$|^[\u3040-\u309f])/g;
const RE_TER_KATAKANA = /(^|^[\u30a0-\u30ff])([\u30a0-\u30ff]+)(?=\n?$|^[\u30a0-\u30ff])/g;
const RE_TER_KATAKANA_EXT = /(^|^[\u31f0-\u31ff])([\u31f0-\u31ff]+)(?=\n?$|^[\u31f0-\u31ff])/g;
const RE_TER_ASIAN_PUNCT = /[\u3001\u3002\u3008-\u3011\u3014-\u301f\uff61-\uff65\u30fb]/g;
const RE_TER_FULL_WIDTH_PUNCT = /[\uff0e\uff0c\uff1f\uff1a\uff1b\uff01\uff02\uff08\uff09]/g;
const RE_TER_REMOVE_PUNCT = /[.,?:;!"()]/g;

/** Tercom general and Western normalisation (sacreBLEU `_normalize_general_and_western`). */
function terNormalizeGeneral(sent: string): string {
  sent = sent.replaceAll("\n-", "").replaceAll("\n", " ");
  sent = sent
    .replaceAll("&quot;", '"')
    .replaceAll("&amp;", "&")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">");
  sent = ` ${sent} `;
  sent = sent.replace(RE_TER_PUNCT, " $& ");
  sent = sent.replace(RE_TER_POSSESSIVE, " 's ");
  sent = sent.replace(RE_TER_POSSESSIVE_END, " 's");
  sent = sent.replace(RE_13A_PERIOD_BEFORE, "$1 $2 ");
  sent = sent.replace(RE_13A_PERIOD_AFTER, " $1 $2");
  sent = sent.replace(RE_13A_DASH, "$1 $2 ");
  return sent;
}

/** Tercom CJK normalisation (sacreBLEU `_normalize_asian`). */
function terNormalizeAsian(sent: string): string {
  sent = sent.replace(RE_TER_ASIAN_CJK, " $& ");
  sent = sent.replace(RE_TER_ASIAN_STROKES, " $& ");
  sent = sent.replace(RE_TER_ASIAN_COMPAT, " $& ");
  sent = sent.replace(RE_TER_ASIAN_ENCLOSED, " $& ");
  sent = sent.replace(RE_TER_HIRAGANA, "$1 $2 ");
  sent = sent.replace(RE_TER_KATAKANA, "$1 $2 ");
  sent = sent.replace(RE_TER_KATAKANA_EXT, "$1 $2 ");
  sent = sent.replace(RE_TER_ASIAN_PUNCT, " $& ");
  sent = sent.replace(RE_TER_FULL_WIDTH_PUNCT, " $& ");
  return sent;
}

/** sacreBLEU's TercomTokenizer: optional lowercasing, normalisation and punctuation removal. */
export function tokenizeTercom(sent: string, opts: TercomOptions = {}): string {
  if (!sent) return "";
  if (!opts.caseSensitive) sent = pyLower(sent);
  if (opts.normalized) {
    sent = terNormalizeGeneral(sent);
    if (opts.asianSupport) sent = terNormalizeAsian(sent);
  }
  if (opts.noPunct) {
    sent = sent.replace(RE_TER_REMOVE_PUNCT, "");
    if (opts.asianSupport) sent = sent.replace(RE_TER_ASIAN_PUNCT, "").replace(RE_TER_FULL_WIDTH_PUNCT, "");
  }
  return pyNormalizeSpace(sent);
}
