/**
 * Python `str` semantics for ports of Python metrics: whitespace (`str.isspace`), `split()`,
 * `strip()`, `lower()`, code-point length/indexing and `f"{x:.Nf}"` formatting.
 * JS differs: `\s` includes U+FEFF but not U+001C–U+001F or U+0085, strings index UTF-16 units,
 * and `toFixed` rounds exact ties away from zero where Python rounds half to even.
 */

/** Python's whitespace set (`str.isspace()`), all in the BMP. */
export const PY_WHITESPACE =
  "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000";

// Lookup table over the BMP range that holds Python whitespace (max U+3000).
const WS_TABLE = new Uint8Array(0x3001);
for (let i = 0; i < PY_WHITESPACE.length; i++) WS_TABLE[PY_WHITESPACE.charCodeAt(i)] = 1;

/** True when the UTF-16 unit / code point `c` is Python whitespace. */
export function isPyWhitespace(c: number): boolean {
  return c <= 0x3000 && WS_TABLE[c] === 1;
}

/** Python `s.split()` with no argument: split on runs of whitespace, no empty pieces. */
export function pySplit(s: string): string[] {
  const out: string[] = [];
  const n = s.length;
  let start = -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x3000 && WS_TABLE[c] === 1) {
      if (start >= 0) {
        out.push(s.slice(start, i));
        start = -1;
      }
    } else if (start < 0) start = i;
  }
  if (start >= 0) out.push(s.slice(start));
  return out;
}

/** Python `" ".join(s.split())`: collapse whitespace runs to one space and trim. */
export function pyNormalizeSpace(s: string): string {
  return pySplit(s).join(" ");
}

/** Python `s.rstrip()` with no argument. */
export function pyRStrip(s: string): string {
  let end = s.length;
  while (end > 0 && isPyWhitespace(s.charCodeAt(end - 1))) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** Python `s.lstrip()` with no argument. */
export function pyLStrip(s: string): string {
  let start = 0;
  while (start < s.length && isPyWhitespace(s.charCodeAt(start))) start++;
  return start === 0 ? s : s.slice(start);
}

/** Python `s.strip()` with no argument. */
export function pyStrip(s: string): string {
  return pyLStrip(pyRStrip(s));
}

// Code points that have a lowercase mapping in newer Unicode than Python 3.11's 14.0 (which leaves
// them unchanged) but that recent ICU builds map; JS toLowerCase otherwise agrees with str.lower().
const LOWER_KEEP =
  /[\u1c89\ua7cb\ua7cc\ua7ce\ua7d2\ua7d4\ua7da\ua7dc\u{10d50}-\u{10d65}\u{16ea0}-\u{16eb8}]/u;
const LOWER_SPLIT =
  /([\u1c89\ua7cb\ua7cc\ua7ce\ua7d2\ua7d4\ua7da\ua7dc\u{10d50}-\u{10d65}\u{16ea0}-\u{16eb8}])/u;

/** Python 3.11 `s.lower()` (full case mapping, final sigma; Unicode 14 mappings). */
export function pyLower(s: string): string {
  if (!LOWER_KEEP.test(s)) return s.toLowerCase();
  // Lowercase around the kept characters; final-sigma context across them is not preserved,
  // which only matters for text mixing Greek with scripts added after Unicode 14.
  return s
    .split(LOWER_SPLIT)
    .map((part, i) => (i % 2 === 1 ? part : part.toLowerCase()))
    .join("");
}

/** Python `len(s)`: number of code points. */
export function pyLen(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** The code points of `s` as one-character strings (Python `list(s)`). */
export function pyChars(s: string): string[] {
  return Array.from(s);
}

/** Exact value of a finite double as numerator / 2^shift. */
function exactBinary(x: number): { num: bigint; shift: bigint } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & 0xfffffffffffffn;
  if (exp !== 0) mant |= 1n << 52n;
  const e = (exp === 0 ? 1 : exp) - 1075;
  return e >= 0 ? { num: mant << BigInt(e), shift: 0n } : { num: mant, shift: BigInt(-e) };
}

/** Python `f"{x:.{digits}f}"`: exact decimal rounding, ties to even. */
export function pyFormatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const neg = x < 0 || Object.is(x, -0);
  const { num, shift } = exactBinary(Math.abs(x));
  const den = 1n << shift;
  const scaled = num * 10n ** BigInt(digits);
  let q = scaled / den;
  const twiceRem = (scaled % den) * 2n;
  if (twiceRem > den || (twiceRem === den && q % 2n === 1n)) q += 1n;
  let text = q.toString();
  if (digits > 0) {
    text = text.padStart(digits + 1, "0");
    text = `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  }
  return neg ? `-${text}` : text;
}
