/**
 * Memory: a 1,000,000-sample loglikelihood run with the built-in ngram model, streamed through the
 * engine into SQLite. Reports the child process's peak RSS (target ≤ 300 MB).
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { benchLine, tempDir, writeLoglikelihoodTask } from "./common.mjs";

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1_000_000);

if (process.argv[2] === "--child") {
  const [, , , yaml, corpus, db] = process.argv;
  const { runTask } = await import("../dist/engine/runner.js");
  const { createNgramProvider } = await import("../dist/models/ngram/spec.js");
  const { SqliteStore } = await import("../dist/store/sqlite.js");
  const { loadTaskConfig } = await import("../dist/tasks/config.js");
  const { Task } = await import("../dist/tasks/task.js");
  const store = new SqliteStore(db);
  const provider = await createNgramProvider(`ngram:${corpus}`, {
    cacheDir: path.join(path.dirname(db), "cache"),
  });
  const t0 = performance.now();
  const run = await runTask({
    task: new Task(loadTaskConfig(yaml)),
    provider,
    store,
    scheduler: { concurrency: 16 },
  });
  const secs = (performance.now() - t0) / 1000;
  await store.close();
  console.log(
    JSON.stringify({
      status: run.status,
      n: run.total,
      secs,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
} else {
  const dir = tempDir("memory");
  const { yaml, corpus } = await writeLoglikelihoodTask(dir, SAMPLES);
  const out = execFileSync(
    process.execPath,
    [fileURLToPath(import.meta.url), "--child", yaml, corpus, path.join(dir, "assay.db")],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
  );
  const r = JSON.parse(out.trim().split("\n").pop());
  if (r.status !== "completed" || r.n !== SAMPLES) throw new Error(`bench run failed: ${out}`);
  console.log(
    `${SAMPLES} samples in ${r.secs.toFixed(1)} s (${(SAMPLES / r.secs).toFixed(0)} samples/s), peak RSS ${r.maxRssMb.toFixed(0)} MB (target ≤ 300 MB)`,
  );
  benchLine({
    bench: "memory",
    samples: SAMPLES,
    peak_rss_mb: Math.round(r.maxRssMb),
    samples_per_s: Math.round(SAMPLES / r.secs),
  });
}
