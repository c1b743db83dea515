/** Shared bench plumbing: temp dirs, a generated generate_until task, child servers, the BENCH line. */
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(benchDir, "..");

/** A temp dir removed when the bench exits (set BENCH_KEEP=1 to keep it). */
export function tempDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), `assay-bench-${prefix}-`));
  if (!process.env.BENCH_KEEP) process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes an n-sample generate_until task (exact_match) and returns its YAML path. */
export async function writeGenerationTask(dir, n, name = "bench_gen") {
  const data = path.join(dir, `${name}.jsonl`);
  const out = createWriteStream(data);
  for (let i = 0; i < n; i++) {
    const line = `{"question":"What is item ${i}?","answer":"ok"}\n`;
    if (!out.write(line)) await new Promise((r) => out.once("drain", r));
  }
  await new Promise((r) => out.end(r));
  const yaml = path.join(dir, `${name}.yaml`);
  writeFileSync(
    yaml,
    [
      `task: ${name}`,
      `dataset_path: ${name}.jsonl`,
      "output_type: generate_until",
      'doc_to_text: "Q: {{question}}\\nA:"',
      "doc_to_target: answer",
      'generation_kwargs: {until: ["\\n"], max_gen_toks: 16}',
      "metric_list: [{metric: exact_match}]",
      "",
    ].join("\n"),
  );
  return yaml;
}

/** Starts bench/instant_server.mjs in its own process; resolves with {url, port, stop}. */
export function startInstantServerProcess() {
  const child = spawn(process.execPath, [path.join(benchDir, "instant_server.mjs"), "--port", "0"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      const m = /(http:\/\/[^\s]+\/v1)/.exec(buf);
      if (m) {
        const url = m[1];
        resolve({ url, port: Number(new URL(url).port), stop: () => child.kill() });
      }
    });
    child.once("exit", (code) => reject(new Error(`instant server exited with ${code}`)));
  });
}

export function benchLine(obj) {
  console.log(`BENCH ${JSON.stringify(obj)}`);
}

/** Writes an n-sample loglikelihood task over short generated sentences and a training corpus. */
export async function writeLoglikelihoodTask(dir, n, name = "bench_ll") {
  const words = ["red", "blue", "cat", "dog", "runs", "sleeps", "fast", "slowly", "the", "a"];
  const data = path.join(dir, `${name}.jsonl`);
  const out = createWriteStream(data);
  for (let i = 0; i < n; i++) {
    const w = (k) => words[(i * 7 + k * 13 + Math.floor(i / 10)) % words.length];
    const line = `{"q":"the ${w(1)} ${w(2)} number ${i}","a":"${w(3)}"}\n`;
    if (!out.write(line)) await new Promise((r) => out.once("drain", r));
  }
  await new Promise((r) => out.end(r));
  const corpus = path.join(dir, "corpus.txt");
  writeFileSync(
    corpus,
    Array.from(
      { length: 2000 },
      (_, i) => `the ${words[i % 10]} ${words[(i * 3) % 10]} ${words[(i * 7) % 10]}`,
    ).join("\n"),
  );
  const yaml = path.join(dir, `${name}.yaml`);
  writeFileSync(
    yaml,
    [
      `task: ${name}`,
      `dataset_path: ${name}.jsonl`,
      "output_type: loglikelihood",
      "doc_to_text: q",
      "doc_to_target: a",
      "",
    ].join("\n"),
  );
  return { yaml, corpus };
}
