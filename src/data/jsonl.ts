import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";
import { UserError } from "../util/errors.js";

/** One parsed JSONL record with its 1-based line number. */
export interface JsonlRecord<T = Record<string, unknown>> {
  line: number;
  value: T;
}

/**
 * Streams the objects of a JSONL file (optionally .gz). Blank lines are skipped.
 * A malformed line throws a UserError naming file and line.
 */
export async function* readJsonl<T = Record<string, unknown>>(file: string): AsyncGenerator<JsonlRecord<T>> {
  const raw = createReadStream(file);
  // Open errors (missing file, permissions) surface here once, as a UserError naming the file.
  await new Promise<void>((resolve, reject) => {
    raw.once("open", () => resolve());
    raw.once("error", (e) => reject(new UserError(`cannot read file: ${e.message}`, { file })));
  });
  const input = file.endsWith(".gz") ? raw.pipe(createGunzip()) : raw;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (!text.trim()) continue;
      const value = parseJsonlLine(text, file, line);
      yield { line, value: value as T };
    }
  } catch (e) {
    // readline re-emits read and decompression errors of its input.
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read file: ${(e as Error).message}`, { file, line: line + 1 });
  }
}

/** Parses one non-blank JSONL line into an object, or throws a UserError naming file and line. */
export function parseJsonlLine(text: string, file: string, line: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`malformed JSON: ${(e as Error).message}`, {
      file,
      line,
      expected: "one JSON object per line",
    });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new UserError("line is not a JSON object", { file, line, expected: "one JSON object per line" });
  return value as Record<string, unknown>;
}

/** Reads a whole JSONL file into memory (for small inputs). */
export async function readJsonlAll<T = Record<string, unknown>>(file: string): Promise<JsonlRecord<T>[]> {
  const out: JsonlRecord<T>[] = [];
  for await (const r of readJsonl<T>(file)) out.push(r);
  return out;
}

/** Requires `field` on a record, with a clear error naming file, line and field. */
export function requireField<T>(
  rec: Record<string, unknown>,
  field: string,
  where: { file: string; line: number },
  check: (v: unknown) => v is T,
  expected: string,
): T {
  const v = rec[field];
  if (!check(v)) {
    throw new UserError(
      v === undefined ? "missing field" : `invalid value ${JSON.stringify(v)?.slice(0, 60)}`,
      {
        ...where,
        field,
        expected,
      },
    );
  }
  return v;
}
