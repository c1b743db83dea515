/**
 * Throughput: a 20,000-sample generate_until task with exact_match at concurrency 64 against an
 * instant loopback OpenAI-compatible server, compared with that server's raw HTTP ceiling
 * (autocannon, same concurrency, same request body) measured in the same run.
 */
import path from "node:path";
import autocannon from "autocannon";
import { runTask } from "../dist/engine/runner.js";
import { createOpenAIProvider } from "../dist/models/openai.js";
import { SqliteStore } from "../dist/store/sqlite.js";
import { loadTaskConfig } from "../dist/tasks/config.js";
import { Task } from "../dist/tasks/task.js";
import { benchLine, startInstantServerProcess, tempDir, writeGenerationTask } from "./common.mjs";

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20_000);
const CONCURRENCY = 64;

const server = await startInstantServerProcess();
try {
  const body = JSON.stringify({
    model: "instant",
    prompt: "Q: What is item 1?\nA:",
    max_tokens: 16,
    stop: ["\n"],
    temperature: 0,
  });
  // The ceiling is measured before and after assay's run and averaged: this machine's load drifts.
  const measureCeiling = async () =>
    (
      await autocannon({
        url: `${server.url}/completions`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections: CONCURRENCY,
        duration: 5,
      })
    ).requests.average;
  const ceilingBefore = await measureCeiling();

  const dir = tempDir("throughput");
  const yaml = await writeGenerationTask(dir, SAMPLES);
  const store = new SqliteStore(path.join(dir, "assay.db"));
  const provider = createOpenAIProvider(`openai:instant@${server.url}`, { mode: "completions" });
  const task = new Task(loadTaskConfig(yaml));
  const t0 = performance.now();
  const run = await runTask({ task, provider, store, scheduler: { concurrency: CONCURRENCY } });
  const secs = (performance.now() - t0) / 1000;
  await provider.close();
  await store.close();
  if (run.status !== "completed" || run.aggregates["exact_match,none"].value !== 1)
    throw new Error("bench run failed");
  const ceilingPerS = (ceilingBefore + (await measureCeiling())) / 2;
  const samplesPerS = SAMPLES / secs;
  console.log(`raw ceiling (autocannon, ${CONCURRENCY} connections): ${ceilingPerS.toFixed(0)} req/s`);
  console.log(`assay: ${SAMPLES} samples in ${secs.toFixed(2)} s = ${samplesPerS.toFixed(0)} samples/s`);
  console.log(`ratio: ${(samplesPerS / ceilingPerS).toFixed(3)} (target ≥ 0.25)`);
  benchLine({
    bench: "throughput",
    samples: SAMPLES,
    concurrency: CONCURRENCY,
    samples_per_s: Math.round(samplesPerS),
    ceiling_per_s: Math.round(ceilingPerS),
    ratio: Number((samplesPerS / ceilingPerS).toFixed(3)),
  });
} finally {
  server.stop();
}
