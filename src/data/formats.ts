/**
 * Readers for the benchmarks' own file formats (and the copies in shared/data), each producing docs in
 * the Hugging Face dataset schema that lm-eval's task templates are written against. Every reader also
 * passes through rows that already have that schema, so a Parquet or JSONL export of the hub dataset
 * works the same.
 */
import path from "node:path";
import { UserError } from "../util/errors.js";
import { type Doc, loadDocs, readCsvRecords, readText } from "./dataset.js";

export interface LocalSpec {
  /** The data file, relative to the data directory. */
  path: string;
  /** A reader below; without one the file is read by its extension. */
  format?: string;
  /** A second file some formats need (PIQA's labels). */
  labels?: string;
}

type Reader = (file: string, spec: LocalSpec, resolve: (p: string) => string) => Promise<Doc[]>;

const LETTERS = ["A", "B", "C", "D", "E", "F", "G", "H"];

/**
 * MMLU (hendrycks/test) CSV → cais/mmlu {question, subject, choices, answer}. Accepts the original
 * headerless `question,A,B,C,D,letter` rows and copies with a `question,choice0..3,answer` header whose
 * answer is an index or a letter.
 */
const mmluCsv: Reader = async (file) => {
  const rows = readCsvRecords(file);
  const header = rows[0]?.[0]?.trim().toLowerCase() === "question";
  const subject = path
    .basename(file)
    .replace(/\.(csv|tsv)(\.(gz|bz2))?$/i, "")
    .replace(/_(test|dev|val|validation)$/i, "");
  const out: Doc[] = [];
  for (let i = header ? 1 : 0; i < rows.length; i++) {
    const r = rows[i];
    const at = { file, line: i + 1 };
    if (r.length !== 6)
      throw new UserError(`row has ${r.length} columns`, {
        ...at,
        expected: "6 columns: question, 4 choices, answer",
      });
    const a = r[5].trim();
    const answer = /^[0-3]$/.test(a) ? Number(a) : LETTERS.indexOf(a.toUpperCase());
    if (answer < 0 || answer > 3)
      throw new UserError(`invalid answer '${a}'`, { ...at, field: "answer", expected: "A-D or 0-3" });
    out.push({ question: r[0], subject, choices: r.slice(1, 5), answer });
  }
  return out;
};

/** AI2 ARC JSONL {id, question: {stem, choices: [{text, label}]}, answerKey} → allenai/ai2_arc. */
const arcJsonl: Reader = async (file) =>
  (await loadDocs(file)).map((d, i) => {
    const q = d.question as { stem?: unknown; choices?: Array<{ text: unknown; label: unknown }> };
    if (typeof d.question === "string") return d; // already the hub schema
    if (!q || typeof q.stem !== "string" || !Array.isArray(q.choices))
      throw new UserError("not an ARC item", {
        file,
        line: i + 1,
        field: "question",
        expected: "{stem, choices: [{text, label}]} (AI2 format) or a string (hub format)",
      });
    return {
      id: d.id,
      question: q.stem,
      choices: { text: q.choices.map((c) => String(c.text)), label: q.choices.map((c) => String(c.label)) },
      answerKey: d.answerKey,
    };
  });

/** PIQA: {goal, sol1, sol2} lines plus a labels file with one 0/1 per line → {goal, sol1, sol2, label}. */
const piqaJsonl: Reader = async (file, spec, resolve) => {
  const docs = await loadDocs(file);
  if (!spec.labels) {
    docs.forEach((d, i) => {
      if (typeof d.label !== "number")
        throw new UserError("missing label", {
          file,
          line: i + 1,
          field: "label",
          expected: "a 0/1 label, or a labels file in the task's assay.local",
        });
    });
    return docs;
  }
  const labelsFile = resolve(spec.labels);
  const labels = readText(labelsFile)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  if (labels.length !== docs.length)
    throw new UserError(`${labels.length} labels for ${docs.length} questions`, {
      file: labelsFile,
      expected: `one label per line of ${path.basename(file)}`,
    });
  return docs.map((d, i) => {
    if (!/^[01]$/.test(labels[i]))
      throw new UserError(`invalid label '${labels[i]}'`, {
        file: labelsFile,
        line: i + 1,
        expected: "0 or 1",
      });
    return { goal: d.goal, sol1: d.sol1, sol2: d.sol2, label: Number(labels[i]) };
  });
};

/**
 * HellaSwag. The official JSONL (rowanz/hellaswag, and the hub) passes through for lm-eval's
 * process_docs. The text export (6 lines an item: `activity_label: ctx`, the gold index, 4 endings) is
 * already preprocessed, so it becomes the processed doc {query, choices, gold} directly.
 */
const hellaswag: Reader = async (file) => {
  if (!/\.txt(\.(gz|bz2))?$/i.test(file)) return loadDocs(file);
  const lines = readText(file).split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length % 6 !== 0)
    throw new UserError(`${lines.length} lines is not a multiple of 6`, {
      file,
      line: lines.length,
      expected: "6 lines per item: context, gold index, 4 endings",
    });
  const out: Doc[] = [];
  for (let i = 0; i < lines.length; i += 6) {
    const gold = lines[i + 1].trim();
    if (!/^[0-3]$/.test(gold))
      throw new UserError(`invalid gold index '${gold}'`, { file, line: i + 2, expected: "0-3" });
    const choices = lines.slice(i + 2, i + 6);
    out.push({
      query: lines[i],
      choices,
      gold: Number(gold),
      label: gold,
      answer_letter: LETTERS[Number(gold)],
    });
  }
  return out;
};

/**
 * TruthfulQA's mc_task.json ({question, mc1_targets: {answer: 0|1}, ...}) → truthful_qa multiple_choice
 * ({mc1_targets: {choices, labels}}). The answer order is the file's, so the JSON is read with an
 * order-keeping parser (JS objects move integer-like keys first).
 */
const truthfulqaMc: Reader = async (file) => {
  let value: unknown;
  try {
    value = parseJsonOrdered(readText(file));
  } catch (e) {
    throw new UserError(`malformed JSON: ${(e as Error).message}`, { file, expected: "a JSON array" });
  }
  if (!Array.isArray(value)) throw new UserError("not a JSON array", { file, expected: "[{question, ...}]" });
  return value.map((item, i) => {
    const d = item as Record<string, unknown>;
    const out: Doc = { question: d.question };
    for (const key of ["mc1_targets", "mc2_targets"]) {
      const t = d[key];
      if (t instanceof Map) out[key] = { choices: [...t.keys()], labels: [...t.values()].map(Number) };
      else if (t && typeof t === "object" && "choices" in t) out[key] = t;
      else
        throw new UserError(`item ${i} has no ${key}`, {
          file,
          field: key,
          expected: "{answer: 0|1, ...} or {choices, labels}",
        });
    }
    return out;
  });
};

/** FastChat MT-bench question.jsonl {question_id, category, turns, reference?} → HuggingFaceH4/mt_bench_prompts. */
const mtBench: Reader = async (file) =>
  (await loadDocs(file)).map((d, i) => {
    if (Array.isArray(d.prompt)) return d;
    if (!Array.isArray(d.turns) || d.turns.some((t) => typeof t !== "string"))
      throw new UserError("missing turns", {
        file,
        line: i + 1,
        field: "turns",
        expected: "a list of strings",
      });
    return { prompt_id: d.question_id, category: d.category, prompt: d.turns, reference: d.reference ?? [] };
  });

const READERS: Record<string, Reader> = {
  mmlu_csv: mmluCsv,
  arc_jsonl: arcJsonl,
  piqa_jsonl: piqaJsonl,
  hellaswag,
  truthfulqa_mc_json: truthfulqaMc,
  mt_bench_questions: mtBench,
};

export const FORMAT_NAMES = Object.keys(READERS);

/** Reads a local copy with its format's reader (or by extension when it names none). */
export async function readLocal(
  file: string,
  spec: LocalSpec,
  resolve: (p: string) => string,
): Promise<Doc[]> {
  const reader = spec.format ? READERS[spec.format] : undefined;
  return reader ? reader(file, spec, resolve) : loadDocs(file);
}

/**
 * JSON.parse that keeps object key order exactly as written: objects become Maps, so keys such as "2"
 * are not moved first. Only object values of the top-level items' fields are returned as Maps; callers
 * convert what they need.
 */
export function parseJsonOrdered(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r\ufeff".includes(text[i])) i++;
  };
  const fail = (what: string): never => {
    const line = text.slice(0, i).split("\n").length;
    throw new Error(`${what} at line ${line}`);
  };
  const str = (): string => {
    const start = i;
    i++;
    let escaped = false;
    while (i < text.length) {
      const c = text[i];
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') break;
      i++;
    }
    if (text[i] !== '"') fail("unterminated string");
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const val = (): unknown => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const m = new Map<string, unknown>();
      ws();
      if (text[i] === "}") {
        i++;
        return m;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a key");
        const k = str();
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        m.set(k, val());
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return m;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const a: unknown[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return a;
      }
      for (;;) {
        a.push(val());
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return a;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) return fail("unexpected character");
    i += m[0].length;
    return JSON.parse(m[0]);
  };
  const v = val();
  ws();
  if (i < text.length) fail("trailing characters");
  // Top-level objects (the items) become plain objects; their nested objects stay Maps.
  const plain = (x: unknown) => (x instanceof Map ? Object.fromEntries(x) : x);
  return Array.isArray(v) ? v.map(plain) : plain(v);
}
