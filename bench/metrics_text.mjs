// Times ROUGE (with and without stemming), NLTK sentence BLEU and corpus BLEU over the 20,000
// prediction/reference pairs of the metrics golden set.
// Build first: npx tsc -p tsconfig.build.json. Prints one `BENCH {...}` line at the end.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { nltkCorpusBleu, nltkSentenceBleu, nltkTokenize } from "../dist/metrics/nltk_bleu.js";
import { rougeScore } from "../dist/metrics/rouge.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const file = path.resolve(
  process.env.ASSAY_GOLDEN_DIR ?? path.join(root, "../shared/golden"),
  "metrics/perf_pairs.jsonl",
);
if (!existsSync(file)) {
  console.log(`BENCH ${JSON.stringify({ bench: "metrics_text", skipped: `${file} not found` })}`);
  process.exit(0);
}

const pairs = readFileSync(file, "utf8")
  .split("\n")
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));
const n = pairs.length;
const types = ["rouge1", "rouge2", "rougeL", "rougeLsum"];

// The best of a few repeats, in CPU time of this process: shared machines make wall time noisy.
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
function time(label, fn) {
  fn(pairs.slice(0, 500)); // JIT warm-up
  let best = Infinity;
  let out = 0;
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    out = fn(pairs);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / 1000);
  }
  console.log(
    `${label}: ${best.toFixed(1)} ms, ${Math.round((n / best) * 1000)} pairs/s (check ${out.toFixed(6)})`,
  );
  return best;
}

const rougeMs = time("rouge (4 types)", (ps) => {
  let s = 0;
  for (const p of ps) s += rougeScore(p.reference, p.prediction, types).rougeL.fmeasure;
  return s / ps.length;
});
const rougeStemMs = time("rouge (4 types, stemmer)", (ps) => {
  let s = 0;
  for (const p of ps) s += rougeScore(p.reference, p.prediction, types, { useStemmer: true }).rougeL.fmeasure;
  return s / ps.length;
});
const bleuMs = time("nltk sentence_bleu (method1)", (ps) => {
  let s = 0;
  for (const p of ps)
    s += nltkSentenceBleu([nltkTokenize(p.reference)], nltkTokenize(p.prediction), { smoothing: "method1" });
  return s / ps.length;
});
const corpusMs = time("nltk corpus_bleu (method0)", (ps) =>
  nltkCorpusBleu(
    ps.map((p) => [nltkTokenize(p.reference)]),
    ps.map((p) => nltkTokenize(p.prediction)),
  ),
);

console.log(
  `BENCH ${JSON.stringify({
    bench: "metrics_text",
    pairs: n,
    timing: `best of ${repeats}, process CPU time`,
    rouge_ms: Math.round(rougeMs),
    rouge_stem_ms: Math.round(rougeStemMs),
    nltk_sentence_bleu_ms: Math.round(bleuMs),
    nltk_corpus_bleu_ms: Math.round(corpusMs),
    rouge_pairs_per_s: Math.round((n / rougeMs) * 1000),
    nltk_bleu_pairs_per_s: Math.round((n / bleuMs) * 1000),
  })}`,
);
