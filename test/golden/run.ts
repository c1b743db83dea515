/**
 * Runs every case of every *.jsonl file under each area folder of $ASSAY_GOLDEN_DIR
 * (default ../shared/golden) and prints `golden <area>: <passed>/<total>` per area.
 * Cases are dispatched by their `metric` or `stat` field (model cases by their shape),
 * so any folder of files in the same formats runs the same way.
 */
import { createReadStream, existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { allModules } from "./checkers/index.js";
import type { GoldenCase, GoldenChecker, GoldenContext, GoldenFileCheck } from "./types.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const goldenDir = path.resolve(process.env.ASSAY_GOLDEN_DIR ?? path.join(repoRoot, "../shared/golden"));
const onlyAreas = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const verbose = process.argv.includes("--verbose");

const checkers: Record<string, GoldenChecker> = {};
const fileChecks: Record<string, GoldenFileCheck> = {};
for (const m of allModules) {
  Object.assign(checkers, m.checkers);
  Object.assign(fileChecks, m.fileChecks ?? {});
}

/** The dispatch key of a case: its metric or stat, or a kind derived from the model case layout. */
export function caseKind(c: GoldenCase): string | undefined {
  if (typeof c.metric === "string") return c.metric;
  if (typeof c.stat === "string") return c.stat;
  if (typeof c.model_file === "string") return Array.isArray(c.choices) ? "model_mc" : "model_loglikelihood";
  return undefined;
}

function jsonlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...jsonlFiles(p));
    else if (name.endsWith(".jsonl")) out.push(p);
  }
  return out;
}

interface AreaResult {
  passed: number;
  total: number;
  failures: string[];
}

async function runFile(file: string, result: AreaResult): Promise<void> {
  const ctx: GoldenContext = { file, dir: path.dirname(file), state: new Map() };
  const kindsSeen = new Set<string>();
  const lines = createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity });
  let lineNo = 0;
  const rel = path.relative(goldenDir, file);
  for await (const line of lines) {
    lineNo++;
    if (!line.trim()) continue;
    let c: GoldenCase;
    try {
      c = JSON.parse(line);
    } catch (e) {
      result.total++;
      result.failures.push(`${rel}:${lineNo}: not valid JSON (${(e as Error).message})`);
      continue;
    }
    // Lines without `expected` are inputs (e.g. perf_pairs.jsonl), not cases.
    if (!("expected" in c)) continue;
    result.total++;
    const kind = caseKind(c);
    const checker = kind ? checkers[kind] : undefined;
    if (!kind || !checker) {
      result.failures.push(`${rel}:${lineNo} ${c.id}: no checker for kind '${kind ?? "?"}'`);
      continue;
    }
    kindsSeen.add(kind);
    try {
      const mismatch = await checker(c, ctx);
      if (mismatch === null) result.passed++;
      else result.failures.push(`${rel}:${lineNo} ${c.id}: ${mismatch}`);
    } catch (e) {
      result.failures.push(`${rel}:${lineNo} ${c.id}: threw ${(e as Error).stack ?? e}`);
    }
  }
  for (const kind of kindsSeen) {
    const check = fileChecks[kind];
    if (!check) continue;
    result.total++;
    const mismatch = await check(ctx);
    if (mismatch === null) result.passed++;
    else result.failures.push(`${rel} (file check ${kind}): ${mismatch}`);
  }
}

async function main(): Promise<number> {
  if (!existsSync(goldenDir)) {
    console.log(`golden: skipped, ${goldenDir} not found (set ASSAY_GOLDEN_DIR)`);
    return 0;
  }
  let failed = 0;
  const areas = readdirSync(goldenDir)
    .filter((a) => statSync(path.join(goldenDir, a)).isDirectory())
    .filter((a) => onlyAreas.length === 0 || onlyAreas.includes(a))
    .sort();
  for (const area of areas) {
    const files = jsonlFiles(path.join(goldenDir, area));
    if (files.length === 0) continue;
    const result: AreaResult = { passed: 0, total: 0, failures: [] };
    for (const f of files) await runFile(f, result);
    console.log(`golden ${area}: ${result.passed}/${result.total}`);
    const shown = verbose ? result.failures : result.failures.slice(0, 10);
    for (const f of shown) console.log(`  FAIL ${f}`);
    if (result.failures.length > shown.length)
      console.log(`  ... ${result.failures.length - shown.length} more`);
    failed += result.failures.length;
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
