// Times sacreBLEU-compatible corpus BLEU (13a, intl), chrF, chrF++ and TER over the 20,000
// prediction/reference pairs of the metrics golden set.
// Build first: npx tsc -p tsconfig.build.json. Prints one `BENCH {...}` line at the end.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { corpusBleu } from "../dist/metrics/bleu.js";
import { corpusChrf } from "../dist/metrics/chrf.js";
import { corpusTer } from "../dist/metrics/ter.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const file = path.resolve(
  process.env.ASSAY_GOLDEN_DIR ?? path.join(root, "../shared/golden"),
  "metrics/perf_pairs.jsonl",
);
if (!existsSync(file)) {
  console.log(`BENCH ${JSON.stringify({ bench: "metrics_sacrebleu", skipped: `${file} not found` })}`);
  process.exit(0);
}

const pairs = readFileSync(file, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));
const n = pairs.length;
const hyps = pairs.map((p) => p.prediction);
const refs = pairs.map((p) => [p.reference]);

// The best of a few repeats, in CPU time of this process: shared machines make wall time noisy.
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
function time(label, fn) {
  fn(500); // JIT warm-up
  let best = Infinity;
  let out = 0;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    out = fn(n);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000);
  }
  console.log(`${label}: ${best.toFixed(1)} ms, ${Math.round((n / best) * 1000)} segments/s (score ${out})`);
  return best;
}

const corpus = (k) => [hyps.slice(0, k), refs.slice(0, k)];
const bleuMs = time("corpus BLEU (13a)", (k) => corpusBleu(...corpus(k)).score);
const bleuIntlMs = time("corpus BLEU (intl)", (k) => corpusBleu(...corpus(k), { tokenize: "intl" }).score);
const chrfMs = time("corpus chrF", (k) => corpusChrf(...corpus(k)).score);
const chrfppMs = time("corpus chrF++", (k) => corpusChrf(...corpus(k), { wordOrder: 2 }).score);
const terMs = time("corpus TER", (k) => corpusTer(...corpus(k)).score);

const perS = (ms) => Math.round((n / ms) * 1000);
console.log(
  `BENCH ${JSON.stringify({
    bench: "metrics_sacrebleu",
    segments: n,
    timing: `best of ${repeats}, process CPU time`,
    bleu_13a_ms: Math.round(bleuMs),
    bleu_intl_ms: Math.round(bleuIntlMs),
    chrf_ms: Math.round(chrfMs),
    chrfpp_ms: Math.round(chrfppMs),
    ter_ms: Math.round(terMs),
    bleu_13a_segments_per_s: perS(bleuMs),
    bleu_intl_segments_per_s: perS(bleuIntlMs),
    chrf_segments_per_s: perS(chrfMs),
    chrfpp_segments_per_s: perS(chrfppMs),
    ter_segments_per_s: perS(terMs),
  })}`,
);
