/**
 * Parsers for judge outputs. A parser either returns a value or says why it could not; nothing is
 * guessed: an out-of-scale rating, two different verdicts or a missing criterion is a failure.
 */
import type { OutputFormat, Scale } from "./prompts.js";

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

/** A verdict in position terms: the first shown answer (A), the second (B) or a tie. */
export type Position = "A" | "B" | "tie";

export interface VerdictValue {
  position: Position;
  /** Arena-Hard's `>>`: a significant preference. */
  strong: boolean;
  /** The label as written, e.g. `A>>B` or `C`. */
  label: string;
}

const RATING = /\[\[\s*(\d+(?:\.\d+)?)\s*\]\]/g;
// FastChat's fallback for judges that write `[7]`.
const RATING_BACKUP = /\[(\d+\.?\d*)\]/g;

function distinct(values: string[]): string[] {
  return [...new Set(values)];
}

/**
 * FastChat's `[[rating]]` (falling back to `[rating]` as FastChat does). Several different ratings
 * are ambiguous, and a rating outside the scale is a failure, not clipped.
 */
export function parseRating(text: string, scale: Scale): Parsed<number> {
  let found = [...text.matchAll(RATING)].map((m) => m[1]);
  if (found.length === 0) found = [...text.matchAll(RATING_BACKUP)].map((m) => m[1]);
  const values = distinct(found.map((v) => String(Number(v))));
  if (values.length === 0) return fail('no "[[rating]]" in the judgment');
  if (values.length > 1) return fail(`ambiguous: several ratings (${values.join(", ")})`);
  return inScale(Number(values[0]), scale);
}

function inScale(v: number, scale: Scale): Parsed<number> {
  if (!(v >= scale.min && v <= scale.max))
    return fail(`rating ${v} is outside the scale ${scale.min}-${scale.max}`);
  return { ok: true, value: v };
}

/** Prometheus's `[RESULT] n` (the last one wins only if all agree). */
export function parseResult(text: string, scale: Scale): Parsed<number> {
  const values = distinct(
    [...text.matchAll(/\[RESULT\]\s*\(?\s*(\d+(?:\.\d+)?)/g)].map((m) => String(Number(m[1]))),
  );
  if (values.length === 0) return fail('no "[RESULT] n" in the judgment');
  if (values.length > 1) return fail(`ambiguous: several results (${values.join(", ")})`);
  return inScale(Number(values[0]), scale);
}

/**
 * FastChat's `[[A]]`, `[[B]]`, `[[C]]` (tie). FastChat takes the first of A, B, C found; a judgment
 * that contains two different verdicts is reported ambiguous here instead of read in that order.
 */
export function parseVerdictABC(text: string): Parsed<VerdictValue> {
  const labels = distinct([...text.matchAll(/\[\[\s*([ABC])\s*\]\]/g)].map((m) => m[1]));
  if (labels.length === 0) return fail('no "[[A]]", "[[B]]" or "[[C]]" verdict in the judgment');
  if (labels.length > 1)
    return fail(`ambiguous: several verdicts (${labels.map((l) => `[[${l}]]`).join(", ")})`);
  const l = labels[0];
  return {
    ok: true,
    value: { position: l === "A" ? "A" : l === "B" ? "B" : "tie", strong: false, label: l },
  };
}

const ARENA_LABELS: Record<string, { position: Position; strong: boolean }> = {
  "A>>B": { position: "A", strong: true },
  "A>B": { position: "A", strong: false },
  "A=B": { position: "tie", strong: false },
  "B>A": { position: "B", strong: false },
  "B>>A": { position: "B", strong: true },
  // Equivalent spellings judges produce.
  "B<<A": { position: "A", strong: true },
  "B<A": { position: "A", strong: false },
  "B=A": { position: "tie", strong: false },
  "A<B": { position: "B", strong: false },
  "A<<B": { position: "B", strong: true },
};

/** Arena-Hard's `[[A>>B]]` … `[[B>>A]]`; as Arena-Hard does, several different labels are a failure. */
export function parseVerdictArena(text: string): Parsed<VerdictValue> {
  const found = distinct(
    [...text.matchAll(/\[\[\s*([AB<>=\s]+?)\s*\]\]/g)].map((m) => m[1].replace(/\s+/g, "")),
  );
  const known = found.filter((l) => l in ARENA_LABELS);
  const meanings = distinct(
    known.map((l) => `${ARENA_LABELS[l].position}${ARENA_LABELS[l].strong ? "!" : ""}`),
  );
  if (known.length === 0) return fail('no "[[A>B]]"-style verdict label in the judgment');
  if (meanings.length > 1)
    return fail(`ambiguous: several verdict labels (${known.map((l) => `[[${l}]]`).join(", ")})`);
  const label = known[0];
  return { ok: true, value: { ...ARENA_LABELS[label], label } };
}

export interface CriterionSpec {
  name: string;
  scale: Scale;
}

/** The JSON object in a judgment: a ```json fence, else the outermost braces. */
export function extractJson(text: string): Parsed<unknown> {
  const fence = /```(?:json)?\s*\n?([\s\S]*?)```/i.exec(text);
  const candidates: string[] = [];
  if (fence) candidates.push(fence[1]);
  const first = text.indexOf("{");
  const last = text.lastIndexOf("}");
  if (first >= 0 && last > first) candidates.push(text.slice(first, last + 1));
  if (candidates.length === 0) return fail("no JSON object in the judgment");
  let lastError = "";
  for (const c of candidates) {
    try {
      return { ok: true, value: JSON.parse(c) };
    } catch (e) {
      lastError = (e as Error).message;
    }
  }
  return fail(`malformed JSON: ${lastError}`);
}

/**
 * Criterion scores from JSON: `{name: n}`, `{name: {score: n}}`, either under `scores`/`criteria`,
 * or `{criteria: [{name, score}]}`. Every criterion must be present, numeric and on its scale.
 */
export function parseCriteriaJson(
  text: string,
  criteria: readonly CriterionSpec[],
): Parsed<Record<string, number>> {
  const j = extractJson(text);
  if (!j.ok) return j;
  let obj = j.value as any;
  if (obj === null || typeof obj !== "object") return fail("the JSON is not an object");
  if (Array.isArray(obj.criteria))
    obj = Object.fromEntries(obj.criteria.map((c: any) => [c?.name ?? c?.criterion, c]));
  else if (obj.scores && typeof obj.scores === "object") obj = obj.scores;
  else if (obj.criteria && typeof obj.criteria === "object") obj = obj.criteria;
  const out: Record<string, number> = {};
  for (const c of criteria) {
    let v = obj[c.name];
    if (v !== null && typeof v === "object") v = v.score ?? v.rating;
    if (typeof v === "string" && /^\s*\d+(\.\d+)?\s*$/.test(v)) v = Number(v);
    if (v === undefined) return fail(`no score for criterion '${c.name}'`);
    if (typeof v !== "number" || !Number.isFinite(v))
      return fail(`score of criterion '${c.name}' is not a number: ${JSON.stringify(v)?.slice(0, 40)}`);
    const s = inScale(v, c.scale);
    if (!s.ok) return fail(`criterion '${c.name}': ${s.error}`);
    out[c.name] = v;
  }
  return { ok: true, value: out };
}

/** Parser of a single-answer format; JSON needs the criteria, so it is parsed by the rubric judge. */
export function scoreParser(format: OutputFormat, scale: Scale): (text: string) => Parsed<number> {
  if (format === "[[rating]]") return (t) => parseRating(t, scale);
  if (format === "[RESULT]") return (t) => parseResult(t, scale);
  throw new Error(`no score parser for output format ${format}`);
}

export function verdictParser(format: OutputFormat): (text: string) => Parsed<VerdictValue> {
  if (format === "[[A]]") return parseVerdictABC;
  if (format === "[[A>B]]") return parseVerdictArena;
  throw new Error(`no verdict parser for output format ${format}`);
}
