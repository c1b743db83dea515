import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { SCHEMA_VERSION, SqliteStore } from "../../src/store/sqlite.js";
import type { RunRecord, SampleRecord } from "../../src/store/types.js";

const run: RunRecord = {
  id: "t-1",
  task: "t",
  model: "ngram:x",
  modelId: "ngram:abc",
  config: {
    taskFile: "t.yaml",
    taskConfig: {},
    dataHashes: {},
    numFewshot: 0,
    seed: 1,
    metricKeys: ["acc,none"],
  },
  configHash: "h",
  status: "running",
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: "2026-01-01T00:00:00Z",
  versions: { assay: "0" },
  total: 2,
  stats: {
    requests: 0,
    cacheHits: 0,
    deduplicated: 0,
    retries: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    cost: 0,
    latencyHistogram: {},
    elapsedMs: 0,
  },
  aggregates: {},
};

const sample = (docId: number): SampleRecord => ({
  runId: "t-1",
  docId,
  doc: { q: `q${docId}` },
  prompt: `P${docId}`,
  target: 1,
  requests: [
    { kind: "loglikelihood", context: `P${docId}`, continuation: " a" },
    { kind: "loglikelihood", context: "", continuation: " a" },
    { kind: "generate_until", prompt: `P${docId}`, params: { until: [], max_gen_toks: 3, temperature: 0 } },
    { kind: "generate_until", prompt: "other", params: { until: [], max_gen_toks: 3, temperature: 0 } },
  ],
  responses: [{ kind: "loglikelihood", logprob: -1.5, isGreedy: true }],
  scores: { "acc,none": 1, "perplexity,none": [-1.5, 1] },
  latencyMs: 3,
  inputTokens: 4,
  outputTokens: 0,
  cost: 0,
  cached: 0,
});

describe("SQLite store", () => {
  it("migrates, round-trips runs and samples exactly, and uses WAL", async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "assay-store-")), "a.db");
    const store = new SqliteStore(file);
    await store.createRun(run);
    await store.writeBatch({
      samples: [sample(1), sample(0)],
      cache: [
        {
          key: "k",
          value: {
            response: { kind: "generate_until", text: "x" },
            usage: { inputTokens: 1, outputTokens: 1 },
          },
        },
      ],
    });
    expect(await store.getSample("t-1", 1)).toEqual(sample(1));
    const all = [];
    for await (const s of store.iterateSamples("t-1")) all.push(s);
    expect(all).toEqual([sample(0), sample(1)]);
    const scores = [];
    for await (const s of store.iterateScores("t-1")) scores.push(s);
    expect(scores).toEqual([
      { docId: 0, scores: sample(0).scores },
      { docId: 1, scores: sample(1).scores },
    ]);
    expect([...(await store.completedDocIds("t-1"))].sort()).toEqual([0, 1]);
    expect((await store.getCached(["k", "missing"])).get("k")?.response).toEqual({
      kind: "generate_until",
      text: "x",
    });
    await store.updateRun("t-1", {
      status: "completed",
      aggregates: {
        "acc,none": { value: 1, stderr: 0, ciLow: 1, ciHigh: 1, n: 2, method: "mean", higherIsBetter: true },
      },
    });
    expect((await store.getRun("t-1"))?.status).toBe("completed");
    expect(await store.findRuns("t-")).toHaveLength(1);
    await store.close();

    const raw = new Database(file, { readonly: true });
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(raw.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
    // Reopening does not re-run migrations or lose data.
    const again = new SqliteStore(file);
    expect(await again.countSamples("t-1")).toBe(2);
    await again.close();
  });

  it("refuses a database from a newer assay instead of corrupting it", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "assay-store-")), "b.db");
    const db = new Database(file);
    db.pragma("user_version = 999");
    db.close();
    expect(() => new SqliteStore(file)).toThrow(/schema version 999 is newer/);
  });
});
