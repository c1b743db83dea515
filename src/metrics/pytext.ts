/**
 * Python numeric behaviours the NLTK BLEU port depends on that JS lacks: `math.fsum` and correctly
 * rounded int / int true division (also `float(Fraction)`). String helpers live in `pystr.ts`.
 */

/**
 * Python's `math.fsum`: the correctly rounded sum of `xs` (Shewchuk's algorithm as in CPython's
 * mathmodule.c). Non-finite inputs fall back to plain addition.
 */
export function fsum(xs: Iterable<number>): number {
  const partials: number[] = [];
  let special = 0;
  for (let x of xs) {
    if (!Number.isFinite(x)) {
      special += x;
      continue;
    }
    let i = 0;
    for (let j = 0; j < partials.length; j++) {
      let y = partials[j];
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    if (x !== 0) partials.push(x);
  }
  if (special !== 0 || Number.isNaN(special)) return special;
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n];
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n];
    hi = x + y;
    const yr = hi - x;
    lo = y - yr;
    if (lo !== 0) break;
  }
  // Round half-even across the remaining partials, as CPython does.
  if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    const yr = x - hi;
    if (y === yr) hi = x;
  }
  return hi;
}

function bitLength(n: bigint): number {
  return n.toString(2).length;
}

const TWO53 = 1n << 53n;

/** `n / d` correctly rounded to a double, like Python's int true division and `float(Fraction)`. */
export function ratioToNumber(n: bigint, d: bigint): number {
  if (d === 0n) throw new RangeError("division by zero");
  if (n === 0n) return 0;
  let neg = false;
  if (n < 0n) {
    n = -n;
    neg = !neg;
  }
  if (d < 0n) {
    d = -d;
    neg = !neg;
  }
  if (n <= TWO53 && d <= TWO53) {
    const v = Number(n) / Number(d);
    return neg ? -v : v;
  }
  // Get a quotient of at least 64 bits; a nonzero remainder becomes a sticky low bit, far below the
  // 53-bit rounding point, so the single BigInt -> Number rounding is the correct one.
  const shift = 64 - (bitLength(n) - bitLength(d));
  let q: bigint;
  let r: bigint;
  if (shift >= 0) {
    const nn = n << BigInt(shift);
    q = nn / d;
    r = nn % d;
  } else {
    const dd = d << BigInt(-shift);
    q = n / dd;
    r = n % dd;
  }
  if (r !== 0n) q |= 1n;
  const v = Number(q) * 2 ** -shift;
  return neg ? -v : v;
}
