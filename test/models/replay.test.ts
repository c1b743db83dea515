/** The `replay` provider: recorded outputs served back, matched on the prompt; bad recordings → UserError. */
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createProvider } from "../../src/models/registry.js";
import { createReplayProvider, promptSha256 } from "../../src/models/replay.js";
import { type ChatMessage, ProviderError, type Request } from "../../src/models/types.js";
import { UserError } from "../../src/util/errors.js";
import { runCli } from "../helpers/cli.js";

let dir: string;
const signal = new AbortController().signal;
const params = { until: [], max_gen_toks: 64, temperature: 0 };
const gen = (
  prompt: string | ChatMessage[],
  extra: Partial<Extract<Request, { kind: "generate_until" }>> = {},
) => ({ kind: "generate_until", prompt, params, ...extra }) as Request;

function write(name: string, lines: unknown[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n"));
  return file;
}

async function text(p: Awaited<ReturnType<typeof createReplayProvider>>, r: Request): Promise<string> {
  const { response } = await p.serve(r, signal);
  if (response.kind !== "generate_until") throw new Error("not a generation");
  return response.text;
}

async function userError(spec: string): Promise<string> {
  try {
    await createReplayProvider(spec);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as UserError).format();
  }
  throw new Error("expected a UserError");
}

const chat: ChatMessage[] = [
  { role: "system", content: "Be a judge." },
  { role: "user", content: "Which is better?" },
];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "assay-replay-"));
});

describe("replay provider", () => {
  it("serves recordings by exact prompt, chat messages, prompt hash and sample index", async () => {
    const a = write("a.jsonl", [
      { prompt: "What is 2+2?", output: "4" },
      { prompt: "What is 2+2?", output: "four", sample_index: 1 },
      "",
      { id: "q7", prompt: chat, output: "A is better. [[A]]" },
    ]);
    const b = write("b.jsonl", [
      { prompt_sha256: promptSha256("Hashed prompt"), output: "from the hash" },
      { prompt: "Only sampled", output: "s0", sample_index: 0 },
      { prompt: "Stops", output: "first line\nsecond line" },
    ]);
    const p = await createReplayProvider(`replay:${a},${b}`);
    expect(p.spec).toBe(`replay:${a},${b}`);
    expect([...p.capabilities]).toEqual(["generate_until"]);
    expect(await text(p, gen("What is 2+2?"))).toBe("4");
    expect(await text(p, gen("What is 2+2?", { sampleIndex: 1 }))).toBe("four");
    // No recording for sample 2: the unindexed recording answers.
    expect(await text(p, gen("What is 2+2?", { sampleIndex: 2 }))).toBe("4");
    expect(await text(p, gen(chat))).toBe("A is better. [[A]]");
    expect(await text(p, gen("Hashed prompt"))).toBe("from the hash");
    expect(await text(p, gen("Only sampled"))).toBe("s0");
    // Stop sequences cut a recorded output as they would cut a live one.
    expect(await text(p, gen("Stops", { params: { ...params, until: ["\n"] } }))).toBe("first line");
    const { usage } = await p.serve(gen("What is 2+2?"), signal);
    expect(usage).toEqual({ inputTokens: 0, outputTokens: 0 });
  });

  it("a request without a recording is a non-retryable ProviderError naming the prompt and files", async () => {
    const a = write("miss.jsonl", [{ prompt: "known", output: "x" }]);
    const p = await createReplayProvider(`replay:${a}`);
    const long = `unknown ${"word ".repeat(100)}`;
    const err = await p.serve(gen(long), signal).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('no recording for prompt "unknown word word');
    expect(err.message).toContain(`…" in ${a}`);
    expect(err.message.length).toBeLessThan(200 + a.length);
    // A string record does not answer the same text sent as chat messages.
    const chatErr = await p.serve(gen([{ role: "user", content: "known" }]), signal).catch((e) => e);
    expect(chatErr).toBeInstanceOf(ProviderError);
    const sampled = await p.serve(gen("nope", { sampleIndex: 3 }), signal).catch((e) => e);
    expect(sampled.message).toContain('"nope" (sample 3)');
  });

  it("serves loglikelihood and rolling records, and declares those capabilities", async () => {
    const a = write("ll.jsonl", [
      { context: "The sky is", continuation: " blue", logprob: -0.25, is_greedy: true },
      { context: "The sky is", continuation: " green", logprob: -7.5, is_greedy: false },
      { text: "a whole document", logprob: -42 },
    ]);
    const p = await createReplayProvider(`replay:${a}`);
    expect(new Set(p.capabilities)).toEqual(new Set(["loglikelihood", "loglikelihood_rolling"]));
    const ll = (continuation: string) =>
      p.serve({ kind: "loglikelihood", context: "The sky is", continuation }, signal);
    expect((await ll(" blue")).response).toEqual({ kind: "loglikelihood", logprob: -0.25, isGreedy: true });
    expect((await ll(" green")).response).toEqual({ kind: "loglikelihood", logprob: -7.5, isGreedy: false });
    await expect(ll(" red")).rejects.toThrow(/no recording for continuation " red" of context "The sky is"/);
    const rolling = await p.serve({ kind: "loglikelihood_rolling", text: "a whole document" }, signal);
    expect(rolling.response).toEqual({ kind: "loglikelihood_rolling", logprob: -42 });
  });

  it("its id is the sha of the files' contents, not their names", async () => {
    const lines = [{ prompt: "p", output: "o" }];
    const a = await createReplayProvider(`replay:${write("x1.jsonl", lines)}`);
    const b = await createReplayProvider(`replay:${write("x2.jsonl", lines)}`);
    const c = await createReplayProvider(`replay:${write("x3.jsonl", [{ prompt: "p", output: "O" }])}`);
    expect(a.id).toMatch(/^replay:[0-9a-f]{64}$/);
    expect(a.id).toBe(b.id);
    expect(c.id).not.toBe(a.id);
    const outer = createHash("sha256")
      .update(
        createHash("sha256")
          .update(`${JSON.stringify(lines[0])}`)
          .digest(),
      )
      .digest("hex");
    expect(a.id).toBe(`replay:${outer}`);
  });

  it("is registered as replay: in the model registry", async () => {
    const file = write("reg.jsonl", [{ prompt: "p", output: "o" }]);
    const p = await createProvider(`replay:${file}`, { cacheDir: dir });
    expect(p.id).toMatch(/^replay:/);
    expect(await text(p as Awaited<ReturnType<typeof createReplayProvider>>, gen("p"))).toBe("o");
  });

  it("bad recordings are UserErrors naming file:line, field and what was expected", async () => {
    const f = (name: string, lines: unknown[]) => `replay:${write(name, lines)}`;
    const at = (name: string, line: number) => `${path.join(dir, name)}:${line}:`;
    expect(await userError(f("json.jsonl", [{ prompt: "a", output: "b" }, "{not json"]))).toMatch(
      new RegExp(`^${reEscape(at("json.jsonl", 2))} invalid JSON`),
    );
    expect(await userError(f("arr.jsonl", ["[1, 2]"]))).toContain(`${at("arr.jsonl", 1)} not a JSON object`);
    expect(await userError(f("out.jsonl", [{ prompt: "a" }]))).toContain(
      `${at("out.jsonl", 1)} output: missing field (expected the recorded output text, a string)`,
    );
    expect(await userError(f("out2.jsonl", [{ prompt: "a", output: 3 }]))).toContain(
      `${at("out2.jsonl", 1)} output: invalid value 3`,
    );
    expect(await userError(f("prompt.jsonl", [{ prompt: 5, output: "x" }]))).toContain(
      `${at("prompt.jsonl", 1)} prompt: invalid value 5`,
    );
    expect(
      await userError(f("msg.jsonl", [{ prompt: [{ role: "bot", content: "x" }], output: "x" }])),
    ).toContain(`${at("msg.jsonl", 1)} prompt: invalid chat message 0`);
    expect(await userError(f("idonly.jsonl", [{ id: "q1", output: "x" }]))).toContain(
      `${at("idonly.jsonl", 1)} prompt: record "q1" has an id but no prompt`,
    );
    expect(await userError(f("idx.jsonl", [{ prompt: "a", output: "x", sample_index: -1 }]))).toContain(
      `${at("idx.jsonl", 1)} sample_index: invalid value -1 (expected a non-negative integer)`,
    );
    expect(await userError(f("sha.jsonl", [{ prompt_sha256: "abc", output: "x" }]))).toContain(
      `${at("sha.jsonl", 1)} prompt_sha256: invalid value "abc"`,
    );
    expect(await userError(f("lp.jsonl", [{ context: "a", continuation: "b", logprob: 0.5 }]))).toContain(
      `${at("lp.jsonl", 1)} logprob: invalid value 0.5 (expected a log-probability: a number ≤ 0)`,
    );
    expect(
      await userError(f("greedy.jsonl", [{ context: "a", continuation: "b", logprob: -1, is_greedy: "y" }])),
    ).toContain(`${at("greedy.jsonl", 1)} is_greedy: invalid value "y"`);
    expect(await userError(f("what.jsonl", [{ answer: "x" }]))).toContain(
      `${at("what.jsonl", 1)} unrecognised record with keys answer`,
    );
    const conflict = await userError(
      f("conflict.jsonl", [
        { prompt: "a", output: "x" },
        { prompt: "a", output: "x" },
        { prompt: "a", output: "y" },
      ]),
    );
    expect(conflict).toContain(
      `${at("conflict.jsonl", 3)} conflicting recording: prompt "a" is already recorded at`,
    );
    expect(conflict).toContain(`${path.join(dir, "conflict.jsonl")}:1 with another value`);
    expect(await userError(f("empty.jsonl", ["", "  "]))).toContain("no recordings");
    expect(await userError(`replay:${path.join(dir, "absent.jsonl")}`)).toContain("recording file not found");
    expect(await userError("replay:")).toContain("--model: no recording files in 'replay:'");
  });
});

describe("assay run --model replay:<outputs.jsonl>", () => {
  it("evaluates outputs produced elsewhere with a generate_until task; a missing one stops the run", async () => {
    writeFileSync(
      path.join(dir, "arith.jsonl"),
      [
        { q: "2+2", a: "4" },
        { q: "3+3", a: "6" },
        { q: "5+5", a: "10" },
      ]
        .map((d) => JSON.stringify(d))
        .join("\n"),
    );
    const task = path.join(dir, "arith.yaml");
    writeFileSync(
      task,
      [
        "task: replay_arith",
        "dataset_path: arith.jsonl",
        "output_type: generate_until",
        'doc_to_text: "Q: What is {{q}}?\\nA:"',
        "doc_to_target: a",
        `generation_kwargs: {until: ["\\n"], max_gen_toks: 8}`,
        "filter_list: [{name: strip, filter: [{function: strip}, {function: take_first}]}]",
        "metric_list: [{metric: exact_match}]",
      ].join("\n"),
    );
    const outputs = [
      { prompt: "Q: What is 2+2?\nA:", output: " 4\nQ: What is 9+9?" }, // cut at the task's "\n"
      { prompt: "Q: What is 3+3?\nA:", output: " 7" },
      { prompt: "Q: What is 5+5?\nA:", output: " 10" },
    ];
    const run = (file: string) =>
      runCli(["run", task, "--model", `replay:${file}`, "--store", path.join(dir, "runs.db"), "--json"]);
    const r = await run(write("outputs.jsonl", outputs));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [res] = JSON.parse(r.stdout).runs;
    expect(res.status).toBe("completed");
    expect(res.modelId).toMatch(/^replay:[0-9a-f]{64}$/);
    expect(res.aggregates["exact_match,strip"]).toMatchObject({ value: 2 / 3, n: 3 });

    const partial = await run(write("partial.jsonl", outputs.slice(0, 2)));
    expect(partial.code).not.toBe(0);
    expect(partial.stderr).toContain(
      `replay: no recording for prompt "Q: What is 5+5?\\nA:" in ${path.join(dir, "partial.jsonl")}`,
    );
  });
});

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
