/**
 * BERTScore end to end: token embeddings over the TEI and llama.cpp server protocols (a loopback
 * server with a fixed toy model), bert-score's IDF weighting, and `assay score --metric bertscore`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bertScoreCorpus, type EmbeddedText } from "../../src/metrics/bertscore.js";
import { createTokenEmbeddingsProvider, specialPositions } from "../../src/models/token_embeddings.js";
import { type ModelProvider, ProviderError } from "../../src/models/types.js";
import { UserError } from "../../src/util/errors.js";
import { type CliResult, runCli } from "../helpers/cli.js";
import { BOS, CLS, type EmbeddingsServer, SEP, startEmbeddingsServer } from "../helpers/embeddings_server.js";

let server: EmbeddingsServer;
let dir: string;
beforeAll(async () => {
  server = await startEmbeddingsServer();
  dir = mkdtempSync(path.join(tmpdir(), "assay-bertscore-"));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A text as the toy model's TEI side embeds it. */
function teiEmbedded(text: string): EmbeddedText {
  const ids = [CLS, ...server.model.ids(text), SEP];
  return { ids, special: ids.map((id) => id === CLS || id === SEP), vectors: server.model.vectors(ids) };
}

/** One text through a provider, as the scheduler would call it. */
async function embed(provider: ModelProvider, text: string) {
  const { response } = await provider.serve({ kind: "token_embeddings", text }, new AbortController().signal);
  if (response.kind !== "token_embeddings") throw new Error(`got ${response.kind}`);
  const { kind: _kind, ...embedded } = response;
  return embedded;
}

/** One-hot vectors: similarity 1 between equal tokens, 0 otherwise. */
function oneHot(ids: number[], special: boolean[] = ids.map(() => false)): EmbeddedText {
  return { ids, special, vectors: ids.map((id) => Array.from({ length: 10 }, (_, k) => (k === id ? 1 : 0))) };
}

describe("bertScoreCorpus (bert-score's weighting)", () => {
  it("weights special tokens 0 and others 1 without IDF, and matches greedily", () => {
    // Candidate [CLS] 1 2 [SEP] against [CLS] 1 3 [SEP]: the specials match but weigh 0.
    const c = oneHot([0, 1, 2, 9], [true, false, false, true]);
    const r = oneHot([0, 1, 3, 9], [true, false, false, true]);
    const [s] = bertScoreCorpus([c], [[r]]);
    expect(s).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5 });
  });

  it("weights tokens by IDF over all references flattened: log((M + 1) / (df + 1))", () => {
    // References (M = 3 documents): {1,2}, {1,3}, {1,4}. df(1) = 3 → idf 0; df(2) = df(3) = 1 → log 2;
    // unseen 5 → log 4.
    const refs = [[oneHot([1, 2]), oneHot([1, 3])], [oneHot([1, 4])]];
    const cands = [oneHot([1, 2, 5]), oneHot([4])];
    const [a, b] = bertScoreCorpus(cands, refs, { idf: true });
    const l2 = Math.log(2);
    const l4 = Math.log(4);
    // a vs [1,2]: P = (0·1 + l2·1 + l4·0) / (l2 + l4), R = (0 + l2) / l2 = 1; vs [1,3]: P = 0, R = 0.
    const p = l2 / (l2 + l4);
    expect(a.precision).toBeCloseTo(p, 15);
    expect(a.recall).toBe(1);
    expect(a.f1).toBeCloseTo((2 * p) / (p + 1), 15);
    // b = [4] vs [1,4]: P = 1; R = (0·0 + l2·1) / l2 = 1.
    expect(b).toEqual({ precision: 1, recall: 1, f1: 1 });
    expect(() => bertScoreCorpus(cands, refs.slice(1))).toThrow(/2 candidates but 1 reference/);
  });
});

describe("token embeddings providers", () => {
  it("tei: ids with [CLS]/[SEP] marked special and one vector per token", async () => {
    const p = createTokenEmbeddingsProvider(`tei:${server.url}/`);
    expect([...p.capabilities]).toEqual(["token_embeddings"]);
    expect(await embed(p, "the cat")).toEqual(teiEmbedded("the cat"));
    const b = await embed(p, "a cat sat");
    expect(b.ids).toHaveLength(5);
    expect(b.special).toEqual([true, false, false, false, true]);
  });

  it("llama-server: the BOS that /tokenize adds is the special token; vectors from /embedding", async () => {
    const p = createTokenEmbeddingsProvider(`llama-server:${server.url}`);
    const a = await embed(p, "the dog ran");
    const ids = [BOS, ...server.model.ids("the dog ran")];
    expect(a).toEqual({ ids, special: [true, false, false, false], vectors: server.model.vectors(ids) });
    expect(specialPositions([5, 7, 8, 6], [7, 8])).toEqual([true, false, false, true]);
    expect(specialPositions([7, 7], [7])).toEqual([false, true]);
  });

  it("classifies failures for the scheduler: pooled vectors and bad shapes are final, 503 and refused connections are retried", async () => {
    const pooled = await startEmbeddingsServer({ pooled: true });
    const busy = await startEmbeddingsServer({ failFirst: 100 });
    try {
      const failure = (p: ModelProvider) => embed(p, "a b c").catch((e: ProviderError) => e);
      const e1 = await failure(createTokenEmbeddingsProvider(`llama-server:${pooled.url}`));
      expect(e1).toBeInstanceOf(ProviderError);
      expect(e1).toMatchObject({ retryable: false });
      expect((e1 as ProviderError).message).toMatch(
        /\/embedding\[0\]\.embedding: expected 4 token vectors, got 1 .*pools/,
      );
      expect(await failure(createTokenEmbeddingsProvider(`tei:${busy.url}`))).toMatchObject({
        retryable: true,
        status: 503,
      });
      const down = await failure(createTokenEmbeddingsProvider("tei:http://127.0.0.1:9"));
      expect(down).toMatchObject({ retryable: true });
      expect((down as ProviderError).message).toMatch(
        /cannot reach http:\/\/127\.0\.0\.1:9\/(tokenize|embed_all)/,
      );
      await expect(
        createTokenEmbeddingsProvider(`tei:${server.url}`).serve(
          { kind: "loglikelihood_rolling", text: "x" },
          new AbortController().signal,
        ),
      ).rejects.toThrow(/token embeddings only/);
    } finally {
      await pooled.close();
      await busy.close();
    }
  });

  it("rejects endpoints it cannot use", () => {
    for (const spec of ["http://x", "tei:", "tei:ftp://x", "ollama:http://x"])
      expect(() => createTokenEmbeddingsProvider(spec)).toThrow(UserError);
  });
});

const ITEMS = [
  {
    id: "a",
    prediction: "the cat sat on the mat",
    references: ["a cat sat on a mat", "the cat is on the mat"],
  },
  { id: "b", prediction: "dogs bark loudly", references: ["the dog barks"] },
  { id: "c", prediction: "the cat sat on the mat", references: ["the cat sat on the mat"] },
];

function itemsFile(): string {
  const p = path.join(dir, "preds.jsonl");
  writeFileSync(p, `${ITEMS.map((i) => JSON.stringify(i)).join("\n")}\n`);
  return p;
}

function expectClearError(r: CliResult, ...fragments: string[]): void {
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  for (const f of fragments) expect(r.stderr).toContain(f);
}

describe("assay score --metric bertscore", () => {
  it("reports P, R and F1 means that equal bert-score's formula over the served embeddings", async () => {
    const out = path.join(dir, "items.jsonl");
    const baseline = [0.8, 0.7, 0.75];
    const params = { bertscore: { endpoint: `tei:${server.url}`, idf: true, baseline } };
    const before = server.requests.length;
    const r = await runCli([
      "score",
      itemsFile(),
      "--metric",
      "bertscore",
      "--metric",
      "bleu",
      "--params",
      JSON.stringify(params),
      "--out",
      out,
      "--json",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const expected = bertScoreCorpus(
      ITEMS.map((i) => teiEmbedded(i.prediction)),
      ITEMS.map((i) => i.references.map(teiEmbedded)),
      { idf: true, baseline: { precision: 0.8, recall: 0.7, f1: 0.75 } },
    );
    const metrics = JSON.parse(r.stdout).metrics;
    for (const part of ["precision", "recall", "f1"] as const) {
      const mean = expected.reduce((s, e) => s + e[part], 0) / expected.length;
      expect(metrics[`bertscore_${part}`].value).toBeCloseTo(mean, 12);
      expect(metrics[`bertscore_${part}`].stderr).toBeGreaterThan(0);
    }
    expect(metrics.bleu.value).toBeGreaterThan(0);
    const perItem = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(perItem.map((p) => p.id)).toEqual(["a", "b", "c"]);
    for (const [i, p] of perItem.entries()) expect(p.scores.bertscore_f1).toBeCloseTo(expected[i].f1, 12);
    // Item c is identical to its reference: 1 before rescaling, so (1 - b) / (1 - b) after.
    expect(perItem[2].scores.bertscore_f1).toBeCloseTo(1, 12);
    // Each distinct text is embedded once: 5 distinct texts.
    expect(server.requests.slice(before).filter((q) => q === "POST /embed_all")).toHaveLength(5);
  });

  it("retries through the scheduler while the server answers 503", async () => {
    const busy = await startEmbeddingsServer({ failFirst: 3 });
    try {
      const params = { bertscore: { endpoint: `tei:${busy.url}` } };
      const args = ["score", itemsFile(), "--metric", "bertscore", "--params", JSON.stringify(params)];
      const r = await runCli([...args, "--json", "--concurrency", "1", "--max-retries", "3"]);
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout).metrics.bertscore_f1.value).toBeGreaterThan(0);
      expect(busy.requests.length).toBeGreaterThan(10); // 3 failed, then 2 per distinct text
    } finally {
      await busy.close();
    }
  });

  it("fails clearly without an endpoint, with a bad one, or when the server is down", async () => {
    const file = itemsFile();
    const score = (bertscore?: object, ...more: string[]) =>
      runCli([
        "score",
        file,
        "--metric",
        "bertscore",
        ...(bertscore ? ["--params", JSON.stringify({ bertscore })] : []),
        ...more,
      ]);
    const down = "tei:http://127.0.0.1:9";
    expectClearError(await score(), "needs an embeddings endpoint");
    expectClearError(await score({ endpoint: "x" }), "invalid token-embeddings endpoint 'x'", "tei:<url>");
    expectClearError(await score({ endpoint: down, idf: 1 }), "invalid idf");
    expectClearError(
      await score({ endpoint: down, baseline: [0.1] }),
      "invalid baseline",
      "[precision, recall, f1]",
    );
    expectClearError(
      await score({ endpoint: down }, "--max-retries", "1"),
      "embeddings request failed: tei: cannot reach http://127.0.0.1:9/",
      "--max-retries",
    );
    expectClearError(await score({ endpiont: down }), "unknown option 'endpiont'", "endpoint");
  });
});

describe("bertscore_* in a task's metric_list", () => {
  function writeTask(metricList: string): string {
    const data = Array.from({ length: 12 }, (_, i) => ({
      q: `the ${["cat", "dog", "owl"][i % 3]} sat on the`,
      a: `mat number ${i % 4} today`,
    }));
    writeFileSync(path.join(dir, "bs_data.jsonl"), `${data.map((d) => JSON.stringify(d)).join("\n")}\n`);
    writeFileSync(
      path.join(dir, "bs_corpus.txt"),
      data
        .map((d) => `${d.q} ${d.a}`)
        .join("\n")
        .repeat(3),
    );
    const file = path.join(dir, `bs_${metricList.length}.yaml`);
    writeFileSync(
      file,
      "task: bs\ndataset_path: bs_data.jsonl\ndoc_to_text: q\ndoc_to_target: a\noutput_type: generate_until\n" +
        `generation_kwargs: {until: ["\\n"], max_gen_toks: 12}\nmetric_list:\n${metricList}`,
    );
    return file;
  }

  it("scores each sample through the server; the run's means equal assay score --run over its outputs", async () => {
    const store = path.join(dir, "bs.db");
    const endpoint = `tei:${server.url}`;
    const task = writeTask(
      `  - metric: bertscore_f1\n    endpoint: ${endpoint}\n  - metric: bertscore_precision\n    endpoint: ${endpoint}\n  - metric: exact_match\n`,
    );
    const corpus = `ngram:${path.join(dir, "bs_corpus.txt")}`;
    const run = await runCli(["run", task, "-m", corpus, "--store", store, "--json"]);
    expect(run.stderr).toBe("");
    const [rec] = JSON.parse(run.stdout).runs;
    const f1 = rec.aggregates["bertscore_f1,none"];
    expect(f1.value).toBeGreaterThan(0);
    expect(f1.value).toBeLessThanOrEqual(1);
    expect(f1.stderr).toBeGreaterThan(0);
    const params = JSON.stringify({ bertscore: { endpoint } });
    const again = await runCli([
      "score",
      "--run",
      rec.id,
      "--store",
      store,
      "--metric",
      "bertscore",
      "--params",
      params,
      "--json",
    ]);
    expect(again.stderr).toBe("");
    const m = JSON.parse(again.stdout).metrics;
    expect(m.bertscore_f1.value).toBeCloseTo(f1.value, 12);
    expect(m.bertscore_precision.value).toBeCloseTo(rec.aggregates["bertscore_precision,none"].value, 12);
  });

  it("checks the options when the task loads: an endpoint is needed, IDF is for assay score", async () => {
    const corpus = `ngram:${path.join(dir, "bs_corpus.txt")}`;
    const store = path.join(dir, "bs_bad.db");
    const missing = await runCli([
      "run",
      writeTask("  - metric: bertscore_f1\n"),
      "-m",
      corpus,
      "--store",
      store,
    ]);
    expectClearError(missing, "metric 'bertscore_f1' needs an embeddings endpoint");
    const idf = await runCli([
      "run",
      writeTask("  - metric: bertscore_recall\n    endpoint: tei:http://127.0.0.1:9\n    idf: true\n"),
      "-m",
      corpus,
      "--store",
      store,
    ]);
    expectClearError(idf, "unknown option 'idf'", "one of: endpoint, baseline");
  });
});
