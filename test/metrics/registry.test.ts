/**
 * The text metrics in the registry: options checked up front, corpus combine equal to the library's
 * corpus formula for any options, and a generate_until task run through the real engine.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTask } from "../../src/engine/runner.js";
import { type BleuOptions, corpusBleu } from "../../src/metrics/bleu.js";
import { type ChrfOptions, corpusChrf } from "../../src/metrics/chrf.js";
import {
  getMetric,
  metricNames,
  type SampleValue,
  validateMetricConfig,
} from "../../src/metrics/registry.js";
import { rougeScoreMulti } from "../../src/metrics/rouge.js";
import { corpusTer, type TerOptions } from "../../src/metrics/ter.js";
import type { NgramProvider } from "../../src/models/ngram/provider.js";
import { createNgramProvider } from "../../src/models/ngram/spec.js";
import { openStore } from "../../src/store/sqlite.js";
import type { RunRecord, SampleRecord } from "../../src/store/types.js";
import { loadTaskConfig } from "../../src/tasks/config.js";
import { Task } from "../../src/tasks/task.js";
import { UserError } from "../../src/util/errors.js";

const HYPS = [
  "The cat sat on the mat.",
  "A dog barked loudly at the mailman",
  "hello",
  "Tokyo is the capital of Japan, isn't it?",
  "",
];
const REFS = [
  ["The cat is sitting on the mat.", "A cat sat on a mat."],
  ["The dog barked at the postman loudly"],
  ["Hello there"],
  ["The capital of Japan is Tokyo."],
  ["nothing"],
];

/** Scores HYPS with the registry's scorer and combines the summed vectors, as the engine does. */
function registryCorpus(name: string, options: Record<string, unknown>): number {
  const def = getMetric(name);
  const scorer = def.generation!(options);
  const vs = HYPS.map((h, i) => scorer(h, REFS[i]) as number[]);
  const sums = vs[0].map((_, k) => vs.reduce((s, v) => s + v[k], 0));
  return def.combine!(sums);
}

function catchUserError(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error("expected a UserError");
}

describe("registered text metrics", () => {
  it("registers every text metric with its direction and aggregation", () => {
    const names = metricNames();
    const expected: Array<[string, "mean" | "corpus", boolean]> = [
      ["bleu", "corpus", true],
      ["chrf", "corpus", true],
      ["ter", "corpus", false],
      ["bleu_sentence", "mean", true],
      ["chrf_sentence", "mean", true],
      ["rouge1", "mean", true],
      ["rouge2", "mean", true],
      ["rougeL", "mean", true],
      ["rougeLsum", "mean", true],
      ["f1", "mean", true],
      ["squad_f1", "mean", true],
      ["squad_em", "mean", true],
      ["edit_similarity", "mean", true],
      ["exact_match", "mean", true],
    ];
    for (const [name, aggregation, higher] of expected) {
      expect(names).toContain(name);
      const def = getMetric(name);
      expect([name, def.aggregation, def.higherIsBetter]).toEqual([name, aggregation, higher]);
      expect(def.outputTypes).toContain("generate_until");
      expect(def.generation).toBeTypeOf("function");
    }
  });

  it.each<[string, BleuOptions & Record<string, unknown>, BleuOptions]>([
    ["defaults", {}, {}],
    ["intl, lowercase", { tokenize: "intl", lowercase: true }, { tokenize: "intl", lowercase: true }],
    ["floor 0.1", { smooth_method: "floor", smooth_value: 0.1 }, { smoothMethod: "floor", smoothValue: 0.1 }],
    ["floor default", { smooth_method: "floor", smooth_value: null }, { smoothMethod: "floor" }],
    ["add-k 0.3", { smooth_method: "add-k", smooth_value: 0.3 }, { smoothMethod: "add-k", smoothValue: 0.3 }],
    ["none, char", { smooth_method: "none", tokenize: "char" }, { smoothMethod: "none", tokenize: "char" }],
    ["effective order", { effective_order: true }, { effectiveOrder: true }],
    ["order 2", { max_ngram_order: 2 }, { maxNgramOrder: 2 }],
  ])("corpus BLEU (%s) equals corpusBleu exactly", (_, options, lib) => {
    expect(registryCorpus("bleu", options)).toBe(corpusBleu(HYPS, REFS, lib).score);
  });

  it.each<[string, Record<string, unknown>, ChrfOptions]>([
    ["chrF", {}, {}],
    ["chrF++", { word_order: 2 }, { wordOrder: 2 }],
    ["beta 1, lowercase", { beta: 1, lowercase: true }, { beta: 1, lowercase: true }],
    ["beta 0.5", { beta: 0.5 }, { beta: 0.5 }],
    [
      "eps smoothing, whitespace",
      { eps_smoothing: true, whitespace: true },
      { epsSmoothing: true, whitespace: true },
    ],
    ["char 4 + word 1", { char_order: 4, word_order: 1 }, { charOrder: 4, wordOrder: 1 }],
  ])("corpus %s equals corpusChrf exactly", (_, options, lib) => {
    expect(registryCorpus("chrf", options)).toBe(corpusChrf(HYPS, REFS, lib).score);
  });

  it.each<[string, Record<string, unknown>, TerOptions]>([
    ["defaults", {}, {}],
    [
      "case sensitive, no punct",
      { case_sensitive: true, no_punct: true },
      { caseSensitive: true, noPunct: true },
    ],
    [
      "normalized, asian",
      { normalized: true, asian_support: true },
      { normalized: true, asianSupport: true },
    ],
  ])("corpus TER (%s) equals corpusTer exactly", (_, options, lib) => {
    expect(registryCorpus("ter", options)).toBe(corpusTer(HYPS, REFS, lib).score);
  });

  it("scores mean metrics per sample", () => {
    const s = (name: string, o: Record<string, unknown> = {}) => getMetric(name).generation!(o);
    expect(s("rougeL")("the cat sat", ["a dog", "the cat sat"])).toBe(1);
    expect(s("rouge1", { use_stemmer: true })("cats running", ["cat runs"])).toBe(1);
    expect(s("rouge1")("cats running", ["cat runs"])).toBe(0);
    expect(s("squad_em")("The Answer!", ["answer"])).toBe(1);
    expect(s("f1")("the big cat", ["big dog"])).toBe(0.5);
    expect(s("squad_f1")("the big cat", ["big dog"])).toBe(0.5);
    expect(s("edit_similarity")("kitten", ["sitting", "kitte"])).toBeCloseTo(5 / 6, 15);
    expect(s("bleu_sentence")("hello", ["hello there"])).toBeCloseTo(100 * Math.exp(1 - 2), 12);
    expect(s("chrf_sentence")("abc", ["abc"])).toBe(100);
    expect(s("exact_match", { ignore_case: true })("Yes", ["yes"])).toBe(1);
  });

  it("rejects unknown options with the valid ones and the nearest name", () => {
    const e = catchUserError(() =>
      validateMetricConfig({ metric: "bleu", tokenizer: "intl" }, { file: "t.yaml", line: 7 }),
    );
    expect(e.format()).toBe(
      "t.yaml:7: metric_list: metric 'bleu': unknown option 'tokenizer' (expected one of: tokenize, smooth_method, smooth_value, lowercase, effective_order, max_ngram_order). did you mean 'tokenize'?",
    );
    expect(
      catchUserError(() => validateMetricConfig({ metric: "rougeL", stemmer: true })).format(),
    ).toContain("did you mean 'use_stemmer'?");
    expect(catchUserError(() => validateMetricConfig({ metric: "squad_f1", x: 1 })).format()).toContain(
      "expected no options",
    );
    // lm-eval's own keys are not metric options.
    expect(
      validateMetricConfig({
        metric: "ter",
        aggregation: "ter",
        higher_is_better: false,
        case_sensitive: true,
      }).name,
    ).toBe("ter");
  });

  it.each<[Record<string, unknown>, string]>([
    [{ metric: "bleu", tokenize: "int" }, 'invalid tokenize "int" (expected 13a | intl | char | none)'],
    [{ metric: "bleu", smooth_method: "add_k" }, "(expected exp | floor | add-k | none)"],
    [{ metric: "bleu", max_ngram_order: 0 }, "invalid max_ngram_order 0 (expected an integer ≥ 1)"],
    [{ metric: "bleu", lowercase: "yes" }, 'invalid lowercase "yes" (expected true or false)'],
    [{ metric: "chrf", word_order: 1.5 }, "invalid word_order 1.5"],
    [{ metric: "chrf", char_order: 0 }, "char_order + word_order > 0"],
    [{ metric: "chrf", beta: -1 }, "invalid beta -1 (expected a number > 0)"],
    [{ metric: "ter", normalized: 1 }, "invalid normalized 1"],
    [{ metric: "exact_match", regexes_to_ignore: ["(unclosed"] }, "invalid regexes_to_ignore"],
  ])("rejects ill-typed options: %j", (config, message) => {
    const e = catchUserError(() => validateMetricConfig(config as { metric: string }, { file: "t.yaml" }));
    expect(e.format()).toMatch(/^t\.yaml: metric_list: metric '/);
    expect(e.format()).toContain(message);
  });
});

// --- through the engine -----------------------------------------------------------------------------

const WORDS = "the a cat dog bird sat ran flew on under over mat log tree quickly slowly red big small".split(
  " ",
);

/** Deterministic pseudo-random sentences (LCG), so the data is the same on every run. */
function sentences(count: number, seed: number): string[] {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  return Array.from({ length: count }, () =>
    Array.from({ length: 3 + Math.floor(next() * 6) }, () => WORDS[Math.floor(next() * WORDS.length)]).join(
      " ",
    ),
  );
}

describe("generate_until task through the engine", () => {
  let dir: string;
  let provider: NgramProvider;
  const N = 40;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "assay-registry-"));
    const src = sentences(N, 7);
    const tgt = sentences(N, 11);
    // Half the targets are in the training text, so predictions partly match their references.
    const key = (i: number) => `#${String(i).padStart(2, "0")}`;
    const docs = src.map((s, i) => ({
      key: key(i),
      src: s,
      tgt: i % 2 === 0 ? tgt[i] : `${tgt[i]} ${s}`,
      alt: [tgt[i], s],
    }));
    writeFileSync(path.join(dir, "data.jsonl"), `${docs.map((d) => JSON.stringify(d)).join("\n")}\n`);
    writeFileSync(
      path.join(dir, "train.txt"),
      src
        .map((s, i) => `${s}\n${key(i)}= ${tgt[i]}\n`)
        .join("")
        .repeat(2),
    );
    // Byte-level order 8: the 7-byte context "#NN= " after the prompt picks the doc's answer.
    provider = await createNgramProvider(`ngram:${path.join(dir, "train.txt")}?order=8`, {
      cacheDir: path.join(dir, "cache"),
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function runMt(
    metricList: string,
    target = "{{tgt}}",
  ): Promise<{ run: RunRecord; samples: SampleRecord[] }> {
    const yaml = [
      "task: mt",
      "dataset_path: data.jsonl",
      "output_type: generate_until",
      'doc_to_text: "{{src}}\\n{{key}}="',
      `doc_to_target: "${target}"`,
      'generation_kwargs: {until: ["\\n"], max_gen_toks: 80}',
      `metric_list: ${metricList}`,
      "",
    ].join("\n");
    const file = path.join(dir, `task-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, yaml);
    const store = openStore(path.join(dir, `${path.basename(file)}.db`));
    try {
      const run = await runTask({ task: new Task(loadTaskConfig(file)), provider, store, fresh: true });
      const samples: SampleRecord[] = [];
      for await (const s of store.iterateSamples(run.id)) samples.push(s);
      return { run, samples };
    } finally {
      await store.close();
    }
  }

  const predictionsOf = (samples: SampleRecord[]) => samples.map((s) => s.filtered!.none[0]);

  it("reports corpus BLEU/chrF/TER equal to the library over the stored predictions, with bootstrap CIs", async () => {
    const { run, samples } = await runMt("[{metric: bleu}, {metric: chrf}, {metric: ter}, {metric: rougeL}]");
    expect(run.status).toBe("completed");
    expect(samples).toHaveLength(N);
    const preds = predictionsOf(samples);
    const refs = samples.map((s) => [String(s.target)]);
    expect(new Set(preds).size).toBeGreaterThan(5);

    const bleu = run.aggregates["bleu,none"];
    expect(bleu.value).toBe(corpusBleu(preds, refs).score);
    expect(bleu.value).toBeGreaterThan(1);
    expect(bleu.value).toBeLessThan(100);
    const chrf = run.aggregates["chrf,none"];
    expect(chrf.value).toBe(corpusChrf(preds, refs).score);
    const ter = run.aggregates["ter,none"];
    expect(ter.value).toBe(corpusTer(preds, refs).score);
    for (const [a, higher] of [
      [bleu, true],
      [chrf, true],
      [ter, false],
    ] as const) {
      expect(a).toMatchObject({ method: "bootstrap", n: N, higherIsBetter: higher });
      expect(a.stderr).toBeGreaterThan(0);
      expect(a.ciLow).toBeLessThan(a.ciHigh);
      expect(a.ciLow).toBeLessThanOrEqual(a.value);
      expect(a.ciHigh).toBeGreaterThanOrEqual(a.value);
    }

    const rougeL = preds.map((p, i) => rougeScoreMulti(refs[i], p, ["rougeL"]).rougeL.fmeasure);
    const mean = rougeL.reduce((a, b) => a + b, 0) / N;
    expect(run.aggregates["rougeL,none"]).toMatchObject({ method: "mean", n: N, higherIsBetter: true });
    expect(run.aggregates["rougeL,none"].value).toBeCloseTo(mean, 12);
  });

  it("passes metric_list options to the metrics, with several references per doc", async () => {
    const { run, samples } = await runMt(
      "[{metric: bleu, tokenize: char, smooth_method: add-k, lowercase: true}, {metric: chrf, word_order: 2}, " +
        "{metric: ter, case_sensitive: true, no_punct: true}, {metric: rougeL, use_stemmer: true}]",
      "{{alt}}",
    );
    const preds = predictionsOf(samples);
    const refs = samples.map((s) => (s.target as unknown[]).map(String));
    expect(refs[0]).toHaveLength(2);
    expect(run.aggregates["bleu,none"].value).toBe(
      corpusBleu(preds, refs, { tokenize: "char", smoothMethod: "add-k", lowercase: true }).score,
    );
    expect(run.aggregates["chrf,none"].value).toBe(corpusChrf(preds, refs, { wordOrder: 2 }).score);
    expect(run.aggregates["ter,none"].value).toBe(
      corpusTer(preds, refs, { caseSensitive: true, noPunct: true }).score,
    );
    const rougeL = preds.map(
      (p, i) => rougeScoreMulti(refs[i], p, ["rougeL"], { useStemmer: true }).rougeL.fmeasure,
    );
    expect(run.aggregates["rougeL,none"].value).toBeCloseTo(rougeL.reduce((a, b) => a + b, 0) / N, 12);
    // Stored per-sample values are the statistic vectors the aggregate was summed from.
    const stats = samples[0].scores["bleu,none"] as SampleValue;
    expect(Array.isArray(stats)).toBe(true);
  });

  it("fails a bad metric option with a UserError naming the option", async () => {
    await expect(runMt("[{metric: bleu, tokenizer: intl}]")).rejects.toThrow(
      /metric 'bleu': unknown option 'tokenizer'/,
    );
  });
});
