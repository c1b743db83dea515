/**
 * Argument checks for the metric library functions: a wrong type throws a TypeError, a value out of
 * range (or an unknown option name) a RangeError, each naming the metric, the argument and what was
 * expected. `undefined` (and `null` where noted) means "use the default".
 */

/** A short description of a value's type for error messages. */
export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "string") return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "number") return `number ${v}`;
  return typeof v;
}

/** Checks that `opts` is an object whose keys are all in `known`. */
export function checkOptionNames(metric: string, opts: unknown, known: readonly string[]): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== "object" || Array.isArray(opts))
    throw new TypeError(`${metric}: options must be an object, got ${typeName(opts)}`);
  for (const key of Object.keys(opts))
    if (!known.includes(key))
      throw new RangeError(`${metric}: unknown option '${key}' (expected one of: ${known.join(", ")})`);
}

export function optBool(metric: string, name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean")
    throw new TypeError(`${metric}: ${name} must be true or false, got ${typeName(v)}`);
  return v;
}

/** An integer ≥ min. */
export function optInt(metric: string, name: string, v: unknown, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number") throw new TypeError(`${metric}: ${name} must be a number, got ${typeName(v)}`);
  if (!Number.isInteger(v) || v < min)
    throw new RangeError(`${metric}: ${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

/** A finite number passing `ok` (described by `expected`). */
export function optNum(
  metric: string,
  name: string,
  v: unknown,
  dflt: number,
  ok: (x: number) => boolean,
  expected: string,
): number {
  if (v === undefined) return dflt;
  if (typeof v !== "number") throw new TypeError(`${metric}: ${name} must be a number, got ${typeName(v)}`);
  if (!Number.isFinite(v) || !ok(v)) throw new RangeError(`${metric}: ${name} must be ${expected}, got ${v}`);
  return v;
}

export function optChoice<T extends string>(
  metric: string,
  name: string,
  v: unknown,
  dflt: T,
  choices: readonly T[],
): T {
  if (v === undefined) return dflt;
  if (typeof v !== "string")
    throw new TypeError(`${metric}: ${name} must be one of ${choices.join(", ")}, got ${typeName(v)}`);
  if (!choices.includes(v as T))
    throw new RangeError(`${metric}: unknown ${name} '${v}' (expected one of: ${choices.join(", ")})`);
  return v as T;
}

/** Checks a corpus: a hypothesis array and one reference list per hypothesis. */
export function checkCorpus(metric: string, hyps: unknown, refs: unknown): void {
  if (!Array.isArray(hyps))
    throw new TypeError(`${metric}: hypotheses must be an array, got ${typeName(hyps)}`);
  if (!Array.isArray(refs))
    throw new TypeError(`${metric}: references must be an array of reference lists, got ${typeName(refs)}`);
  if (hyps.length !== refs.length)
    throw new RangeError(
      `${metric}: ${hyps.length} hypotheses but ${refs.length} reference lists (refs[i] holds the references of hyps[i])`,
    );
}

/** Checks one hypothesis string; `what` names it, or is its corpus index (the message is built on failure only). */
export function checkHyp(metric: string, hyp: unknown, what: string | number): void {
  if (typeof hyp !== "string")
    throw new TypeError(
      `${metric}: ${typeof what === "number" ? `hyps[${what}]` : what} must be a string, got ${typeName(hyp)}`,
    );
}

/** Checks one segment's references: a non-empty array of strings (`what` as for checkHyp). */
export function checkRefs(metric: string, refs: unknown, what: string | number): void {
  if (!Array.isArray(refs))
    throw new TypeError(
      `${metric}: ${refsName(what)} must be an array of reference strings, got ${typeName(refs)}`,
    );
  if (refs.length === 0)
    throw new RangeError(`${metric}: ${refsName(what)} has no reference (at least one is needed)`);
  for (let i = 0; i < refs.length; i++)
    if (typeof refs[i] !== "string")
      throw new TypeError(
        `${metric}: ${refsName(what)}[${i}] must be a reference string, got ${typeName(refs[i])}`,
      );
}

const refsName = (what: string | number): string => (typeof what === "number" ? `refs[${what}]` : what);
