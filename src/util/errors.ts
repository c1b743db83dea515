/**
 * Errors caused by the user's input (files, options, specs, unreachable servers).
 * The CLI prints these as one clear line and exits non-zero; anything else is a bug.
 */
export interface Where {
  /** File the problem is in. */
  file?: string;
  /** 1-based line number inside `file`. */
  line?: number;
  /** Field, key or option name. */
  field?: string;
  /** What was expected instead. */
  expected?: string;
  /** Extra hint, such as the nearest valid names. */
  hint?: string;
}

export class UserError extends Error {
  readonly where: Where;
  constructor(message: string, where: Where = {}) {
    super(message);
    this.name = "UserError";
    this.where = where;
  }

  /** `file:line: field: message (expected ...). hint` */
  format(): string {
    const { file, line, field, expected, hint } = this.where;
    let loc = file ?? "";
    if (file && line !== undefined) loc += `:${line}`;
    const parts: string[] = [];
    if (loc) parts.push(`${loc}:`);
    if (field) parts.push(`${field}:`);
    parts.push(this.message);
    let out = parts.join(" ");
    if (expected) out += ` (expected ${expected})`;
    if (hint) out += `. ${hint}`;
    return out;
  }
}

/** Levenshtein distance on short names; used to suggest the nearest valid names. */
function nameDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The valid names closest to `name`, best first (at most `max`). */
export function nearestNames(name: string, valid: Iterable<string>, max = 3): string[] {
  const scored = [...valid].map((v) => ({ v, d: nameDistance(name.toLowerCase(), v.toLowerCase()) }));
  scored.sort((x, y) => x.d - y.d || x.v.localeCompare(y.v));
  const limit = Math.max(2, Math.ceil(name.length / 2));
  return scored
    .filter((s) => s.d <= limit)
    .slice(0, max)
    .map((s) => s.v);
}

/** A hint naming the nearest valid names, or listing them all when few. */
export function didYouMean(name: string, valid: Iterable<string>): string {
  const all = [...valid];
  const near = nearestNames(name, all);
  if (near.length > 0) return `did you mean ${near.map((n) => `'${n}'`).join(", ")}?`;
  return all.length <= 12 ? `valid: ${all.join(", ")}` : "";
}
