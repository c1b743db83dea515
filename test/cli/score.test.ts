/** `assay score`: hand-known values, signatures, per-item output, golden cases and clear errors. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusChrf } from "../../src/metrics/chrf.js";
import { compareDeep } from "../golden/compare.js";
import { type CliResult, repoRoot, runCli } from "../helpers/cli.js";

let dir: string;

function write(name: string, lines: unknown[]): string {
  const p = path.join(dir, name);
  writeFileSync(p, `${lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n")}\n`);
  return p;
}

function expectClearError(r: CliResult, ...fragments: string[]): void {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^assay: error: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  for (const f of fragments) expect(r.stderr).toContain(f);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "assay-score-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// One exact pair and one with no shared word: 13a tokens 6+4 on both sides, matches 6/5/4/3 of 10/8/6/4.
const ITEMS = [
  { id: "same", prediction: "the cat sat on the mat", references: ["the cat sat on the mat"] },
  { id: "other", prediction: "a b c d", references: "w x y z" },
];
const BLEU = 100 * Math.exp((Math.log(6 / 10) + Math.log(5 / 8) + Math.log(4 / 6) + Math.log(3 / 4)) / 4);

describe("assay score", () => {
  it("computes hand-known corpus and mean values with intervals and signatures", async () => {
    const file = write("p.jsonl", ITEMS);
    const out = path.join(dir, "items.jsonl");
    const args = [
      "score",
      file,
      "--metric",
      "bleu",
      "--metric",
      "ter",
      "--metric",
      "chrf",
      "--metric",
      "rouge",
    ];
    const r = await runCli([...args, "--metric", "squad_em", "--json", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.n).toBe(2);
    const m = res.metrics;
    expect(Object.keys(m)).toEqual([
      "bleu",
      "ter",
      "chrf",
      "rouge1",
      "rouge2",
      "rougeL",
      "rougeLsum",
      "squad_em",
    ]);
    expect(m.bleu.value).toBeCloseTo(BLEU, 10);
    expect(m.bleu).toMatchObject({ method: "bootstrap", n: 2, higherIsBetter: true });
    expect(m.bleu.signature).toBe("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
    expect(m.bleu.ciLow).toBeLessThanOrEqual(m.bleu.value);
    expect(m.bleu.ciHigh).toBeGreaterThanOrEqual(m.bleu.value);
    expect(m.ter.value).toBeCloseTo(40, 10); // 4 substitutions over 10 reference words
    expect(m.ter).toMatchObject({ method: "bootstrap", higherIsBetter: false });
    expect(m.ter.signature).toBe("nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0");
    const refs = ITEMS.map((i) => (Array.isArray(i.references) ? i.references : [i.references]));
    expect(m.chrf.value).toBe(
      corpusChrf(
        ITEMS.map((i) => i.prediction),
        refs,
      ).score,
    );
    expect(m.chrf.signature).toBe("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0");
    for (const k of ["rouge1", "rouge2", "rougeL", "rougeLsum", "squad_em"]) {
      // Per item 1 and 0: mean 0.5, sample stderr sqrt(0.5 / 2) = 0.5.
      expect(m[k]).toMatchObject({ value: 0.5, stderr: 0.5, method: "mean", n: 2 });
      expect(m[k].signature).toBeUndefined();
    }

    const items = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(items.map((i) => i.id)).toEqual(["same", "other"]);
    expect(items[0].scores).toMatchObject({ ter: 0, chrf: 100, rougeL: 1, squad_em: 1 });
    expect(items[0].scores.bleu).toBeCloseTo(100, 10);
    expect(items[1].scores).toMatchObject({ bleu: 0, ter: 100, chrf: 0, rougeL: 0, squad_em: 0 });
  });

  it("prints a table; --params reaches every metric with the option, or one metric by name", async () => {
    const file = write("p2.jsonl", ITEMS);
    const r = await runCli([
      "score",
      file,
      "--metric",
      "bleu",
      "--metric",
      "chrf",
      "--metric",
      "rougeL",
      "--params",
      '{"tokenize":"intl","lowercase":true,"chrf":{"word_order":2},"use_stemmer":true}',
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Metric\s+Value\s+± Stderr\s+95% CI\s+n\s+Method/);
    expect(r.stdout).toMatch(
      new RegExp(`\\nbleu\\s+${BLEU.toFixed(4)}\\s+± \\d+\\.\\d{4}\\s+\\[.*\\]\\s+2\\s+bootstrap`),
    );
    expect(r.stdout).toContain("bleu signature: nrefs:1|case:lc|eff:no|tok:intl|smooth:exp|version:2.6.0");
    expect(r.stdout).toContain("chrf signature: nrefs:1|case:lc|eff:yes|nc:6|nw:2|space:no|version:2.6.0");
    expect(r.stdout).toMatch(/\nrougeL\s+0\.5000\s+± 0\.5000/);
    expect(r.stdout).toContain("2 items");
  });

  it("reads list and string references, reporting nrefs:var when counts differ", async () => {
    const file = write("p3.jsonl", [
      { prediction: "hello world", references: ["hello world", "hi world"] },
      { prediction: "good day", references: "good day" },
    ]);
    const r = await runCli(["score", file, "--metric", "bleu_sentence", "--json"]);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout).metrics.bleu_sentence;
    // Two-word exact matches: effective order keeps orders 1–2, each precision 100.
    expect(m.value).toBeCloseTo(100, 10);
    expect(m.signature).toBe("nrefs:var|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0");
  });
});

const GOLDEN = path.resolve(repoRoot, "../shared/golden/metrics");
const haveGolden = existsSync(path.join(GOLDEN, "bleu.jsonl"));

describe.skipIf(!haveGolden)(
  "assay score --cases (golden metrics; skipped when ../shared is missing)",
  () => {
    it.each(["bleu", "chrf", "ter", "rouge", "nltk_bleu", "squad"])(
      "reproduces every %s case",
      async (name) => {
        const file = path.join(GOLDEN, `${name}.jsonl`);
        const r = await runCli(["score", file, "--cases"]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const cases = readFileSync(file, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l));
        const got = r.stdout
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l));
        expect(got.map((g) => g.id)).toEqual(cases.map((c) => c.id));
        const mismatches = cases
          .map((c, i) => [c.id, compareDeep(got[i].value, c.expected, 1e-9, 0)])
          .filter(([, m]) => m !== null);
        expect(mismatches).toEqual([]);
      },
    );
  },
);

describe("assay score: bad input fails clearly", () => {
  it("names file, line and field for a missing prediction", async () => {
    const file = write("bad1.jsonl", [ITEMS[0], { id: "x", references: ["r"] }]);
    const r = await runCli(["score", file, "--metric", "bleu"]);
    expectClearError(r, "bad1.jsonl:2: prediction: missing field", "expected the predicted text");
  });

  it("rejects empty or mistyped references", async () => {
    const file = write("bad2.jsonl", [{ prediction: "p", references: [] }]);
    expectClearError(
      await runCli(["score", file, "--metric", "rougeL"]),
      "bad2.jsonl:1: references:",
      "non-empty list of strings",
    );
    const file3 = write("bad3.jsonl", [ITEMS[0], ITEMS[1], { prediction: "p", references: [1] }]);
    expectClearError(await runCli(["score", file3, "--metric", "chrf"]), "bad3.jsonl:3: references:");
  });

  it("names malformed JSON lines", async () => {
    const file = write("bad4.jsonl", [ITEMS[0], '{"prediction": "x"']);
    expectClearError(await runCli(["score", file, "--metric", "bleu"]), "bad4.jsonl:2:", "malformed JSON");
  });

  it("suggests the nearest metric name", async () => {
    const file = write("ok.jsonl", ITEMS);
    const [near, acc, none] = await Promise.all([
      runCli(["score", file, "--metric", "bleuu"]),
      runCli(["score", file, "--metric", "acc"]),
      runCli(["score", file]),
    ]);
    expectClearError(near, "--metric: unknown metric 'bleuu'", "did you mean 'bleu'");
    expectClearError(acc, "unknown metric 'acc'");
    expectClearError(none, "--metric: no metric given");
  });

  it("rejects bad --params: JSON, keys and values", async () => {
    const file = write("ok2.jsonl", ITEMS);
    const score = (params: string) => runCli(["score", file, "--metric", "bleu", "--params", params]);
    const [notJson, notObject, unknownKey, badValue, wrongMetric] = await Promise.all(
      [
        '{"tokenize": intl}',
        '["intl"]',
        '{"tokenizer":"intl"}',
        '{"tokenize":"int"}',
        '{"bleu":{"word_order":2}}',
      ].map(score),
    );
    expectClearError(notJson, "--params: not valid JSON", "expected a JSON object");
    expectClearError(notObject, "--params: not a JSON object");
    expectClearError(unknownKey, "option 'tokenizer' applies to none of bleu", "did you mean 'tokenize'");
    expectClearError(badValue, "metric 'bleu': invalid tokenize \"int\"", "13a | intl");
    expectClearError(wrongMetric, "metric 'bleu': unknown option 'word_order'");
  });

  it("rejects an empty or missing predictions file", async () => {
    const [empty, blank, missing, emptyCases] = await Promise.all([
      runCli(["score", write("empty.jsonl", []), "--metric", "bleu"]),
      runCli(["score", write("blank.jsonl", ["", "  "]), "--metric", "chrf"]),
      runCli(["score", path.join(dir, "nope.jsonl"), "--metric", "bleu"]),
      runCli(["score", write("empty_cases.jsonl", []), "--cases"]),
    ]);
    expectClearError(empty, "empty.jsonl: no predictions", "expected JSONL lines {prediction, references}");
    expectClearError(blank, "blank.jsonl: no predictions");
    expectClearError(missing, "nope.jsonl: cannot read file");
    expectClearError(emptyCases, "empty_cases.jsonl: no cases");
  });

  it("rejects missing references and, in cases, prediction/reference count mismatches", async () => {
    const good = {
      id: "m1",
      metric: "bleu",
      params: { level: "corpus" },
      predictions: ["a b", "c d"],
      references: [["a b"], ["c d"]],
    };
    const [noRefs, fewer, more] = await Promise.all([
      runCli(["score", write("norefs.jsonl", [ITEMS[0], { prediction: "p" }]), "--metric", "bleu"]),
      runCli(["score", write("fewer.jsonl", [{ ...good, references: [["a b"]] }]), "--cases"]),
      runCli(["score", write("more.jsonl", [{ ...good, predictions: ["a b"], params: {} }]), "--cases"]),
    ]);
    expectClearError(noRefs, "norefs.jsonl:2: references: missing field", "a reference string");
    expectClearError(fewer, "fewer.jsonl:1: references: not one reference list per prediction", "expected 2");
    expectClearError(more, "more.jsonl:1: references: not one reference list per prediction", "expected 1");
  });

  it("rejects --params values of the wrong type or out of range, naming metric and option", async () => {
    const file = write("ok3.jsonl", ITEMS);
    const score = (metric: string, params: string) =>
      runCli(["score", file, "--metric", metric, "--params", params]);
    const results = await Promise.all([
      score("bleu", '{"lowercase":"yes"}'),
      score("bleu", '{"max_ngram_order":0}'),
      score("bleu", '{"smooth_value":-1}'),
      score("chrf", '{"chrf":{"beta":0}}'),
      score("chrf", '{"char_order":2.5}'),
      score("chrf", '{"char_order":0,"word_order":0}'),
      score("ter", '{"normalized":1}'),
      score("rougeL", '{"use_stemmer":"true"}'),
    ]);
    const expected = [
      ["metric 'bleu': invalid lowercase \"yes\"", "expected true or false"],
      ["metric 'bleu': invalid max_ngram_order 0", "expected an integer ≥ 1"],
      ["metric 'bleu': invalid smooth_value -1", "expected a number ≥ 0 or null"],
      ["metric 'chrf': invalid beta 0", "expected a number > 0"],
      ["metric 'chrf': invalid char_order 2.5", "expected an integer ≥ 0"],
      ["metric 'chrf': invalid char_order 0", "char_order + word_order > 0"],
      ["metric 'ter': invalid normalized 1", "expected true or false"],
      ["metric 'rougeL': invalid use_stemmer \"true\"", "expected true or false"],
    ];
    for (const [i, r] of results.entries()) expectClearError(r, "--params:", ...expected[i]);
  });

  it("rejects out-of-range case parameters with file:line", async () => {
    const c = {
      id: "p1",
      metric: "bleu",
      params: { level: "sentence", max_ngram_order: 0 },
      predictions: ["a b"],
      references: [["a b"]],
    };
    const [order, beta] = await Promise.all([
      runCli(["score", write("case_order.jsonl", [c]), "--cases"]),
      runCli([
        "score",
        write("case_beta.jsonl", [{ ...c, metric: "chrf", params: { level: "sentence", beta: -2 } }]),
        "--cases",
      ]),
    ]);
    expectClearError(order, "case_order.jsonl:1: params: metric 'bleu': invalid max_ngram_order 0");
    expectClearError(beta, "case_beta.jsonl:1: params: metric 'chrf': invalid beta -2");
  });

  it("validates golden cases with file:line", async () => {
    const good = {
      id: "c1",
      metric: "bleu",
      params: { level: "sentence", tokenize: "13a" },
      predictions: ["a b"],
      references: [["a b"]],
    };
    const ok = await runCli(["score", write("cases0.jsonl", [good]), "--cases"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ id: "c1", value: { sys_len: 2, ref_len: 2 } });
    const [blue, smooth, noRefs, withMetric] = await Promise.all([
      runCli(["score", write("cases1.jsonl", [good, { ...good, metric: "blue" }]), "--cases"]),
      runCli([
        "score",
        write("cases2.jsonl", [{ ...good, params: { level: "sentence", smooth: "exp" } }]),
        "--cases",
      ]),
      runCli(["score", write("cases3.jsonl", [{ ...good, references: [] }]), "--cases"]),
      runCli(["score", write("cases4.jsonl", [good]), "--cases", "--metric", "bleu"]),
    ]);
    expectClearError(blue, 'cases1.jsonl:2: metric: unknown metric "blue"', "did you mean 'bleu'");
    expectClearError(smooth, "cases2.jsonl:1: params: metric 'bleu': unknown option 'smooth'");
    expectClearError(noRefs, "cases3.jsonl:1: references:");
    expectClearError(withMetric, "--metric: --cases takes each case's metric");
  });
});

describe("assay score --run: a stored generation run's outputs", () => {
  let store: string;
  let runs: Array<{
    id: string;
    task: string;
    aggregates: Record<string, { value: number; stderr: number }>;
  }>;
  const runOf = (task: string) => runs.find((r) => r.task === task)!;

  beforeAll(async () => {
    const data = Array.from({ length: 24 }, (_, i) => ({
      q: `the ${["cat", "dog", "owl"][i % 3]} sat on the`,
      a: `mat number ${i % 5} of the day`,
    }));
    write("run_data.jsonl", data);
    writeFileSync(
      path.join(dir, "corpus.txt"),
      data
        .map((d) => `${d.q} ${d.a}`)
        .join("\n")
        .repeat(3),
    );
    const base = "dataset_path: run_data.jsonl\ndoc_to_text: q\n";
    writeFileSync(
      path.join(dir, "gen.yaml"),
      `task: gen\n${base}doc_to_target: a\noutput_type: generate_until\n` +
        'generation_kwargs: {until: ["\\n"], max_gen_toks: 16}\nmetric_list:\n  - metric: bleu\n  - metric: chrf\n',
    );
    writeFileSync(
      path.join(dir, "mc.yaml"),
      `task: mc\n${base}doc_to_target: 0\ndoc_to_choice: ["mat", "hat"]\noutput_type: multiple_choice\n`,
    );
    store = path.join(dir, "runs.db");
    const r = await runCli([
      "run",
      path.join(dir, "gen.yaml"),
      path.join(dir, "mc.yaml"),
      "-m",
      `ngram:${path.join(dir, "corpus.txt")}`,
      "--store",
      store,
      "--json",
    ]);
    expect(r.code).toBe(0);
    runs = JSON.parse(r.stdout).runs;
  });

  it("equals the run's own corpus BLEU and chrF, and scores metrics the task did not list", async () => {
    const gen = runOf("gen");
    expect(gen.aggregates["bleu,none"].value).toBeGreaterThan(0);
    const out = path.join(dir, "run_items.jsonl");
    const r = await runCli([
      "score",
      "--run",
      gen.id.slice(0, 6),
      "--store",
      store,
      ...["bleu", "chrf", "rougeL"].flatMap((m) => ["--metric", m]),
      "--out",
      out,
      "--json",
    ]);
    expect(r.stderr).toBe("");
    const res = JSON.parse(r.stdout);
    expect(res).toMatchObject({ run: gen.id, filter: "none", n: 24 });
    for (const m of ["bleu", "chrf"]) {
      expect(res.metrics[m].value).toBeCloseTo(gen.aggregates[`${m},none`].value, 12);
      expect(res.metrics[m].stderr).toBeCloseTo(gen.aggregates[`${m},none`].stderr, 12);
    }
    expect(res.metrics.rougeL.value).toBeGreaterThan(0);
    const ids = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).id);
    expect(ids).toEqual([...Array(24).keys()]);
  });

  it("fails clearly on a run that is not a generation run, an unknown filter or a missing source", async () => {
    const [mc, filter, both, none, cases] = await Promise.all([
      runCli(["score", "--run", runOf("mc").id, "--store", store, "--metric", "bleu"]),
      runCli(["score", "--run", runOf("gen").id, "--filter", "strict", "--store", store, "--metric", "bleu"]),
      runCli(["score", write("both.jsonl", ITEMS), "--run", runOf("gen").id, "--metric", "bleu"]),
      runCli(["score", "--metric", "bleu"]),
      runCli(["score", "--run", runOf("gen").id, "--store", store, "--cases"]),
    ]);
    expectClearError(mc, "--run: run mc-", "is a multiple_choice run", "a generate_until run");
    expectClearError(filter, "--filter: run gen-", "has no filter 'strict'", "one of: none");
    expectClearError(both, "give a predictions file or --run, not both");
    expectClearError(none, "predictions: nothing to score");
    expectClearError(cases, "--cases reads a file, not a run");
  });
});
