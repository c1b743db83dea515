/** Bad input must give one clear line (file:line, field, expectation), exit 2, and leave stored runs intact. */
import { mkdtempSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type CliResult, runCli } from "../helpers/cli.js";

let dir: string;
let store: string;
const corpus = () => path.join(dir, "corpus.txt");

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const goodTask = (data = "data.jsonl", extra = "") =>
  `task: good\ndataset_path: ${data}\noutput_type: loglikelihood\ndoc_to_text: q\ndoc_to_target: a\n${extra}`;

function expectClearError(r: CliResult, ...fragments: string[]): void {
  expect(r.code).toBe(2);
  // Non-TTY progress goes to stderr as structured log lines; the error itself must be one line.
  const lines = r.stderr
    .trim()
    .split("\n")
    .filter((l) => !l.startsWith('{"event"'));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^assay: error: /);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  for (const f of fragments) expect(r.stderr).toContain(f);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "assay-bad-"));
  store = path.join(dir, "assay.db");
  write("corpus.txt", "the cat sat on the mat. the dog sat on the log.\n".repeat(20));
  write(
    "data.jsonl",
    `${JSON.stringify({ q: "the cat", a: "sat" })}\n${JSON.stringify({ q: "the dog", a: "sat" })}\n`,
  );
  write("good.yaml", goodTask());
  // A completed run that no later failure may damage.
  const ok = await runCli([
    "run",
    path.join(dir, "good.yaml"),
    "--model",
    `ngram:${corpus()}`,
    "--store",
    store,
    "--json",
  ]);
  expect(ok.code).toBe(0);
});

async function storedRuns(): Promise<unknown> {
  const r = await runCli(["runs", "--json", "--store", store]);
  return JSON.parse(r.stdout);
}

describe("bad input fails clearly", () => {
  it("malformed JSONL names file and line", async () => {
    write("bad.jsonl", `${JSON.stringify({ q: "a", a: "b" })}\n{"q": "broken\n`);
    const task = write("t1.yaml", goodTask("bad.jsonl"));
    const before = await storedRuns();
    const r = await runCli(["run", task, "--model", `ngram:${corpus()}`, "--store", store]);
    expectClearError(r, "bad.jsonl:2:", "malformed JSON");
    const after = (await storedRuns()) as Array<{ id: string; status: string }>;
    // The earlier run is untouched; the failed one is recorded as failed, not completed.
    expect(after.filter((x) => x.status === "completed")).toEqual(before);
  });

  it("malformed CSV names the file and line", async () => {
    write("bad.csv", 'q,a\n"x",y\n"unterminated,z\n');
    const r = await runCli([
      "run",
      write("t2.yaml", goodTask("bad.csv")),
      "--model",
      `ngram:${corpus()}`,
      "--store",
      store,
    ]);
    expectClearError(r, "bad.csv", "malformed CSV");
  });

  it("malformed YAML names file and line", async () => {
    const r = await runCli([
      "run",
      write("t3.yaml", "task: x\ndoc_to_text: [a, b\n"),
      "--model",
      `ngram:${corpus()}`,
      "--store",
      store,
    ]);
    expectClearError(r, "t3.yaml:", "malformed YAML");
  });

  it("unknown metric names the nearest valid ones", async () => {
    const task = write("t4.yaml", goodTask("data.jsonl", "metric_list: [{metric: perplexty}]\n"));
    const r = await runCli(["run", task, "--model", `ngram:${corpus()}`, "--store", store]);
    expectClearError(r, "t4.yaml", "metric_list", "unknown metric 'perplexty'", "did you mean 'perplexity'");
  });

  it("unknown model spec names the valid kinds", async () => {
    const r = await runCli(["run", path.join(dir, "good.yaml"), "--model", "opnai:gpt", "--store", store]);
    expectClearError(r, "--model", "unknown model spec 'opnai:gpt'", "did you mean 'openai'");
  });

  it("a template referencing a missing field names it", async () => {
    const task = write("t5.yaml", goodTask().replace("doc_to_text: q", "doc_to_text: '{{question}}'"));
    const r = await runCli(["run", task, "--model", `ngram:${corpus()}`, "--store", store]);
    expectClearError(r, "t5.yaml", "doc_to_text", "missing field 'question'");
  });

  it("an unreachable server is named, and the run can be resumed", async () => {
    const r = await runCli([
      "run",
      path.join(dir, "good.yaml"),
      "--model",
      "openai:m@http://127.0.0.1:9/v1",
      "--store",
      store,
      "--max-retries",
      "1",
    ]);
    expectClearError(r, "127.0.0.1:9", "assay run --resume");
  });

  it("an API error body is shown", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ error: { message: "Incorrect API key provided", type: "invalid_request_error" } }),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    try {
      const r = await runCli([
        "run",
        path.join(dir, "good.yaml"),
        "--model",
        `openai:m@${url}`,
        "--store",
        store,
      ]);
      expectClearError(r, "Incorrect API key provided");
    } finally {
      server.close();
    }
  });

  it("unknown options and missing files fail without a stack trace", async () => {
    const r = await runCli(["run", "--modle", "x"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--modle'");
    expect(r.stderr).toContain("--model");
    expectClearError(
      await runCli(["run", path.join(dir, "nope.yaml"), "--model", `ngram:${corpus()}`]),
      "nope.yaml",
      "not found",
    );
  });
});
