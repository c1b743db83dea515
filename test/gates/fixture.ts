/**
 * Real runs for the gate tests: addition facts, n-gram models trained on corpora with a chosen
 * share of wrong sums, evaluated by the real engine (runTask) into a temporary SQLite store.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { runTask } from "../../src/engine/runner.js";
import { createNgramProvider } from "../../src/models/ngram/spec.js";
import { openStore } from "../../src/store/sqlite.js";
import type { RunRecord, Store } from "../../src/store/types.js";
import { resolveTasks } from "../../src/tasks/resolve.js";
import { Task } from "../../src/tasks/task.js";

export const repo = path.resolve(import.meta.dirname, "../..");

/** mulberry32, so every machine generates the same data. */
function rng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Fixture {
  dir: string;
  dbFile: string;
  store: Store;
  tasksDir: string;
  /** Corpus file for a share of wrong sums (0 = all correct). */
  corpus: (name: string, wrongShare: number) => string;
  /** Evaluates both tasks (arith_mc, arith_gen) with an n-gram model on `corpusFile`. */
  run: (corpusFile: string, opts?: { tasks?: string[] }) => Promise<RunRecord[]>;
  spec: (corpusFile: string) => string;
}

const DOCS = 80;

/** Creates data, task files and an open store under a fresh temp directory. */
export function createFixture(): Fixture {
  const dir = mkdtempSync(path.join(tmpdir(), "assay-gates-"));
  const data = path.join(dir, "data");
  const tasksDir = path.join(dir, "tasks");
  mkdirSync(data);
  mkdirSync(tasksDir);
  const rand = rng(20261122);
  const int = (n: number) => Math.floor(rand() * n);
  const facts: Array<{ a: number; b: number; sum: number }> = [];
  for (let a = 0; a < 20; a++) for (let b = 0; b < 20; b++) facts.push({ a, b, sum: a + b });
  for (let i = facts.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [facts[i], facts[j]] = [facts[j], facts[i]];
  }
  const line = (f: { a: number; b: number }, sum: number) => `${f.a}+${f.b}= ${sum}`;
  const parity = ["even", "odd"];
  const toDoc = (f: { a: number; b: number; sum: number }) => {
    const options = new Set([f.sum]);
    while (options.size < 4) options.add(Math.max(0, f.sum + int(9) - 4));
    const choices = [...options].map(String).sort(() => rand() - 0.5);
    return {
      question: `${f.a}+${f.b}=`,
      answer: String(f.sum),
      choices,
      label: choices.indexOf(String(f.sum)),
      kind: parity[f.sum % 2],
      meta: { big: f.sum >= 20 },
    };
  };
  const jsonl = (docs: unknown[]) => `${docs.map((d) => JSON.stringify(d)).join("\n")}\n`;
  writeFileSync(path.join(data, "test.jsonl"), jsonl(facts.slice(0, DOCS).map(toDoc)));
  writeFileSync(path.join(data, "train.jsonl"), jsonl(facts.slice(DOCS, DOCS + 20).map(toDoc)));
  const common = `dataset_kwargs:\n  data_files:\n    train: ../data/train.jsonl\n    test: ../data/test.jsonl\ntraining_split: train\ntest_split: test\n`;
  writeFileSync(
    path.join(tasksDir, "arith_mc.yaml"),
    `task: arith_mc\n${common}output_type: multiple_choice\ndoc_to_text: "{{question}}"\ndoc_to_choice: "{{choices}}"\ndoc_to_target: label\nmetric_list:\n  - metric: acc\n  - metric: brier_score\n`,
  );
  writeFileSync(
    path.join(tasksDir, "arith_gen.yaml"),
    `task: arith_gen\n${common}output_type: generate_until\nnum_fewshot: 2\nfewshot_delimiter: "\\n"\ndoc_to_text: "{{question}}"\ndoc_to_target: "{{answer}}"\ngeneration_kwargs:\n  until: ["\\n"]\n  max_gen_toks: 8\nfilter_list:\n  - name: strict-match\n    filter:\n      - function: take_first\nmetric_list:\n  - metric: exact_match\n    regexes_to_ignore: ["^ "]\n`,
  );
  const dbFile = path.join(dir, "assay.db");
  const store = openStore(dbFile);
  const cacheDir = path.join(dir, "cache", "ngram");
  const corpus = (name: string, wrongShare: number) => {
    // Seeded by the name, so every corpus (and model) differs.
    const r = rng([...name].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619), 2166136261));
    const lines = facts.map((f) => {
      const wrong = r() < wrongShare;
      return line(f, wrong ? f.sum + 1 + Math.floor(r() * 3) : f.sum);
    });
    const file = path.join(data, name);
    writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  };
  const spec = (file: string) => `ngram:${file}?order=8`;
  const run = async (corpusFile: string, opts: { tasks?: string[] } = {}) => {
    const provider = await createNgramProvider(spec(corpusFile), { cacheDir });
    const out: RunRecord[] = [];
    for (const name of opts.tasks ?? ["arith_mc", "arith_gen"]) {
      const [loaded] = resolveTasks(path.join(tasksDir, `${name}.yaml`));
      out.push(await runTask({ task: new Task(loaded), provider, store, scheduler: { concurrency: 4 } }));
    }
    return out;
  };
  return { dir, dbFile, store, tasksDir, corpus, run, spec };
}
