/**
 * HumanEval execution: every sample runs in a bubblewrap sandbox. Canonical solutions pass 164/164,
 * empty completions pass none, and escape attempts (network, reading or writing the host filesystem,
 * fork bomb, infinite loop, memory hog) are contained and count as failed samples. Without bubblewrap,
 * assay refuses to run generated code at all.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadDocs } from "../../src/data/dataset.js";
import { checkSandbox, runPythonSandboxed } from "../../src/sandbox/bwrap.js";
import { PROCESS_RESULTS } from "../../src/tasks/preprocess.js";
import { UserError } from "../../src/util/errors.js";
import { BENCH_DIR, HAVE_BENCH, NO_BENCH, tmpDir } from "./helpers.js";

let sandboxMissing: string | undefined;
try {
  checkSandbox();
} catch (e) {
  sandboxMissing = `skipped: ${(e as UserError).message}`;
  console.warn(sandboxMissing);
}
const canRun = !sandboxMissing;

const humaneval = PROCESS_RESULTS.humaneval;
const score = (doc: Record<string, unknown>, completions: string[]) =>
  humaneval({ doc, responses: [], filtered: completions, metrics: ["pass@1", "pass@10"] });

describe("refusing to run without the sandbox", () => {
  it("a missing bwrap is a clear error, and nothing runs", async () => {
    const saved = process.env.ASSAY_BWRAP;
    const marker = path.join(tmpDir(), "ran");
    process.env.ASSAY_BWRAP = "/nonexistent/bwrap";
    try {
      await expect(runPythonSandboxed(`open(${JSON.stringify(marker)}, "w").write("x")`)).rejects.toThrow(
        UserError,
      );
      await expect(runPythonSandboxed("pass")).rejects.toThrow(
        /refusing to execute generated code: the sandbox tool bubblewrap \(bwrap\) is not installed/,
      );
      expect(existsSync(marker)).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.ASSAY_BWRAP;
      else process.env.ASSAY_BWRAP = saved;
    }
  });
});

describe.skipIf(!canRun || !HAVE_BENCH)("HumanEval in the sandbox", () => {
  if (!HAVE_BENCH) console.warn(NO_BENCH);
  let problems: Record<string, unknown>[] = [];
  const load = async () => {
    if (problems.length === 0)
      problems = await loadDocs(path.join(BENCH_DIR, "humaneval/HumanEval.jsonl.gz"));
    return problems;
  };

  it("the canonical solutions pass 164/164", async () => {
    const docs = await load();
    const results = await Promise.all(docs.map((d) => score(d, [String(d.canonical_solution)])));
    expect(results.filter((r) => r["pass@1"] === 1)).toHaveLength(164);
    // pass@10 needs n ≥ 10 samples: left out, as HF code_eval does.
    expect(results.every((r) => !("pass@10" in r))).toBe(true);
  }, 180_000);

  it("empty completions pass 0/164", async () => {
    const docs = await load();
    const results = await Promise.all(docs.map((d) => score(d, [""])));
    expect(results.filter((r) => r["pass@1"] !== 0)).toHaveLength(0);
  }, 180_000);

  it("pass@1 and pass@10 from n samples: the unbiased estimator", async () => {
    const [doc] = await load();
    const good = String(doc.canonical_solution);
    const bad = "    return None\n";
    // 3 of 20 pass: pass@1 = 3/20, pass@10 = 1 - C(17,10)/C(20,10).
    const r = await score(doc, [good, good, good, ...Array(17).fill(bad)]);
    expect(r["pass@1"]).toBeCloseTo(0.15, 12);
    expect(r["pass@10"]).toBeCloseTo(1 - 19448 / 184756, 12);
  }, 60_000);

  it("broken solutions fail", async () => {
    const docs = await load();
    const broken = ["    return 0\n", "    syntax error here\n", "    raise RuntimeError('no')\n"];
    for (const c of broken) expect((await score(docs[2], [c]))["pass@1"]).toBe(0);
  }, 60_000);
});

describe.skipIf(!canRun)("escape attempts are contained and fail the sample", () => {
  const servers: Array<{ close(): void }> = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it("network: a server on the host's loopback is unreachable", async () => {
    let connections = 0;
    const server = createServer((sock) => {
      connections++;
      sock.end("secret");
    }).listen(0, "127.0.0.1");
    servers.push(server);
    await new Promise((r) => server.once("listening", r));
    const port = (server.address() as { port: number }).port;
    const r = await runPythonSandboxed(
      `import socket\ns = socket.create_connection(("127.0.0.1", ${port}), timeout=2)\nprint(s.recv(10))`,
    );
    expect(r.status).toBe("failed");
    expect(r.output).toMatch(/ConnectionRefusedError|Network is unreachable|OSError/);
    expect(connections).toBe(0);
  });

  it("reading the host filesystem: files outside the sandbox do not exist in it", async () => {
    const secret = path.join(tmpDir(), "secret.txt");
    writeFileSync(secret, "top secret");
    for (const file of [secret, "/etc/passwd", path.resolve("package.json"), "/root/.bashrc"]) {
      const r = await runPythonSandboxed(`print(open(${JSON.stringify(file)}).read())`);
      expect(r.status).toBe("failed");
      expect(r.output).toContain("FileNotFoundError");
      expect(r.output).not.toContain("top secret");
    }
  });

  it("writing outside the sandbox: the host is untouched", async () => {
    const dir = tmpDir();
    const target = path.join(dir, "pwned.txt");
    for (const file of [target, "/usr/pwned", "/pwned", "/work/../pwned"]) {
      const r = await runPythonSandboxed(`open(${JSON.stringify(file)}, "w").write("x")`);
      expect(r.status).toBe("failed");
      expect(r.output).toMatch(/FileNotFoundError|Read-only file system|PermissionError/);
    }
    expect(existsSync(target)).toBe(false);
    expect(existsSync("/usr/pwned")).toBe(false);
    expect(existsSync("/pwned")).toBe(false);
  });

  it("a fork bomb is capped and killed at the time limit", async () => {
    const r = await runPythonSandboxed(
      "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
      {
        timeoutMs: 2000,
      },
    );
    expect(r.status).toBe("timeout");
    expect(r.wallMs).toBeLessThan(10_000);
  }, 30_000);

  it("an infinite loop is killed at the time limit", async () => {
    const r = await runPythonSandboxed("while True:\n    pass\n", { timeoutMs: 1500 });
    expect(r.status).toBe("timeout");
    expect(r.signal).toBe("SIGKILL");
    expect(r.wallMs).toBeLessThan(5000);
  });

  it("a memory hog hits the memory limit", async () => {
    const r = await runPythonSandboxed("x = []\nwhile True:\n    x.append(bytearray(50 * 1024 * 1024))\n", {
      memoryBytes: 256 * 1024 * 1024,
    });
    expect(r.status).toBe("failed");
    expect(r.output).toContain("MemoryError");
  });

  it("each sample gets a fresh, throwaway working directory", async () => {
    const a = await runPythonSandboxed("import os\nopen('left.txt','w').write('x')\nprint(os.getcwd())");
    const b = await runPythonSandboxed("import os\nprint(os.path.exists('left.txt'))");
    expect(a.output.trim()).toBe("/work");
    expect(b.output.trim()).toBe("False");
  });

  it("escape attempts as HumanEval completions score 0", async () => {
    const doc = {
      prompt: "def f(x):\n",
      test: "def check(c):\n    assert c(1) == 1\n",
      entry_point: "f",
    };
    const attacks = [
      "    import socket; socket.create_connection(('127.0.0.1', 22), timeout=1); return x\n",
      "    open('/etc/passwd').read(); return x\n",
      "    while True: pass\n",
      "    import os\n    while True: os.fork()\n",
      "    b = bytearray(8 * 1024 ** 3); return x\n",
    ];
    const r = await humaneval({ doc, responses: [], filtered: attacks, metrics: ["pass@1"] });
    expect(r["pass@1"]).toBe(0);
    expect(readFileSync("/etc/hostname", "utf8").length).toBeGreaterThan(0); // the host is fine
  }, 60_000);
});
