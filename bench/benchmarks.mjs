/**
 * Benchmarks: MMLU in full (57 subtasks, 14,042 test questions, 5-shot from dev) with the built-in
 * ngram model, through the real CLI (`assay run mmlu --json`) in a child process. Reports wall time,
 * requests/s, samples/s and the child's peak RSS, plus the group's acc ± stderr as a sanity number
 * (an ngram trained on unrelated text scores about chance, 0.25).
 *
 * Data: ASSAY_DATA_DIR, else ../shared/data/benchmarks; without it the bench skips (exit 0).
 * BENCH_CONCURRENCY sets --concurrency (default: the CLI's).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { benchLine, repoRoot, tempDir } from "./common.mjs";

const QUESTIONS = 14_042;
const dataDir = path.resolve(process.env.ASSAY_DATA_DIR ?? path.join(repoRoot, "../shared/data/benchmarks"));
if (!existsSync(path.join(dataDir, "mmlu"))) {
  console.log(`skipped bench/benchmarks: ${path.join(dataDir, "mmlu")} (MMLU's local copy) is missing`);
  process.exit(0);
}

const dir = tempDir("benchmarks");
// The store holds all 14,042 samples (~90 MB): remove it when done unless BENCH_KEEP is set.
if (!process.env.BENCH_KEEP) process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

// A generated training text, unrelated to MMLU: the bench needs a model, not a good one.
const words =
  "the a of and to in is was that for it with as on be by this are from at which or an have not answer question number people water sun light river city law cell energy market history".split(
    " ",
  );
let seed = 1;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const corpus = path.join(dir, "corpus.txt");
writeFileSync(
  corpus,
  `${Array.from({ length: 5000 }, () =>
    Array.from({ length: 12 }, () => words[Math.floor(rand() * words.length)]).join(" "),
  ).join(".\n")}.\n`,
);

// The child's peak RSS, written at exit by a preloaded hook (works without /usr/bin/time).
const rssFile = path.join(dir, "maxrss");
const hook = `import{writeFileSync}from"node:fs";process.on("exit",()=>writeFileSync(${JSON.stringify(rssFile)},String(process.resourceUsage().maxRSS)));`;
const args = [
  "--import",
  `data:text/javascript,${encodeURIComponent(hook)}`,
  path.join(repoRoot, "dist/cli/main.js"),
  "run",
  "mmlu",
  "--model",
  `ngram:${corpus}`,
  "--store",
  path.join(dir, "assay.db"),
  "--data-dir",
  dataDir,
  "--json",
];
if (process.env.BENCH_CONCURRENCY) args.push("--concurrency", process.env.BENCH_CONCURRENCY);

const t0 = performance.now();
const { code, stdout } = await new Promise((resolve, reject) => {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const chunks = [];
  child.stdout.on("data", (d) => chunks.push(d));
  child.once("error", reject);
  child.once("close", (c) => resolve({ code: c, stdout: Buffer.concat(chunks).toString("utf8") }));
});
const wall = (performance.now() - t0) / 1000;
if (code !== 0) throw new Error(`assay run mmlu exited with ${code}`);

const out = JSON.parse(stdout);
const runs = out.runs;
const bad = runs.filter((r) => r.status !== "completed");
if (runs.length !== 57 || bad.length > 0) {
  throw new Error(
    `expected 57 completed runs, got ${runs.length} (${bad.map((r) => `${r.task}: ${r.status}`)})`,
  );
}
const samples = runs.reduce((s, r) => s + r.total, 0);
if (samples !== QUESTIONS) throw new Error(`expected ${QUESTIONS} questions, got ${samples}`);
const requests = runs.reduce((s, r) => s + r.stats.requests, 0);
const cached = runs.reduce((s, r) => s + r.stats.cacheHits + r.stats.deduplicated, 0);
const engineSecs = runs.reduce((s, r) => s + r.stats.elapsedMs, 0) / 1000;
const acc = out.groups?.find((g) => g.group === "mmlu")?.metrics["acc,none"];
if (!acc || acc.n !== QUESTIONS) throw new Error("no mmlu group result over all questions");
const peakRssMb = Number(readFileSync(rssFile, "utf8")) / 1024;

console.log(
  `mmlu: 57 subtasks, ${samples} questions (5-shot), ${requests} model requests (+${cached} cached or deduplicated) in ${wall.toFixed(1)} s wall ` +
    `(${engineSecs.toFixed(1)} s in the engine): ${(requests / wall).toFixed(0)} requests/s, ` +
    `${(samples / wall).toFixed(0)} samples/s, peak RSS ${peakRssMb.toFixed(0)} MB`,
);
console.log(
  `mmlu acc ${acc.value.toFixed(4)} ± ${acc.stderr.toFixed(4)} (ngram on generated text; chance is 0.25)`,
);
benchLine({
  bench: "benchmarks",
  task: "mmlu",
  questions: samples,
  requests,
  wall_s: Number(wall.toFixed(2)),
  requests_per_s: Math.round(requests / wall),
  samples_per_s: Math.round(samples / wall),
  peak_rss_mb: Math.round(peakRssMb),
  acc: Number(acc.value.toFixed(4)),
  acc_stderr: Number(acc.stderr.toFixed(4)),
});
