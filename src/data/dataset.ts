/** Local dataset files: JSONL (streamed), JSON, CSV/TSV and Parquet, optionally gzip- or bz2-compressed. */
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { parse as parseCsv } from "csv-parse/sync";
import { parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import Bunzip from "seek-bzip";
import { UserError } from "../util/errors.js";
import { parseJsonlLine, readJsonl } from "./jsonl.js";

export type Doc = Record<string, unknown>;

export interface DocRecord {
  /** Position of the doc in its split, 0-based (lm-eval's doc_id). */
  docId: number;
  doc: Doc;
}

type Format = "jsonl" | "json" | "csv" | "tsv" | "parquet";

/** Extensions the loader reads, for messages and directory scans. */
export const DATA_FILE_RE = /\.(jsonl|ndjson|json|csv|tsv|parquet)(\.(gz|bz2))?$/i;

export function detectFormat(file: string): Format {
  const base = file.replace(/\.(gz|bz2)$/i, "").toLowerCase();
  if (base.endsWith(".jsonl") || base.endsWith(".ndjson")) return "jsonl";
  if (base.endsWith(".json")) return "json";
  if (base.endsWith(".csv")) return "csv";
  if (base.endsWith(".tsv")) return "tsv";
  if (base.endsWith(".parquet")) return "parquet";
  throw new UserError("unsupported dataset file type", {
    file,
    field: "dataset_path",
    expected: ".jsonl, .json, .csv, .tsv or .parquet (optionally .gz or .bz2)",
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

/** A file's bytes, gunzipped or bunzipped by its extension. */
export function readBytes(file: string): Buffer {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new UserError(`cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      file,
    });
  }
  const lower = file.toLowerCase();
  try {
    if (lower.endsWith(".gz")) return gunzipSync(buf);
    if (lower.endsWith(".bz2")) return Bunzip.decode(buf);
  } catch (e) {
    throw new UserError(`cannot decompress: ${String((e as Error).message ?? e)}`, {
      file,
      expected: lower.endsWith(".gz") ? "a gzip file" : "a bzip2 file",
    });
  }
  return buf;
}

export function readText(file: string): string {
  return readBytes(file).toString("utf8");
}

/** Raw CSV rows (no header handling, no type inference), for formats that need the cells as written. */
export function readCsvRecords(file: string, delimiter = ","): string[][] {
  try {
    return parseCsv(readText(file), {
      delimiter,
      bom: true,
      skip_empty_lines: true,
      relax_column_count: false,
    });
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new UserError(`malformed CSV: ${err.message.replace(/^.*?: /, "")}`, {
      file,
      line: err.lines,
      expected: "the same number of columns on every line",
    });
  }
}

/** Parquet values as JSON would have them: int64 BigInts become numbers, dates ISO strings. */
function plainValue(v: unknown): unknown {
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(plainValue);
  if (v && typeof v === "object" && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plainValue(x);
    return out;
  }
  return v;
}

/** All rows of a Parquet file (a dataset split is small enough to hold). */
export async function loadParquet(file: string): Promise<Doc[]> {
  const bytes = readBytes(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    const rows = await parquetReadObjects({ file: buffer, compressors });
    return rows.map((r) => plainValue(r) as Doc);
  } catch (e) {
    throw new UserError(`malformed Parquet: ${(e as Error).message}`, {
      file,
      expected: "a Parquet file",
    });
  }
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

/** JSONL held in memory (bz2 has no streaming decoder here); errors name the line. */
function loadJsonlText(file: string): Doc[] {
  const out: Doc[] = [];
  const lines = readText(file).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    if (!text.trim()) continue;
    out.push(parseJsonlLine(text, file, i + 1));
  }
  return out;
}

/** Streams docs in file order; JSONL is never held in memory whole. */
export async function* streamDocs(file: string): AsyncGenerator<DocRecord> {
  mustExist(file);
  const format = detectFormat(file);
  if (format === "jsonl" && !/\.bz2$/i.test(file)) {
    let docId = 0;
    for await (const { value } of readJsonl<Doc>(file)) yield { docId: docId++, doc: value };
    return;
  }
  const docs =
    format === "parquet"
      ? await loadParquet(file)
      : format === "jsonl"
        ? loadJsonlText(file)
        : format === "json"
          ? loadJson(file)
          : loadCsv(file, format === "tsv" ? "\t" : ",");
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
  if (detectFormat(file) !== "jsonl" || /\.(gz|bz2)$/i.test(file)) return (await loadDocs(file)).length;
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
