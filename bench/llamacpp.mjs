#!/usr/bin/env node
/**
 * llamacpp provider speed on stories260K: loglikelihood scoring of multiple-choice items with 1 and 2
 * threads, with and without KV prefix reuse, plus greedy generation. Picks nothing by itself: the
 * provider measures its default thread count at load; this shows the numbers behind that choice.
 * Run after `npx tsc -p tsconfig.build.json`: `node bench/llamacpp.mjs [items.mc.jsonl] [maxItems]`.
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const casesFile = path.resolve(
  process.argv[2] ?? path.join(repoRoot, "../shared/golden/models/stories260K.mc.jsonl"),
);
const maxItems = Number(process.argv[3] ?? 200);

if (!existsSync(casesFile)) {
  console.log(`llamacpp bench: skipped, ${casesFile} not found`);
  console.log(`BENCH ${JSON.stringify({ bench: "llamacpp", skipped: "no cases file" })}`);
  process.exit(0);
}
let createLlamaCppProvider;
try {
  await import("node-llama-cpp");
  ({ createLlamaCppProvider } = await import("../dist/models/llamacpp/provider.js"));
} catch (e) {
  console.log(`llamacpp bench: skipped, ${e.message}`);
  console.log(`BENCH ${JSON.stringify({ bench: "llamacpp", skipped: "node-llama-cpp or dist missing" })}`);
  process.exit(0);
}

const items = readFileSync(casesFile, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l))
  .slice(0, maxItems);
const modelFile = path.resolve(path.dirname(casesFile), items[0].model_file);
const cpuSeconds = (since) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

/**
 * Scores every choice of each item in turn until all items are done or `budgetS` seconds have passed
 * (slow settings, such as 2 threads on 2 busy cores, would otherwise take many minutes). Returns input
 * tokens (context + continuation per choice), wall and CPU seconds.
 */
async function scorePass(provider, budgetS) {
  let tokens = 0;
  let done = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (const item of items) {
    for (const choice of item.choices) {
      const d = await provider.loglikelihoodDetailed(item.context, choice);
      tokens += d.contextTokens.length + d.continuationTokens.length;
    }
    done++;
    if ((performance.now() - t0) / 1000 > budgetS) break;
  }
  const wall = (performance.now() - t0) / 1000;
  return { tokens, items: done, wall, cpu: cpuSeconds(c0) };
}

console.log(`model ${path.basename(modelFile)}, ${items.length} items from ${path.basename(casesFile)}`);
console.log(`load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`);
console.log("threads  kv_reuse  items  tokens   wall_s  tok/s   cpu_s");
const results = {};
const cpuResults = {};
for (const threads of [1, 2]) {
  for (const reuse of [true, false]) {
    const provider = createLlamaCppProvider(`llamacpp:${modelFile}?threads=${threads}`, {
      prefixReuse: reuse,
    });
    await provider.info();
    // A short warm-up pass (JIT, first graphs), then one timed pass of at most 30 s.
    await scorePass(provider, 1);
    const best = await scorePass(provider, 30);
    await provider.close();
    const tps = best.tokens / best.wall;
    results[`t${threads}_${reuse ? "reuse" : "noreuse"}`] = Math.round(tps);
    // Per CPU-second: steadier than wall time when other processes share the cores.
    cpuResults[`t${threads}_${reuse ? "reuse" : "noreuse"}`] = Math.round(best.tokens / best.cpu);
    console.log(
      `${String(threads).padEnd(9)}${String(reuse).padEnd(10)}${String(best.items).padEnd(7)}${String(best.tokens).padEnd(9)}${best.wall.toFixed(2).padEnd(8)}${String(Math.round(tps)).padEnd(8)}${best.cpu.toFixed(2)}`,
    );
  }
}

// Greedy generation from BOS, 256 tokens, per thread count.
const gen = {};
for (const threads of [1, 2]) {
  const provider = createLlamaCppProvider(`llamacpp:${modelFile}?threads=${threads}`);
  await provider.info();
  let best = Infinity;
  let n = 0;
  // Up to 3 passes, fewer when slow (2 threads on 2 busy cores can fall to a few tokens/s).
  const tStart = performance.now();
  for (let pass = 0; pass < 3 && performance.now() - tStart < 10_000; pass++) {
    const t0 = performance.now();
    const r = await provider.serve(
      { kind: "generate_until", prompt: "", params: { until: [], max_gen_toks: 256, temperature: 0 } },
      new AbortController().signal,
    );
    best = Math.min(best, (performance.now() - t0) / 1000);
    n = r.usage.outputTokens;
  }
  await provider.close();
  gen[`t${threads}`] = Math.round(n / best);
  console.log(`generation threads=${threads}: ${n} tokens, ${Math.round(n / best)} tok/s`);
}

// The thread count the provider picks by itself (measured at load).
const auto = createLlamaCppProvider(`llamacpp:${modelFile}`);
const info = await auto.info();
await auto.close();
console.log(`default threads: ${info.threads} (${info.threadChoice.how})`);

const line = {
  bench: "llamacpp",
  model: path.basename(modelFile),
  items: items.length,
  score_tok_s: results,
  score_tok_per_cpu_s: cpuResults,
  kv_reuse_speedup: {
    t1: +(results.t1_reuse / results.t1_noreuse).toFixed(2),
    t2: +(results.t2_reuse / results.t2_noreuse).toFixed(2),
    t1_cpu: +(cpuResults.t1_reuse / cpuResults.t1_noreuse).toFixed(2),
  },
  generate_tok_s: gen,
  default_threads: info.threads,
  thread_choice: info.threadChoice.how,
  load_average: +os.loadavg()[0].toFixed(1),
};
console.log(`BENCH ${JSON.stringify(line)}`);
