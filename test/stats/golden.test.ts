import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { module } from "../golden/checkers/stats.js";
import type { GoldenCase, GoldenContext } from "../golden/types.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const dir = path.resolve(process.env.ASSAY_GOLDEN_DIR ?? path.join(repoRoot, "../shared/golden"), "stats");
const present = existsSync(dir);

describe.skipIf(!present)(`golden stats (${present ? dir : `skipped: ${dir} not found`})`, () => {
  const files = present ? readdirSync(dir).filter((f) => f.endsWith(".jsonl")) : [];
  for (const file of files) {
    it(file, async () => {
      const ctx: GoldenContext = { file: path.join(dir, file), dir, state: new Map() };
      const failures: string[] = [];
      for (const line of readFileSync(path.join(dir, file), "utf8").split("\n")) {
        if (!line.trim()) continue;
        const c = JSON.parse(line) as GoldenCase;
        const check = module.checkers[c.stat];
        const m = check ? await check(c, ctx) : `no checker for ${c.stat}`;
        if (m) failures.push(`${c.id}: ${m}`);
      }
      expect(failures).toEqual([]);
    });
  }
});
