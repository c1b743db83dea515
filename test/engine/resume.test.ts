/**
 * Crash safety: a real `assay run` process is killed with SIGKILL mid-run, then resumed with
 * `--resume <id>`; the final results equal an uninterrupted run's and nothing stored is redone.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = path.resolve(import.meta.dirname, "../..");
const DOCS = 300;
const CONCURRENCY = 4;

/** An OpenAI-compatible completions server whose answer depends on the prompt, with a small delay. */
function startServer(delayMs: number) {
  const seen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const { prompt } = JSON.parse(body);
      seen.set(prompt, (seen.get(prompt) ?? 0) + 1);
      const n = Number(/item (\d+)/.exec(prompt)?.[1] ?? 0);
      const text = n % 3 === 0 ? " yes" : " no";
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            choices: [{ index: 0, text, finish_reason: "stop" }],
            usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
          }),
        );
      }, delayMs);
    });
  });
  return new Promise<{ url: string; seen: Map<string, number>; close: () => Promise<void> }>((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
        seen,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

function cli(args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", path.join(repo, "src/cli/main.ts"), ...args], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function finished(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => (stdout += d));
  child.stderr?.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

const countSamples = (db: string): number => {
  try {
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return (conn.prepare("SELECT count(*) AS n FROM samples").get() as { n: number }).n;
    } finally {
      conn.close();
    }
  } catch {
    return 0;
  }
};

const samplesOf = (db: string) => {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare("SELECT doc_id, prompt, responses, scores FROM samples ORDER BY doc_id").all();
  } finally {
    conn.close();
  }
};

let server: Awaited<ReturnType<typeof startServer>>;
let dir: string;
let taskFile: string;

beforeAll(async () => {
  server = await startServer(8);
  dir = mkdtempSync(path.join(tmpdir(), "assay-resume-"));
  writeFileSync(
    path.join(dir, "data.jsonl"),
    Array.from({ length: DOCS }, (_, i) =>
      JSON.stringify({ q: `item ${i}`, a: i % 2 === 0 ? "yes" : "no" }),
    ).join("\n"),
  );
  taskFile = path.join(dir, "task.yaml");
  writeFileSync(
    taskFile,
    [
      "task: resume_probe",
      "dataset_path: data.jsonl",
      "output_type: generate_until",
      "doc_to_text: 'Is {{q}} divisible by three?'",
      "doc_to_target: a",
      "generation_kwargs: {until: ['\\n'], max_gen_toks: 4}",
      "filter_list: [{name: strip, filter: [{function: strip}, {function: take_first}]}]",
      "metric_list: [{metric: exact_match}]",
    ].join("\n"),
  );
});

afterAll(async () => {
  await server?.close();
});

describe("resume after kill -9 and Ctrl-C", () => {
  it("Ctrl-C finishes in-flight requests, stores them, and the resume redoes nothing", async () => {
    const own = await startServer(8);
    try {
      const store = path.join(dir, "sigint.db");
      const args = [
        "run",
        taskFile,
        "--model",
        `openai:probe@${own.url}`,
        "--store",
        store,
        "--concurrency",
        "4",
        "--json",
      ];
      const child = cli(args);
      const done = finished(child);
      const t0 = Date.now();
      while (countSamples(store) < 40 && Date.now() - t0 < 30_000)
        await new Promise((r) => setTimeout(r, 20));
      child.kill("SIGINT");
      const interrupted = await done;
      expect(interrupted.code).toBe(2);
      expect(interrupted.stderr).toContain("assay run --resume");
      expect(JSON.parse(interrupted.stdout).runs[0].status).toBe("interrupted");
      const resumed = await finished(cli(args));
      expect(resumed.code).toBe(0);
      expect(countSamples(store)).toBe(DOCS);
      expect([...own.seen.values()].every((n) => n === 1)).toBe(true);
      expect(own.seen.size).toBe(DOCS);
    } finally {
      await own.close();
    }
  });

  it("continues with nothing lost and nothing redone, matching an uninterrupted run", async () => {
    const model = `openai:probe@${server.url}`;
    const storeA = path.join(dir, "a.db");
    const args = (store: string) => [
      "run",
      taskFile,
      "--model",
      model,
      "--store",
      store,
      "--concurrency",
      String(CONCURRENCY),
      "--json",
    ];

    const victim = cli(args(storeA));
    const victimDone = finished(victim);
    const t0 = Date.now();
    while (countSamples(storeA) < 60 && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 20));
    victim.kill("SIGKILL");
    await victimDone;
    const storedBeforeResume = countSamples(storeA);
    expect(storedBeforeResume).toBeGreaterThan(0);
    expect(storedBeforeResume).toBeLessThan(DOCS);
    const requestsBeforeResume = [...server.seen.values()].reduce((a, b) => a + b, 0);

    const conn = new Database(storeA, { readonly: true });
    const { id, status } = conn.prepare("SELECT id, status FROM runs").get() as {
      id: string;
      status: string;
    };
    conn.close();
    expect(status).toBe("running"); // killed: the process had no chance to record anything else

    const resumed = await finished(cli(["run", "--resume", id, "--store", storeA, "--json"]));
    expect(resumed.stderr).not.toContain("error");
    expect(resumed.code).toBe(0);
    const runA = JSON.parse(resumed.stdout).runs[0];
    expect(runA.status).toBe("completed");
    expect(countSamples(storeA)).toBe(DOCS);

    // A hard kill can only lose what was in flight or answered in the last commit interval (~10 ms):
    // at most a few requests are sent again, never the stored samples.
    const total = [...server.seen.values()].reduce((a, b) => a + b, 0);
    const duplicates = [...server.seen.values()].filter((n) => n > 1).length;
    expect(duplicates).toBeLessThanOrEqual(3 * CONCURRENCY);
    expect(total - requestsBeforeResume).toBeLessThanOrEqual(DOCS - storedBeforeResume + CONCURRENCY);

    // The identical command again does nothing new.
    const before = total;
    const again = await finished(cli(args(storeA)));
    expect(again.code).toBe(0);
    expect([...server.seen.values()].reduce((a, b) => a + b, 0)).toBe(before);

    // An uninterrupted run in a separate store gives identical samples and aggregates.
    const storeB = path.join(dir, "b.db");
    const clean = await finished(cli(args(storeB)));
    expect(clean.code).toBe(0);
    const runB = JSON.parse(clean.stdout).runs[0];
    expect(samplesOf(storeA)).toEqual(samplesOf(storeB));
    expect(runA.aggregates).toEqual(runB.aggregates);
    expect(runA.aggregates["exact_match,strip"].value).toBeCloseTo(
      Array.from({ length: DOCS }, (_, i) => ((i % 3 === 0) === (i % 2 === 0) ? 1 : 0)).reduce<number>(
        (a, b) => a + b,
        0,
      ) / DOCS,
      12,
    );
  });
});
