/** Local dataset files: JSONL (streamed), JSON and CSV/TSV, optionally gzip-compressed. */
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { parse as parseCsv } from "csv-parse/sync";
import { UserError } from "../util/errors.js";
import { readJsonl } from "./jsonl.js";

export type Doc = Record<string, unknown>;

export interface DocRecord {
  /** Position of the doc in its split, 0-based (lm-eval's doc_id). */
  docId: number;
  doc: Doc;
}

type Format = "jsonl" | "json" | "csv" | "tsv";

export function detectFormat(file: string): Format {
  const base = file.replace(/\.gz$/, "").toLowerCase();
  if (base.endsWith(".jsonl") || base.endsWith(".ndjson")) return "jsonl";
  if (base.endsWith(".json")) return "json";
  if (base.endsWith(".csv")) return "csv";
  if (base.endsWith(".tsv")) return "tsv";
  throw new UserError("unsupported dataset file type", {
    file,
    field: "dataset_path",
    expected: ".jsonl, .json, .csv or .tsv (optionally .gz)",
  });
}

function mustExist(file: string): void {
  if (!existsSync(file))
    throw new UserError("dataset file not found", {
      file,
      field: "dataset_path",
      expected: "an existing local file",
    });
}

function readText(file: string): string {
  const buf = readFileSync(file);
  return (file.endsWith(".gz") ? gunzipSync(buf) : buf).toString("utf8");
}

/** pandas-style inference: a column whose every value is an integer (or number) becomes numeric. */
function inferColumnTypes(rows: Doc[]): void {
  if (rows.length === 0) return;
  for (const col of Object.keys(rows[0])) {
    const values = rows.map((r) => r[col]);
    if (values.every((v) => typeof v === "string" && /^-?\d+$/.test(v)))
      for (const r of rows) r[col] = Number.parseInt(r[col] as string, 10);
    else if (
      values.every(
        (v) => typeof v === "string" && v !== "" && !Number.isNaN(Number(v)) && /^[-+\d.eE]+$/.test(v),
      )
    )
      for (const r of rows) r[col] = Number(r[col]);
  }
}

function loadCsv(file: string, delimiter: string): Doc[] {
  try {
    const rows = parseCsv(readText(file), {
      columns: true,
      delimiter,
      bom: true,
      skip_empty_lines: true,
    }) as Doc[];
    inferColumnTypes(rows);
    return rows;
  } catch (e) {
    const err = e as Error & { lines?: number; code?: string };
    throw new UserError(`malformed CSV: ${err.message.replace(/^.*?: /, "")}`, {
      file,
      line: err.lines,
      expected: "a CSV file with a header row and the same number of columns on every line",
    });
  }
}

function loadJson(file: string): Doc[] {
  let value: unknown;
  try {
    value = JSON.parse(readText(file));
  } catch (e) {
    throw new UserError(`malformed JSON: ${(e as Error).message}`, {
      file,
      expected: "a JSON array of objects",
    });
  }
  // Accept a bare array, {"data": [...]} or a column-oriented object of equal-length arrays.
  if (value && !Array.isArray(value) && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (Array.isArray(obj.data)) value = obj.data;
    else if (Object.values(obj).every(Array.isArray)) {
      const cols = Object.entries(obj) as [string, unknown[]][];
      value = cols[0][1].map((_, i) => Object.fromEntries(cols.map(([k, arr]) => [k, arr[i]])));
    }
  }
  if (!Array.isArray(value) || value.some((d) => !d || typeof d !== "object" || Array.isArray(d)))
    throw new UserError("JSON dataset must be an array of objects", { file, expected: "[{...}, {...}]" });
  return value as Doc[];
}

/** Streams docs in file order; JSONL is never held in memory whole. */
export async function* streamDocs(file: string): AsyncGenerator<DocRecord> {
  mustExist(file);
  const format = detectFormat(file);
  if (format === "jsonl") {
    let docId = 0;
    for await (const { value } of readJsonl<Doc>(file)) yield { docId: docId++, doc: value };
    return;
  }
  const docs = format === "json" ? loadJson(file) : loadCsv(file, format === "tsv" ? "\t" : ",");
  for (let i = 0; i < docs.length; i++) yield { docId: i, doc: docs[i] };
}

/** Loads all docs of a (small) file, e.g. a few-shot split. */
export async function loadDocs(file: string): Promise<Doc[]> {
  const out: Doc[] = [];
  for await (const r of streamDocs(file)) out.push(r.doc);
  return out;
}

/** Number of docs, without parsing JSONL lines (counts non-blank lines). */
export async function countDocs(file: string): Promise<number> {
  mustExist(file);
  if (detectFormat(file) !== "jsonl" || file.endsWith(".gz")) return (await loadDocs(file)).length;
  return new Promise((resolve, reject) => {
    let count = 0;
    let lineHasContent = false;
    createReadStream(file)
      .on("data", (chunk: string | Buffer) => {
        const buf = chunk as Buffer;
        for (let i = 0; i < buf.length; i++) {
          const b = buf[i];
          if (b === 10) {
            if (lineHasContent) count++;
            lineHasContent = false;
          } else if (b !== 32 && b !== 13 && b !== 9) lineHasContent = true;
        }
      })
      .on("end", () => resolve(count + (lineHasContent ? 1 : 0)))
      .on("error", reject);
  });
}
