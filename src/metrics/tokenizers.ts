/**
 * sacreBLEU 2.6.0 tokenizers, ported for exact parity: BLEU's `13a`, `intl`, `char` and `none`,
 * and the Tercom tokenizer used by TER. Inputs are single segments; all functions are pure.
 */
import { pyLower, pyNormalizeSpace } from "./pystr.js";

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

/** sacreBLEU `13a` (mteval-v13a) tokenizer. */
export function tokenize13a(line: string): string {
  line = line.replaceAll("<skipped>", "").replaceAll("-\n", "").replaceAll("\n", " ");
  if (line.includes("&")) {
    // Order matters: "&amp;lt;" becomes "&lt;", then "<", as in sacreBLEU.
    line = line
      .replaceAll("&quot;", '"')
      .replaceAll("&amp;", "&")
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">");
  }
  return tokenizeRegexp(` ${line} `);
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
