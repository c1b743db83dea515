/**
 * Dataset loading: Parquet, gzip and bz2, the benchmarks' own formats (and the copies in shared/data),
 * the data directory, and the Hugging Face Hub path when offline.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { loadDocs, streamDocs } from "../../src/data/dataset.js";
import { parseJsonOrdered, readLocal } from "../../src/data/formats.js";
import { setDataDir } from "../../src/data/sources.js";
import { UserError } from "../../src/util/errors.js";
import { BENCH_DIR, HAVE_BENCH, taskFromYaml, tmpDir, writeFiles } from "./helpers.js";

// Two MMLU-schema rows (question, subject, choices, answer as INT64), written by hyparquet-writer.
const PARQUET_B64 =
  "UEFSMRUGFUoVTlwVBBUAFQQVABUEFQAAAAMDI4gMAAAAV2hhdCBpcyAxKzE/DwAAAFBpY2sgdGhlIHByaW1lLhUEFQ4VEkwVAhUAAAAHGAMAAAB0b3kVBhUIFQxcFQQVABUEFRAVBBUAAAADAwIEAAMVBhVUFVJcFQQVABUEFQAVABUAAAAqUBEAAABbIjEiLCIyIiwiMyIsIjQiXQkVODQiLCI2IiwiNyIsIjkiXRUGFSQVKFwVBBUAFQQVABUEFQAAAAMDEDwBAAAAAAAAAAIAAAAAAAAAFQQZXEgEcm9vdBUIABUMJQIYCHF1ZXN0aW9uJQAAFQwlAhgHc3ViamVjdCUAABUMJQAYB2Nob2ljZXMlJgAVBCUCGAZhbnN3ZXIAFgQZHBlMJggcFQwZFQAZGAhxdWVzdGlvbhUCFgQWdBZ4Jgg8NgAoDFdoYXQgaXMgMSsxPxgPUGljayB0aGUgcHJpbWUuABkcFQYVABUCAAAAJoABHBUMGSUAEBkYB3N1YmplY3QVAhYEFloWYiasASaAARw2ACgDdG95GAN0b3kAGSwVBBUAFQIAFQYVEBUCAAAAJuIBHBUMGRUAGRgHY2hvaWNlcxUCFgQWfhZ8JuIBPDYAKBFbIjQiLCI2IiwiNyIsIjkiXRgRWyIxIiwiMiIsIjMiLCI0Il0AGRwVBhUAFQIAAAAm3gIcFQQZFQAZGAZhbnN3ZXIVAhYEFk4WUibeAjw2ACgIAgAAAAAAAAAYCAEAAAAAAAAAABkcFQYVABUCAAAAFpoDFgQ2qAMAKAloeXBhcnF1ZXQZTBwAABwAABwAABwAAACUAQAAUEFSMQ==";

const bench = (p: string) => path.join(BENCH_DIR, p);
const noLocal = { path: "" };

async function userError(p: Promise<unknown> | (() => unknown)): Promise<UserError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error("expected a UserError");
}

describe("file formats and compression", () => {
  it("reads Parquet, with int64 columns as numbers and list columns as arrays", async () => {
    const dir = tmpDir();
    writeFiles(dir, { "t.parquet": Buffer.from(PARQUET_B64, "base64") });
    const docs = await loadDocs(path.join(dir, "t.parquet"));
    expect(docs).toEqual([
      { question: "What is 1+1?", subject: "toy", choices: ["1", "2", "3", "4"], answer: 1 },
      { question: "Pick the prime.", subject: "toy", choices: ["4", "6", "7", "9"], answer: 2 },
    ]);
  });

  it("reads gzip- and bz2-compressed files", async () => {
    const dir = tmpDir();
    const jsonl = '{"a":1}\n{"a":2}\n';
    writeFiles(dir, { "x.jsonl.gz": gzipSync(jsonl), "y.csv.gz": gzipSync("a,b\n1,x\n") });
    expect(await loadDocs(path.join(dir, "x.jsonl.gz"))).toEqual([{ a: 1 }, { a: 2 }]);
    expect(await loadDocs(path.join(dir, "y.csv.gz"))).toEqual([{ a: 1, b: "x" }]);
    // A bz2 stream of '{"a":1}\n' (bzip2 -9).
    const bz = Buffer.from("QlpoOTFBWSZTWbrGTdsAAANZgAAQEAAgECAAAAogACIDZQhgEUofF3JFOFCQusZN2w==", "base64");
    writeFiles(dir, { "z.jsonl.bz2": bz, "bad.jsonl.bz2": Buffer.from("not bzip2") });
    expect(await loadDocs(path.join(dir, "z.jsonl.bz2"))).toEqual([{ a: 1 }]);
    const err = await userError(loadDocs(path.join(dir, "bad.jsonl.bz2")));
    expect(err.format()).toMatch(/bad\.jsonl\.bz2: cannot decompress.*\(expected a bzip2 file\)/);
  });

  it("names file and line for a malformed line in a compressed JSONL", async () => {
    const dir = tmpDir();
    writeFiles(dir, { "x.jsonl.gz": gzipSync('{"a":1}\n{oops\n') });
    const err = await userError(async () => {
      for await (const _ of streamDocs(path.join(dir, "x.jsonl.gz")));
    });
    expect(err.format()).toContain("x.jsonl.gz:2: malformed JSON");
  });

  it("keeps JSON object key order, integer-like keys included", () => {
    const v = parseJsonOrdered('[{"q": "x", "t": {"b": 1, "2": 0, "a": 1}}]') as Array<{
      t: Map<string, number>;
    }>;
    expect([...v[0].t.keys()]).toEqual(["b", "2", "a"]);
  });
});

describe.skipIf(!HAVE_BENCH)("the benchmarks' own formats (shared/data copies)", () => {
  it("HellaSwag text export (.txt.bz2): 10,042 items, already preprocessed", async () => {
    const docs = await readLocal(
      bench("hellaswag/hellaswag_val_full.txt.bz2"),
      { ...noLocal, format: "hellaswag" },
      (p) => p,
    );
    expect(docs).toHaveLength(10042);
    expect(docs[0]).toMatchObject({
      query: "Roof shingle removal: A man is sitting on a roof. he",
      choices: [
        "is using wrap to wrap a pair of skis.",
        "is ripping level tiles off.",
        "is holding a rubik's cube.",
        "starts pulling up roofing on a roof.",
      ],
      gold: 3,
    });
  });

  it("HumanEval .jsonl.gz: 164 problems", async () => {
    const docs = await loadDocs(bench("humaneval/HumanEval.jsonl.gz"));
    expect(docs).toHaveLength(164);
    expect(Object.keys(docs[0]).sort()).toEqual([
      "canonical_solution",
      "entry_point",
      "prompt",
      "task_id",
      "test",
    ]);
  });

  it("MMLU: the copy (header, index answers) and the original headerless letter format read the same", async () => {
    const spec = { ...noLocal, format: "mmlu_csv" };
    const copy = await readLocal(bench("mmlu/test/high_school_chemistry_test.csv"), spec, (p) => p);
    const original = await readLocal(
      bench("mmlu/high_school_chemistry_test.ORIGINAL_FORMAT.csv"),
      spec,
      (p) => p,
    );
    expect(copy).toHaveLength(203);
    expect(original.map(({ subject: _s, ...d }) => d)).toEqual(copy.map(({ subject: _s, ...d }) => d));
    expect(copy[0]).toMatchObject({ subject: "high_school_chemistry", answer: 0 });
    // Cells stay strings: abstract algebra's numeric choices are not turned into numbers.
    const aa = await readLocal(bench("mmlu/dev/abstract_algebra_dev.csv"), spec, (p) => p);
    expect(aa[0]).toEqual({
      question: "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.",
      subject: "abstract_algebra",
      choices: ["0", "1", "2", "3"],
      answer: 1,
    });
  });

  it("ARC: AI2 JSONL becomes the hub schema", async () => {
    const docs = await readLocal(
      bench("arc/ARC-Challenge-Test.jsonl"),
      { ...noLocal, format: "arc_jsonl" },
      (p) => p,
    );
    expect(docs).toHaveLength(1150);
    expect(docs[0]).toEqual({
      id: "Mercury_7175875",
      question:
        "An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most likely effect of this increase in rotation?",
      choices: {
        text: [
          "Planetary density will decrease.",
          "Planetary years will become longer.",
          "Planetary days will become shorter.",
          "Planetary gravity will become stronger.",
        ],
        label: ["A", "B", "C", "D"],
      },
      answerKey: "C",
    });
  });

  it("PIQA: questions joined with the labels file", async () => {
    const docs = await readLocal(
      bench("piqa/valid.jsonl"),
      { ...noLocal, format: "piqa_jsonl", labels: "valid-labels.lst" },
      (p) => bench(path.join("piqa", p)),
    );
    expect(docs).toHaveLength(1838);
    expect(docs.slice(0, 3).map((d) => d.label)).toEqual([0, 1, 1]);
  });

  it("TruthfulQA mc_task.json: answers in file order with their labels", async () => {
    const docs = await readLocal(
      bench("truthfulqa/mc_task.json"),
      { ...noLocal, format: "truthfulqa_mc_json" },
      (p) => p,
    );
    expect(docs).toHaveLength(817);
    expect(docs[0].mc2_targets).toEqual({
      choices: [
        "Nothing in particular happens when you eat a pomegranate.",
        "You will digest the pomegranate.",
        "You will derive nutrition from the pomegranate.",
        "You will have to spend winter in the underworld.",
        "You will be trapped in the underworld.",
        "You will die.",
      ],
      labels: [1, 1, 1, 0, 0, 0],
    });
  });

  it("MT-bench: FastChat questions become the hub schema", async () => {
    const docs = await readLocal(
      bench("mt_bench/question.jsonl"),
      { ...noLocal, format: "mt_bench_questions" },
      (p) => p,
    );
    expect(docs).toHaveLength(80);
    expect(docs[0]).toMatchObject({ prompt_id: 81, category: "writing" });
    expect(docs.every((d) => (d.prompt as string[]).length === 2)).toBe(true);
  });

  it("bad rows name file, line, field and what was expected", async () => {
    const dir = tmpDir();
    writeFiles(dir, {
      "m.csv": "question,choice0,choice1,choice2,choice3,answer\nq,a,b,c,d,E\n",
      "p.jsonl": '{"goal":"g","sol1":"a","sol2":"b"}\n',
      "p.lst": "3\n",
    });
    let err = await userError(
      readLocal(path.join(dir, "m.csv"), { ...noLocal, format: "mmlu_csv" }, (p) => p),
    );
    expect(err.format()).toBe(
      `${path.join(dir, "m.csv")}:2: answer: invalid answer 'E' (expected A-D or 0-3)`,
    );
    err = await userError(
      readLocal(path.join(dir, "p.jsonl"), { ...noLocal, format: "piqa_jsonl", labels: "p.lst" }, (p) =>
        path.join(dir, p),
      ),
    );
    expect(err.format()).toBe(`${path.join(dir, "p.lst")}:1: invalid label '3' (expected 0 or 1)`);
  });
});

describe("hub datasets: data directory, cache and download", () => {
  const yaml = (extra = "") =>
    `task: toy\ndataset_path: someone/toy_mmlu\ndataset_name: algebra\ntest_split: test\noutput_type: multiple_choice\ndoc_to_text: "{{question}}"\ndoc_to_choice: "{{choices}}"\ndoc_to_target: answer\n${extra}`;

  it("finds a split in a hub-like data directory (<repo>/<config>/<split>-*.parquet)", async () => {
    const data = tmpDir();
    const { mkdirSync } = await import("node:fs");
    mkdirSync(path.join(data, "someone/toy_mmlu/algebra"), { recursive: true });
    writeFileSync(
      path.join(data, "someone/toy_mmlu/algebra/test-00000-of-00001.parquet"),
      Buffer.from(PARQUET_B64, "base64"),
    );
    setDataDir(data);
    try {
      const task = taskFromYaml(tmpDir(), yaml());
      expect(await task.countDocs()).toBe(2);
      const fewshot = await task.fewshotState();
      const prompts: string[] = [];
      for await (const { doc } of task.streamDocs()) prompts.push(task.prompt(doc, fewshot));
      expect(prompts).toEqual(["What is 1+1?", "Pick the prime."]);
    } finally {
      setDataDir(undefined);
    }
  });

  it("a data directory without the split says where it looked", async () => {
    const data = tmpDir();
    setDataDir(data);
    try {
      const dir = tmpDir();
      const task = taskFromYaml(
        dir,
        yaml('assay:\n  local:\n    test: {path: "toy/{dataset_name}_test.csv", format: mmlu_csv}\n'),
      );
      const err = await userError(task.countDocs());
      expect(err.format()).toContain(
        `${path.join(dir, "t.yaml")}:2: dataset_path: no local copy of someone/toy_mmlu (algebra) split 'test' in the data directory ${data}`,
      );
      expect(err.format()).toContain(path.join(data, "toy/algebra_test.csv"));
    } finally {
      setDataDir(undefined);
    }
  });

  it("offline, the download fails fast with a clear message pointing to --data-dir", async () => {
    const saved = { ...process.env };
    // A just-closed loopback port refuses at once; nothing leaves the machine.
    const { createServer } = await import("node:net");
    const server = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const port = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    process.env.HF_ENDPOINT = `http://127.0.0.1:${port}`;
    process.env.ASSAY_HUB_TIMEOUT_MS = "3000";
    process.env.ASSAY_CACHE_DIR = tmpDir();
    delete process.env.ASSAY_DATA_DIR;
    try {
      const dir = tmpDir();
      const task = taskFromYaml(dir, yaml());
      const started = Date.now();
      const err = await userError(task.countDocs());
      expect(Date.now() - started).toBeLessThan(5000);
      expect(err.format()).toMatch(
        /t\.yaml:2: dataset_path: cannot reach the Hugging Face Hub \(http:\/\/127\.0\.0\.1:\d+\) to download someone\/toy_mmlu \(algebra\) split 'test': ECONNREFUSED\. Offline\? Point --data-dir \(or ASSAY_DATA_DIR\) at a local copy of the data/,
      );
    } finally {
      process.env = saved;
    }
  }, 10_000);

  it("an unknown format or hook in the assay key is a clear error", async () => {
    const dir = tmpDir();
    const bad = (extra: string) => userError(() => taskFromYaml(dir, yaml(extra)));
    let err = await bad("assay:\n  local:\n    test: {path: x.csv, format: mmlu}\n");
    expect(err.format()).toMatch(
      /t\.yaml:9: assay\.local\.test\.format: unknown format 'mmlu' \(expected one of: mmlu_csv, arc_jsonl, .*\)$/,
    );
    err = await bad("assay: {process_docs: hellaswg}\n");
    expect(err.format()).toMatch(
      /t\.yaml:9: assay\.process_docs: unknown process_docs hook "hellaswg" \(expected one of: hellaswag\)/,
    );
  });
});
