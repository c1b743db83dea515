/** `assay tasks`: every built-in task with its size, metrics and data source. */
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { BENCH_DIR, HAVE_BENCH, tmpDir } from "./helpers.js";

const SIZES: Record<string, number> = {
  arc_challenge: 1150,
  hellaswag: 10042,
  piqa: 1838,
  truthfulqa_mc1: 817,
  truthfulqa_mc2: 817,
  gsm8k: 1319,
  gsm8k_cot: 1319,
  humaneval: 164,
  mt_bench: 80,
};

describe("assay tasks", () => {
  it.skipIf(!HAVE_BENCH)(
    "lists sizes, metrics and local data sources",
    async () => {
      const r = await runCli(["tasks", "--json"], { env: { ASSAY_DATA_DIR: BENCH_DIR } });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as {
        tasks: Array<{ task: string; docs: number; metrics: string[]; source: string }>;
        groups: Array<{ group: string; tasks: number; docs: number }>;
      };
      const by = new Map(out.tasks.map((t) => [t.task, t]));
      for (const [name, n] of Object.entries(SIZES)) expect(by.get(name)?.docs, name).toBe(n);
      expect(out.tasks.filter((t) => t.task.startsWith("mmlu_"))).toHaveLength(57);
      expect(out.groups.find((g) => g.group === "mmlu")).toEqual({
        group: "mmlu",
        tasks: 57,
        docs: 14042,
        metrics: ["acc (size-weighted)"],
      });
      expect(by.get("gsm8k")?.metrics).toEqual(["exact_match,strict-match", "exact_match,flexible-extract"]);
      expect(by.get("humaneval")?.metrics).toEqual(["pass@1,create_test", "pass@10,create_test"]);
      expect(by.get("hellaswag")?.metrics).toEqual(["acc", "acc_norm"]);
      expect(by.get("mt_bench")?.metrics).toEqual(["(generation only)"]);
      expect(by.get("piqa")?.source).toBe(`${BENCH_DIR}/piqa/valid.jsonl`);
      const text = await runCli(["tasks", "gsm8k"], { env: { ASSAY_DATA_DIR: BENCH_DIR } });
      expect(text.stdout).toMatch(
        /gsm8k\s+1,319\s+5\s+exact_match,strict-match exact_match,flexible-extract\s+openai\/gsm8k\/main \[test\]/,
      );
    },
    60_000,
  );

  it("without local data, says the data comes from the hub (without downloading)", async () => {
    const r = await runCli(["tasks", "arc_challenge", "--json"], {
      env: { ASSAY_DATA_DIR: "", ASSAY_CACHE_DIR: tmpDir(), HF_ENDPOINT: "http://127.0.0.1:9" },
    });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { tasks: Array<{ docs: number | null; source: string }> };
    expect(out.tasks[0]).toMatchObject({ docs: null, source: "Hugging Face Hub (not downloaded)" });
  });

  it("a missing --data-dir is a clear error", async () => {
    const r = await runCli(["tasks", "--data-dir", "/nonexistent/dir"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "assay: error: --data-dir: no such directory: /nonexistent/dir (expected a directory)\n",
    );
  });
});
