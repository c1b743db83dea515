#!/usr/bin/env node
/**
 * Local GGUF scoring speed (issue 6): multiple-choice scoring of the 400 items of
 * ../shared/golden/models/stories260K.mc.jsonl through the llamacpp provider, in one run against
 *  - raw: the same engine's forward pass over exactly the token sequences the provider evaluates (same
 *    KV prefix reuse), with no logits read and nothing scored: what scoring costs on top of the model;
 *  - naive: the provider with prefix reuse off, one full forward pass per choice.
 * Throughput counts the same tokens for all three: context + continuation of every choice (BOS
 * included), so the ratios are ratios of time. Each path runs `reps` times interleaved; best wall time
 * counts, with its CPU time (process.cpuUsage, native threads included) beside it.
 * Also prints the thread count the provider measured at load, and greedy generation speed.
 * `npm run bench -- local-model [items.mc.jsonl] [reps]` (imports ../dist; `npm run bench` builds it).
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const casesFile = path.resolve(
  process.argv[2] || path.join(repoRoot, "../shared/golden/models/stories260K.mc.jsonl"),
);
const reps = Number(process.argv[3] ?? 3);

function skip(why) {
  console.log(`local-model bench: skipped, ${why}`);
  console.log(`BENCH ${JSON.stringify({ bench: "local-model", skipped: why })}`);
  process.exit(0);
}

if (!existsSync(casesFile)) skip(`${casesFile} not found`);
let createLlamaCppProvider;
let scoringInput;
try {
  await import("node-llama-cpp");
  ({ createLlamaCppProvider } = await import("../dist/models/llamacpp/provider.js"));
  ({ scoringInput } = await import("../dist/models/llamacpp/windows.js"));
} catch (e) {
  skip(`node-llama-cpp or dist missing (${e.message})`);
}

const items = readFileSync(casesFile, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));
const modelFile = path.resolve(path.dirname(casesFile), items[0].model_file);
if (!existsSync(modelFile)) skip(`${modelFile} not found`);

const assay = createLlamaCppProvider(`llamacpp:${modelFile}`);
const info = await assay.info();
const spec = `llamacpp:${modelFile}?threads=${info.threads}`;
const naive = createLlamaCppProvider(spec, { prefixReuse: false });
await naive.info();
const engine = await assay.engine();

// Token sequences as the provider builds them, for the raw pass (tokenizing is not the model's work).
const seqs = [];
let tokens = 0;
let choices = 0;
for (const item of items) {
  for (const choice of item.choices) {
    const pair = await assay.encodePair(item.context, choice);
    seqs.push(scoringInput(pair.context, pair.continuation, info.maxLength));
    tokens += pair.context.length + pair.continuation.length;
    choices++;
  }
}

async function scoreAll(provider) {
  let sum = 0;
  for (const item of items) {
    for (const choice of item.choices)
      sum += (await provider.loglikelihoodDetailed(item.context, choice)).logprob;
  }
  return sum;
}

let evaluated = 0;
async function rawAll(readLogits = false) {
  evaluated = 0;
  for (const s of seqs) {
    evaluated += await engine.exclusive(s.tokens, () => engine.forward(s.tokens, s.firstScored, readLogits));
  }
}

// raw_logits: raw plus fetching the logits scoring reads, discarded: separates what node-llama-cpp
// charges to hand over logits from what assay's log-softmax costs.
const paths = {
  assay: () => scoreAll(assay),
  raw: () => rawAll(),
  raw_logits: () => rawAll(true),
  naive: () => scoreAll(naive),
};
const best = {};
for (const name of Object.keys(paths)) best[name] = { wall: Infinity, cpu: Infinity };
// One warm-up (first graphs, JIT), then `reps` interleaved timed rounds.
await paths.assay();
await paths.raw();
for (let r = 0; r < reps; r++) {
  for (const [name, run] of Object.entries(paths)) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run();
    const wall = (performance.now() - t0) / 1000;
    const u = process.cpuUsage(c0);
    const cpu = (u.user + u.system) / 1e6;
    if (wall < best[name].wall) best[name] = { wall, cpu };
  }
}

// Greedy generation from BOS, 256 tokens.
let genBest = Infinity;
let genTokens = 0;
for (let r = 0; r < reps; r++) {
  const t0 = performance.now();
  const g = await assay.serve(
    { kind: "generate_until", prompt: "", params: { until: [], max_gen_toks: 256, temperature: 0 } },
    new AbortController().signal,
  );
  genBest = Math.min(genBest, (performance.now() - t0) / 1000);
  genTokens = g.usage.outputTokens;
}
await assay.close();
await naive.close();

const tps = (name) => tokens / best[name].wall;
console.log(`model ${path.basename(modelFile)}: ${items.length} items, ${choices} choices, ${tokens} tokens`);
console.log(
  `threads ${info.threads} (${info.threadChoice.how}${info.threadChoice.tokensPerSecond ? ` ${JSON.stringify(info.threadChoice.tokensPerSecond)} tok/s` : ""}); load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores; best of ${reps}`,
);
console.log(`raw pass evaluates ${evaluated} tokens (prefix reuse) for the ${tokens} counted`);
console.log("path        wall_s   cpu_s    tok/s     items/s  tok/cpu_s");
for (const name of Object.keys(paths)) {
  const b = best[name];
  console.log(
    `${name.padEnd(12)}${b.wall.toFixed(3).padEnd(9)}${b.cpu.toFixed(3).padEnd(9)}${String(Math.round(tps(name))).padEnd(10)}${(items.length / b.wall).toFixed(1).padEnd(9)}${Math.round(tokens / b.cpu)}`,
  );
}
console.log(`generation: ${genTokens} tokens greedy from BOS, ${Math.round(genTokens / genBest)} tok/s`);

const round = (x, d = 2) => +x.toFixed(d);
console.log(
  `BENCH ${JSON.stringify({
    bench: "local-model",
    items_per_s: round(items.length / best.assay.wall, 1),
    tokens_per_s: Math.round(tps("assay")),
    raw_tokens_per_s: Math.round(tps("raw")),
    naive_tokens_per_s: Math.round(tps("naive")),
    ratio_vs_raw: round(tps("assay") / tps("raw")),
    ratio_vs_naive: round(tps("assay") / tps("naive")),
    raw_logits_tokens_per_s: Math.round(tps("raw_logits")),
    ratio_vs_raw_logits: round(tps("assay") / tps("raw_logits")),
    cpu_s: Object.fromEntries(Object.entries(best).map(([k, b]) => [k, round(b.cpu, 3)])),
    threads: info.threads,
    generate_tok_s: Math.round(genTokens / genBest),
  })}`,
);
