#!/usr/bin/env node
/**
 * The quickstart, offline: generate the data, evaluate the four-task suite with two built-in
 * n-gram models trained on different corpora, compare them with paired tests, write an HTML report.
 * Every step is an ordinary `assay` command.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const rel = (p) => path.relative(root, path.join(here, p));
const store = rel("out/assay.db");

function assay(args, opts = {}) {
  console.log(`\n$ assay ${args.join(" ")}`);
  return execFileSync(process.execPath, [path.join(root, "dist/cli/main.js"), ...args, "--store", store], {
    cwd: root,
    encoding: "utf8",
    stdio: opts.capture ? ["ignore", "pipe", "inherit"] : "inherit",
  });
}

execFileSync(process.execPath, [path.join(here, "generate_data.mjs")], { stdio: "inherit" });

const baseline = `ngram:${rel("data/corpus_noisy.txt")}?order=8`;
const candidate = `ngram:${rel("data/corpus_correct.txt")}?order=8`;
assay(["run", rel("tasks"), "--model", baseline, "--model", candidate]);
const runs = JSON.parse(assay(["runs", "--json"], { capture: true })).filter((r) => r.status === "completed");
const idsOf = (model) =>
  runs
    .filter((r) => r.model === model)
    .map((r) => r.id)
    .join(",");
assay(["compare", idsOf(baseline), idsOf(candidate), "--flips", "2"]);
const report = rel("out/report.html");
assay([
  "report",
  ...runs.map((r) => r.id),
  "--baseline",
  idsOf(baseline),
  "--out",
  report,
  "--title",
  "assay quickstart",
]);
console.log(`\nQuickstart done. HTML report: ${path.join(root, report)}`);
