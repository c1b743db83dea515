/**
 * Cache: complete a 100,000-sample run once, then run it again as a fresh run of the same model,
 * so every response comes from the cache. Reports cached samples/s (target ≥ 20,000).
 */
import path from "node:path";
import { runTask } from "../dist/engine/runner.js";
import { createOpenAIProvider } from "../dist/models/openai.js";
import { SqliteStore } from "../dist/store/sqlite.js";
import { loadTaskConfig } from "../dist/tasks/config.js";
import { Task } from "../dist/tasks/task.js";
import { benchLine, startInstantServerProcess, tempDir, writeGenerationTask } from "./common.mjs";

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 100_000);
const server = await startInstantServerProcess();
try {
  const dir = tempDir("cache");
  const yaml = await writeGenerationTask(dir, SAMPLES);
  const store = new SqliteStore(path.join(dir, "assay.db"));
  const provider = createOpenAIProvider(`openai:instant@${server.url}`, { mode: "completions" });
  const task = new Task(loadTaskConfig(yaml));
  let t0 = performance.now();
  const first = await runTask({ task, provider, store, scheduler: { concurrency: 64 } });
  const firstSecs = (performance.now() - t0) / 1000;
  server.stop();
  t0 = performance.now();
  const second = await runTask({ task, provider, store, fresh: true, scheduler: { concurrency: 64 } });
  const secs = (performance.now() - t0) / 1000;
  await provider.close();
  await store.close();
  if (second.status !== "completed" || second.stats.cacheHits !== SAMPLES || second.stats.requests !== 0)
    throw new Error(`cache run did not come from the cache: ${JSON.stringify(second.stats)}`);
  if (JSON.stringify(second.aggregates) !== JSON.stringify(first.aggregates))
    throw new Error("cached results differ");
  console.log(`first run (instant server): ${(SAMPLES / firstSecs).toFixed(0)} samples/s`);
  console.log(
    `re-run from cache: ${SAMPLES} samples in ${secs.toFixed(2)} s = ${(SAMPLES / secs).toFixed(0)} samples/s (target ≥ 20,000)`,
  );
  benchLine({
    bench: "cache",
    samples: SAMPLES,
    samples_per_s: Math.round(SAMPLES / secs),
    first_run_samples_per_s: Math.round(SAMPLES / firstSecs),
  });
} finally {
  server.stop();
}
