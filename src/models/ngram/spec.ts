/**
 * `ngram:<path>[,<path>...][?order=N&fields=a,b]`: trains the built-in n-gram model on text files
 * (.txt and other extensions: the whole file is one document) or datasets (.jsonl, .json, .csv,
 * .tsv, optionally .gz: one document per record, its string fields joined by newlines, or only
 * `fields`). The trained model is cached on disk under a hash of the file contents and options.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { parse as parseCsv } from "csv-parse/sync";
import { didYouMean, UserError } from "../../util/errors.js";
import { DEFAULT_ORDER, MAX_ORDER, MIN_ORDER, NgramModel } from "./model.js";
import { NgramProvider } from "./provider.js";

export const DEFAULT_NGRAM_CACHE_DIR = ".assay/cache/ngram";
const SYNTAX = "ngram:<path>[,<path>...][?order=N&fields=a,b]";
// Part of every cache key: bump when training or the file format changes.
const CACHE_VERSION = "assay-ngram-v1";
const OPTIONS = ["order", "fields"];

export interface NgramSpec {
  paths: string[];
  order: number;
  /** Record fields to train on; all string fields when absent. */
  fields?: string[];
}

type FileKind = "text" | "jsonl" | "json" | "csv" | "tsv";

function specError(message: string, expected = SYNTAX, hint?: string): UserError {
  return new UserError(message, { field: "model", expected, hint });
}

export function parseNgramSpec(spec: string): NgramSpec {
  if (!spec.startsWith("ngram:")) throw specError(`not an ngram spec: '${spec}'`);
  const body = spec.slice("ngram:".length);
  const q = body.indexOf("?");
  const pathPart = q < 0 ? body : body.slice(0, q);
  const paths = pathPart.split(",").map((p) => p.trim());
  if (paths.some((p) => p === "")) throw specError(`missing training file in '${spec}'`);
  const out: NgramSpec = { paths, order: DEFAULT_ORDER };
  if (q >= 0) {
    for (const pair of body.slice(q + 1).split("&")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      const key = (eq < 0 ? pair : pair.slice(0, eq)).trim();
      const value = eq < 0 ? "" : pair.slice(eq + 1).trim();
      if (key === "order") {
        const order = Number(value);
        if (!/^\d+$/.test(value) || order < MIN_ORDER || order > MAX_ORDER) {
          throw specError(`invalid order '${value}'`, `an integer from ${MIN_ORDER} to ${MAX_ORDER}`);
        }
        out.order = order;
      } else if (key === "fields") {
        const fields = value
          .split(",")
          .map((f) => f.trim())
          .filter(Boolean);
        if (fields.length === 0) throw specError("empty fields list", "fields=name[,name...]");
        out.fields = fields;
      } else {
        throw specError(`unknown ngram option '${key}'`, OPTIONS.join(" or "), didYouMean(key, OPTIONS));
      }
    }
  }
  return out;
}

function kindOf(file: string): FileKind {
  const ext = path.extname(file.toLowerCase().replace(/\.gz$/, ""));
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  if (ext === ".json" || ext === ".csv" || ext === ".tsv") return ext.slice(1) as FileKind;
  return "text";
}

async function readTrainingFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new UserError(`training file '${file}' does not exist`, { file, field: "model" });
    if (code === "EISDIR") {
      throw new UserError(`training file '${file}' is a directory`, {
        file,
        field: "model",
        expected: "a file",
      });
    }
    throw new UserError(`cannot read training file '${file}': ${(e as Error).message}`, {
      file,
      field: "model",
    });
  }
}

/** One document from a record: the requested fields, or all its string fields. */
function recordText(
  rec: unknown,
  fields: string[] | undefined,
  where: { file: string; line?: number },
): string | null {
  if (typeof rec === "string") return fields ? null : rec;
  if (rec === null || typeof rec !== "object" || Array.isArray(rec)) return null;
  const obj = rec as Record<string, unknown>;
  if (!fields) {
    const parts = Object.values(obj).filter((v): v is string => typeof v === "string");
    return parts.length > 0 ? parts.join("\n") : null;
  }
  return fields
    .map((f) => {
      const v = obj[f];
      if (typeof v === "string") return v;
      if (typeof v === "number" || typeof v === "boolean") return String(v);
      throw new UserError(v === undefined ? "missing field" : "field is not text", {
        ...where,
        field: f,
        expected: "a string (choose fields with ?fields=...)",
      });
    })
    .join("\n");
}

/** The training documents in a file's contents. */
export function documentsOf(file: string, data: Buffer, fields?: string[]): string[] {
  const kind = kindOf(file);
  const text = (file.toLowerCase().endsWith(".gz") ? gunzipSync(data) : data).toString("utf8");
  if (kind === "text") return [text.replace(/^\uFEFF/, "")];
  const docs: string[] = [];
  const add = (rec: unknown, line?: number) => {
    const doc = recordText(rec, fields, { file, line });
    if (doc !== null) docs.push(doc);
  };
  if (kind === "jsonl") {
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (!lines[i].trim()) continue;
      let value: unknown;
      try {
        value = JSON.parse(lines[i]);
      } catch (e) {
        throw new UserError(`malformed JSON: ${(e as Error).message}`, {
          file,
          line: i + 1,
          expected: "one JSON object per line",
        });
      }
      add(value, i + 1);
    }
  } else if (kind === "json") {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new UserError(`malformed JSON: ${(e as Error).message}`, { file });
    }
    if (!Array.isArray(value))
      throw new UserError("not a JSON array", { file, expected: "an array of records" });
    for (const rec of value) add(rec);
  } else {
    let rows: Record<string, string>[];
    try {
      rows = parseCsv(text, {
        columns: true,
        bom: true,
        skip_empty_lines: true,
        delimiter: kind === "tsv" ? "\t" : ",",
      });
    } catch (e) {
      const line = (e as { lines?: number }).lines;
      throw new UserError(`malformed ${kind.toUpperCase()}: ${(e as Error).message}`, { file, line });
    }
    for (let i = 0; i < rows.length; i++) add(rows[i], i + 2);
  }
  return docs;
}

export interface CreateNgramOptions {
  /** Directory of cached models (`<hash>.bin`); default DEFAULT_NGRAM_CACHE_DIR. */
  cacheDir?: string;
}

/**
 * Builds the provider for an ngram spec: hashes the training files, then loads the trained model
 * from the disk cache or trains it (and caches it). Bad specs and unreadable files are UserErrors.
 */
export async function createNgramProvider(
  spec: string,
  opts: CreateNgramOptions = {},
): Promise<NgramProvider> {
  const parsed = parseNgramSpec(spec);
  const contents = await Promise.all(parsed.paths.map(readTrainingFile));
  const key = createHash("sha256");
  key.update(`${CACHE_VERSION}\0order=${parsed.order}\0fields=${JSON.stringify(parsed.fields ?? null)}\0`);
  parsed.paths.forEach((p, i) => {
    // Contents and parse kind, not the path: a moved file keeps its cache.
    key.update(`${kindOf(p)}\0${createHash("sha256").update(contents[i]).digest("hex")}\0`);
  });
  const hash = key.digest("hex");
  const cacheDir = opts.cacheDir ?? DEFAULT_NGRAM_CACHE_DIR;
  const cacheFile = path.join(cacheDir, `${hash.slice(0, 32)}.bin`);
  const providerOpts = { spec, dataHash: hash.slice(0, 16), cacheFile };

  const cached = await readFile(cacheFile).catch(() => null);
  if (cached) {
    try {
      const model = NgramModel.deserialize(cached);
      if (model.order === parsed.order) return new NgramProvider(model, { ...providerOpts, source: "cache" });
    } catch {
      // A corrupt or outdated cache entry is retrained and overwritten below.
    }
  }

  const docs: string[] = [];
  parsed.paths.forEach((p, i) => {
    for (const d of documentsOf(p, contents[i], parsed.fields)) docs.push(d);
  });
  if (!docs.some((d) => d.length > 0)) {
    throw new UserError("no training text found", {
      field: "model",
      file: parsed.paths.join(","),
      expected: parsed.fields ? `records with fields ${parsed.fields.join(", ")}` : "non-empty text",
    });
  }
  const model = NgramModel.train(docs, { order: parsed.order });
  await writeCache(cacheFile, model.serialize());
  return new NgramProvider(model, { ...providerOpts, source: "trained" });
}

/** Atomic write (temp file + rename) so concurrent runs never read a half-written model. */
async function writeCache(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch {
    // The cache only saves start-up time; an unwritable cache directory must not fail the run.
    await rm(tmp, { force: true }).catch(() => {});
  }
}
