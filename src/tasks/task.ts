/**
 * A task: its config with lm-eval defaults applied, the doc_to_* mappings in lm-eval's resolution
 * order, and the prompt layout `[description] + shots + query`.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { countDocs, type Doc, type DocRecord, loadDocs, streamDocs } from "../data/dataset.js";
import { readLocal } from "../data/formats.js";
import { type ResolvedSplit, resolveHubSplit } from "../data/sources.js";
import { UserError } from "../util/errors.js";
import { pyLiteralEval } from "../util/pyliteral.js";
import { PyRandom } from "../util/pyrandom.js";
import { isPythonHook, type LoadedTaskConfig, type OutputType, type TaskConfig } from "./config.js";
import { compileTemplate } from "./jinja.js";
import { PROCESS_DOCS } from "./preprocess.js";

export type Target = string | number | unknown[];

export class Task {
  readonly config: TaskConfig;
  readonly name: string;
  readonly outputType: OutputType;
  readonly file: string;
  readonly numFewshot: number;
  readonly targetDelimiter: string;
  readonly fewshotDelimiter: string;
  private readonly dir: string;
  private readonly lineOf: (k: string) => number | undefined;
  /** Hub splits resolved by `prepare()` (data directory, cache or download). */
  private readonly resolved = new Map<string, ResolvedSplit>();

  constructor(loaded: LoadedTaskConfig, overrides: { numFewshot?: number } = {}) {
    this.config = loaded.config;
    this.file = loaded.file;
    this.dir = loaded.dir;
    this.lineOf = loaded.lineOf;
    this.name = this.config.task;
    this.outputType = this.config.output_type ?? "generate_until";
    this.numFewshot = overrides.numFewshot ?? this.config.num_fewshot ?? 0;
    this.targetDelimiter = this.config.target_delimiter ?? " ";
    this.fewshotDelimiter = this.config.fewshot_delimiter ?? "\n\n";
  }

  /** File, line and field of a config key, for error messages. */
  where(field: string) {
    return { file: this.file, line: this.lineOf(field), field };
  }

  // --- data ---------------------------------------------------------------------------------

  /** A Hugging Face Hub dataset (`dataset_path: cais/mmlu`), not a local file. */
  isHubDataset(): boolean {
    const c = this.config;
    const p = c.dataset_path;
    if (!p || c.dataset_kwargs?.data_files !== undefined) return false;
    return (
      !existsSync(path.resolve(this.dir, p)) &&
      !/\.(jsonl|ndjson|json|csv|tsv|parquet)(\.(gz|bz2))?$/i.test(p)
    );
  }

  /** lm-eval's split names: the evaluation split (test, else validation) and the few-shot split. */
  evalSplit(): string | undefined {
    return this.config.test_split ?? this.config.validation_split ?? undefined;
  }

  fewshotSplit(): string | undefined {
    const c = this.config;
    return c.fewshot_split ?? c.training_split ?? c.validation_split ?? this.evalSplit();
  }

  private inlineShots(): Doc[] | undefined {
    const s = this.config.fewshot_config?.samples;
    return Array.isArray(s) ? (s as Doc[]) : undefined;
  }

  /**
   * Finds the data of a hub dataset's splits (data directory, cache, else download). Local-file tasks
   * need nothing. `download: false` leaves splits that are not local unresolved.
   */
  async prepare(opts: { download?: boolean } = {}): Promise<void> {
    if (!this.isHubDataset()) return;
    const splits = [this.evalSplit()];
    if (this.numFewshot > 0 && !this.inlineShots()) splits.push(this.fewshotSplit());
    for (const split of splits) {
      if (!split)
        throw new UserError("no evaluation split", {
          ...this.where("test_split"),
          expected: "test_split or validation_split",
        });
      if (this.resolved.has(split)) continue;
      const found = await resolveHubSplit(
        { repo: this.config.dataset_path!, config: this.config.dataset_name, split },
        this.config.assay?.local?.[split],
        this.where("dataset_path"),
        opts,
      );
      if (found) this.resolved.set(split, found);
    }
  }

  /** Where a split's data comes from (after `prepare`), for listings. */
  resolvedSplit(split: string): ResolvedSplit | undefined {
    return this.resolved.get(split);
  }

  private hubFile(split: string | undefined): string {
    const r = split ? this.resolved.get(split) : undefined;
    if (!r)
      throw new UserError(`split '${split}' of ${this.config.dataset_path} is not available`, {
        ...this.where("dataset_path"),
        hint: "prepare() finds or downloads it first",
      });
    return r.file;
  }

  /** Local file of a split, from `dataset_kwargs.data_files` or a file `dataset_path`. */
  splitFile(split: string | null | undefined): string | undefined {
    if (this.isHubDataset()) return split && this.resolved.has(split) ? this.hubFile(split) : undefined;
    const files = this.config.dataset_kwargs?.data_files;
    if (files && typeof files === "object") {
      const f = split ? files[split] : undefined;
      return f === undefined ? undefined : path.resolve(this.dir, f);
    }
    if (typeof files === "string") return path.resolve(this.dir, files);
    const p = this.config.dataset_path;
    if (!p)
      throw new UserError("missing dataset_path", {
        ...this.where("dataset_path"),
        expected: "a local data file",
      });
    const local = path.resolve(this.dir, p);
    if (existsSync(local) || /\.(jsonl|json|csv|tsv)(\.gz)?$/i.test(p)) return local;
    throw new UserError(`dataset '${p}' is not a local file`, {
      ...this.where("dataset_path"),
      expected: "a local .jsonl, .json or .csv file (or dataset_kwargs.data_files)",
    });
  }

  /** The evaluation split: test if the task has one, else validation (lm-eval's rule). */
  evalFile(): string {
    if (this.isHubDataset()) return this.hubFile(this.evalSplit());
    const c = this.config;
    const files = c.dataset_kwargs?.data_files;
    const named = files && typeof files === "object" ? Object.keys(files) : [];
    const split =
      c.test_split ??
      c.validation_split ??
      named.find((s) => ["test", "validation", "train"].includes(s)) ??
      named[0];
    const f = this.splitFile(split);
    if (!f) throw new UserError(`split '${split}' has no data file`, this.where("dataset_kwargs"));
    return f;
  }

  /** The few-shot split: fewshot_split, else training, else validation, else the eval split. */
  fewshotFile(): string {
    if (this.inlineShots()) return this.evalFile();
    if (this.isHubDataset()) return this.hubFile(this.fewshotSplit());
    const c = this.config;
    for (const s of [c.fewshot_split, c.training_split, c.validation_split]) {
      const f = s ? this.splitFile(s) : undefined;
      if (f) return f;
    }
    return this.evalFile();
  }

  /** lm-eval's process_docs, as the task's assay.process_docs port. */
  private processDocs(docs: Doc[]): Doc[] {
    const hook = this.config.assay?.process_docs;
    return hook ? docs.map(PROCESS_DOCS[hook]) : docs;
  }

  /** All docs of a split's file: its local format read into the hub schema, then process_docs. */
  private async docsOf(file: string, split: string | undefined): Promise<Doc[]> {
    const local = split ? this.resolved.get(split)?.local : undefined;
    const docs = local
      ? await readLocal(file, local, (p) => path.resolve(path.dirname(file), p))
      : await loadDocs(file);
    return this.processDocs(docs);
  }

  /** The evaluation docs in order (streamed from plain JSONL when no conversion applies). */
  async *streamDocs(): AsyncGenerator<DocRecord> {
    await this.prepare();
    const file = this.evalFile();
    if (this.plainEvalFile()) {
      yield* streamDocs(file);
      return;
    }
    const docs = await this.docsOf(file, this.evalSplit());
    for (let i = 0; i < docs.length; i++) yield { docId: i, doc: docs[i] };
  }

  /** True when the eval file's rows are the docs as they are (no format reader, no process_docs). */
  private plainEvalFile(): boolean {
    const split = this.isHubDataset() ? this.evalSplit() : undefined;
    return !(split && this.resolved.get(split)?.local) && !this.config.assay?.process_docs;
  }

  async countDocs(): Promise<number> {
    await this.prepare();
    if (this.plainEvalFile()) return countDocs(this.evalFile());
    let n = 0;
    for await (const _ of this.streamDocs()) n++;
    return n;
  }

  // --- doc_to_* -------------------------------------------------------------------------------

  private template(field: "doc_to_text" | "doc_to_target" | "doc_to_choice", source: string) {
    return compileTemplate(source, this.where(field));
  }

  /** lm-eval `doc_to_text`: int, field name, or Jinja template (digits become an int when choices exist). */
  docToText(doc: Doc): string | number {
    const v = this.config.doc_to_text;
    if (v === undefined) throw new UserError("missing doc_to_text", this.where("doc_to_text"));
    if (typeof v === "number") return v;
    if (typeof v !== "string" || isPythonHook(v))
      throw new UserError("unsupported doc_to_text", this.where("doc_to_text"));
    if (v in doc) return doc[v] as string;
    const text = this.template("doc_to_text", v).render(doc);
    if (/^\d+$/.test(text) && this.config.doc_to_choice !== undefined) return Number(text);
    return text;
  }

  /** lm-eval `doc_to_target`: int, list, field name, or template ("[...]" literals and digits parsed). */
  docToTarget(doc: Doc): Target {
    const v = this.config.doc_to_target;
    if (v === undefined) throw new UserError("missing doc_to_target", this.where("doc_to_target"));
    if (typeof v === "number" || Array.isArray(v)) return v;
    if (typeof v !== "string") throw new UserError("unsupported doc_to_target", this.where("doc_to_target"));
    if (v in doc) return doc[v] as Target;
    const text = this.template("doc_to_target", v).render(doc);
    if (/^\d+$/.test(text) && this.config.doc_to_choice !== undefined) return Number(text);
    if (text.length >= 2 && text.startsWith("[") && text.endsWith("]")) {
      try {
        return pyLiteralEval(text) as unknown[];
      } catch {
        return text;
      }
    }
    return text;
  }

  /** lm-eval `doc_to_choice`: list, dict values, field name, or a template evaluated as a Python literal. */
  docToChoice(doc: Doc): string[] {
    const v = this.config.doc_to_choice;
    if (v === undefined) throw new UserError("missing doc_to_choice", this.where("doc_to_choice"));
    let out: unknown;
    if (Array.isArray(v)) out = v;
    else if (typeof v === "object" && !isPythonHook(v)) out = Object.values(v);
    else if (typeof v === "string") {
      if (v in doc) out = doc[v];
      else {
        const text = this.template("doc_to_choice", v).render(doc);
        try {
          out = pyLiteralEval(text);
        } catch (e) {
          throw new UserError(
            `doc_to_choice rendered to '${text.slice(0, 60)}', not a list: ${(e as Error).message}`,
            {
              ...this.where("doc_to_choice"),
              expected: "a template rendering a Python/JSON list",
            },
          );
        }
      }
    }
    if (!Array.isArray(out))
      throw new UserError("doc_to_choice did not give a list", this.where("doc_to_choice"));
    return out.map(String);
  }

  /** The gold answer as text (the choice it indexes, for multiple-choice style targets). */
  targetText(doc: Doc, target: Target = this.docToTarget(doc)): string {
    if (Array.isArray(target)) return String(target[0]);
    if (typeof target === "number" && this.config.doc_to_choice !== undefined)
      return this.docToChoice(doc)[target];
    return String(target);
  }

  // --- prompt ---------------------------------------------------------------------------------

  /** lm-eval `ContextSampler.get_context`: the labeled few-shot examples, each followed by the delimiter. */
  fewshotExamples(doc: Doc, pool: Doc[], rnd: PyRandom, n: number): string {
    const sameSplit = (this.config.fewshot_split ?? null) === (this.config.test_split ?? null);
    const sampler = this.config.fewshot_config?.sampler ?? "default";
    const k = Math.min(sameSplit ? n + 1 : n, pool.length);
    const drawn = sampler === "first_n" ? pool.slice(0, k) : rnd.sample(pool, k);
    const docKey = JSON.stringify(doc);
    const selected = drawn.filter((d) => JSON.stringify(d) !== docKey).slice(0, n);
    let out = "";
    for (const shot of selected) {
      const content = this.docToText(shot);
      out += typeof content === "number" ? this.docToChoice(shot)[content] : content;
      const target = this.docToTarget(shot);
      if (target !== "") {
        out += this.targetDelimiter;
        out += Array.isArray(target)
          ? String(target[0])
          : typeof target === "number" && this.config.doc_to_choice !== undefined
            ? String(this.docToChoice(shot)[target])
            : String(target);
        out += this.fewshotDelimiter;
      }
    }
    return out;
  }

  /** lm-eval `fewshot_context`: description + shots + doc_to_text. */
  prompt(doc: Doc, fewshot: FewshotState): string {
    let out = "";
    const d = this.config.description;
    if (d) out += compileTemplate(d, this.where("description")).render(doc);
    if (this.numFewshot > 0) out += this.fewshotExamples(doc, fewshot.pool, fewshot.rnd, this.numFewshot);
    const text = this.docToText(doc);
    if (typeof text === "number")
      return out + (this.config.doc_to_choice !== undefined ? this.docToChoice(doc)[text] : String(text));
    return out + text;
  }

  /** Few-shot pool and the seeded sampler, created once per task run (lm-eval seed 1234). */
  async fewshotState(): Promise<FewshotState> {
    const seed = this.config.assay?.fewshot_seed ?? 1234;
    await this.prepare();
    const pool =
      this.numFewshot === 0
        ? []
        : (this.inlineShots() ??
          (await this.docsOf(this.fewshotFile(), this.isHubDataset() ? this.fewshotSplit() : undefined)));
    if (this.numFewshot > 0 && pool.length === 0)
      throw new UserError("num_fewshot > 0 but the few-shot split is empty", this.where("num_fewshot"));
    return { pool, rnd: new PyRandom(seed) };
  }
}

export interface FewshotState {
  pool: Doc[];
  rnd: PyRandom;
}
