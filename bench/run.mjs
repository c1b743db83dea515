#!/usr/bin/env node
/** `npm run bench -- <name>` runs bench/<name>.mjs; each ends with a `BENCH {json}` line. */
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = path.dirname(fileURLToPath(import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith(".mjs") && !["run.mjs", "common.mjs", "instant_server.mjs"].includes(f))
  .map((f) => f.replace(/\.mjs$/, ""))
  .sort();
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>\navailable: ${available.join(", ")}`);
  process.exit(name ? 2 : 0);
}
process.argv.splice(2, 1);
await import(pathToFileURL(path.join(dir, `${name}.mjs`)).href);
