/**
 * The real protocol end to end: `assay serve-model ngram:...` in its own process, and `assay run`
 * with the `openai` provider against it, must give the same results as running the ngram model directly.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { repoRoot, runCli } from "../helpers/cli.js";

let dir: string;
let server: ReturnType<typeof spawn> | undefined;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "assay-serve-"));
  const sentences = Array.from(
    { length: 200 },
    (_, i) => `the ${["cat", "dog", "owl"][i % 3]} sat on mat ${i % 7}.`,
  );
  writeFileSync(path.join(dir, "corpus.txt"), sentences.join("\n"));
  writeFileSync(
    path.join(dir, "data.jsonl"),
    Array.from({ length: 24 }, (_, i) =>
      JSON.stringify({
        q: `the ${["cat", "dog", "owl"][i % 3]} sat on`,
        a: `mat ${i % 7}.`,
        choices: ["mat", "log", "hat"],
        label: 0,
      }),
    ).join("\n"),
  );
  const base = "dataset_path: data.jsonl\ndoc_to_text: q\n";
  writeFileSync(
    path.join(dir, "mc.yaml"),
    `task: mc\n${base}output_type: multiple_choice\ndoc_to_choice: choices\ndoc_to_target: label\n`,
  );
  writeFileSync(path.join(dir, "ll.yaml"), `task: ll\n${base}output_type: loglikelihood\ndoc_to_target: a\n`);
  writeFileSync(
    path.join(dir, "roll.yaml"),
    `task: roll\n${base}output_type: loglikelihood_rolling\ndoc_to_target: a\n`,
  );
  writeFileSync(
    path.join(dir, "gen.yaml"),
    `task: gen\n${base}output_type: generate_until\ndoc_to_target: a\ngeneration_kwargs: {until: ["\\n"], max_gen_toks: 12}\n`,
  );
  server = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(repoRoot, "src/cli/main.ts"),
      "serve-model",
      `ngram:${path.join(dir, "corpus.txt")}?order=5`,
      "--port",
      "0",
      "--store",
      path.join(dir, "serve.db"),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  url = await new Promise<string>((resolve, reject) => {
    let out = "";
    server!.stdout!.on("data", (d) => {
      out += d;
      const m = /(http:\/\/\S+\/v1)/.exec(out);
      if (m) resolve(m[1]);
    });
    server!.once("exit", (code) => reject(new Error(`serve-model exited ${code}`)));
  });
});

afterAll(() => {
  server?.kill("SIGTERM");
});

it("openai provider against assay serve-model equals the model run directly, for every output type", async () => {
  const tasks = ["mc", "ll", "roll", "gen"].map((t) => path.join(dir, `${t}.yaml`));
  const direct = await runCli([
    "run",
    ...tasks,
    "--model",
    `ngram:${path.join(dir, "corpus.txt")}?order=5`,
    "--store",
    path.join(dir, "direct.db"),
    "--json",
  ]);
  expect(direct.code).toBe(0);
  const viaServer = await runCli([
    "run",
    ...tasks,
    "--model",
    `openai:ngram@${url}`,
    "--store",
    path.join(dir, "remote.db"),
    "--json",
  ]);
  expect(viaServer.stderr).toBe("");
  expect(viaServer.code).toBe(0);
  const a = JSON.parse(direct.stdout).runs;
  const b = JSON.parse(viaServer.stdout).runs;
  expect(b.map((r: { task: string }) => r.task)).toEqual(["mc", "ll", "roll", "gen"]);
  for (let i = 0; i < a.length; i++) {
    for (const [key, agg] of Object.entries(a[i].aggregates as Record<string, { value: number }>))
      expect(b[i].aggregates[key].value, `${a[i].task} ${key}`).toBeCloseTo(agg.value, 9);
  }
  // Usage and latency come back through the protocol.
  expect(b[0].stats.inputTokens).toBeGreaterThan(0);
  // 24 docs share 3 distinct prompts: 9 unique requests, the other 63 deduplicated or cached.
  const mc = b[0].stats;
  expect(mc.requests).toBe(9);
  expect(mc.requests + mc.cacheHits + mc.deduplicated).toBe(24 * 3);
});
