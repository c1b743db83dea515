import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hfCachePath, parseHfRef, resolveHfModel } from "../../src/models/llamacpp/hf.js";
import {
  createLlamaCppProvider,
  INSTALL_MESSAGE,
  type LlamaCppProvider,
  loadNodeLlamaCpp,
  parseLlamaCppSpec,
} from "../../src/models/llamacpp/provider.js";
import {
  commonPrefixLength,
  encodePair,
  logSoftmax,
  makeDisjointWindow,
  rollingTokenWindows,
  scoringInput,
  topIndices,
} from "../../src/models/llamacpp/windows.js";
import type { ProviderResult } from "../../src/models/types.js";
import { UserError } from "../../src/util/errors.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const shared = path.resolve(repoRoot, "../shared");
const modelsDir = path.join(shared, "data/models");
const stories = path.join(modelsDir, "stories260K.gguf");
const tinyRandom = path.join(modelsDir, "llama-2-tiny-random.gguf");
const goldenDir = path.join(shared, "golden/models");

const haveShared = existsSync(stories) && existsSync(goldenDir);
const haveNlc = await import("node-llama-cpp").then(
  () => true,
  () => false,
);
const skipReason = !haveNlc ? "node-llama-cpp is not installed" : !haveShared ? `${stories} not found` : "";
const signal = () => new AbortController().signal;

describe("lm-eval token bookkeeping", () => {
  const charTok = (s: string) => [...s].map((c) => c.charCodeAt(0));

  it("moves trailing context whitespace to the continuation", () => {
    const p = encodePair(charTok, "Question: x\nAnswer: ", "yes");
    expect(p.context).toEqual(charTok("Question: x\nAnswer:"));
    expect(p.continuation).toEqual(charTok(" yes"));
  });

  it("takes the continuation from tok(context + continuation)", () => {
    // A tokenizer that merges "ab" shows the split follows whole[len(ctx):].
    const merging = (s: string) => {
      const out: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (s[i] === "a" && s[i + 1] === "b") {
          out.push(999);
          i++;
        } else out.push(s.charCodeAt(i));
      }
      return out;
    };
    expect(encodePair(merging, "xa", "bc")).toEqual({ context: [120, 97], continuation: [99] });
  });

  it("builds lm-eval's rolling windows and disjoint windows", () => {
    const toks = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    // Expected values from lm_eval.utils.get_rolling_token_windows / make_disjoint_window.
    expect(rollingTokenWindows(toks, -1, 4)).toEqual([
      { context: [-1, 0, 1, 2], continuation: [0, 1, 2, 3] },
      { context: [3, 4, 5, 6], continuation: [4, 5, 6, 7] },
      { context: [5, 6, 7, 8], continuation: [8, 9] },
    ]);
    expect(rollingTokenWindows(toks, -1, 4).map(makeDisjointWindow)).toEqual([
      { context: [-1], continuation: [0, 1, 2, 3] },
      { context: [3], continuation: [4, 5, 6, 7] },
      { context: [5, 6, 7], continuation: [8, 9] },
    ]);
    expect(rollingTokenWindows([0, 1, 2, 3, 4, 5, 6], -1, 4, 2).map(makeDisjointWindow)).toEqual([
      { context: [-1], continuation: [0, 1, 2, 3] },
      { context: [2, 3], continuation: [4, 5, 6] },
    ]);
    expect(rollingTokenWindows([], -1, 4)).toEqual([]);
  });

  it("left-truncates scoring input to max_length + 1", () => {
    expect(scoringInput([1, 2, 3, 4], [5, 6], 4)).toEqual({ tokens: [2, 3, 4, 5, 6], firstScored: 3 });
    expect(scoringInput([1], [5, 6], 4)).toEqual({ tokens: [1, 5, 6], firstScored: 1 });
  });

  it("computes a stable log-softmax, argmax and top indices", () => {
    const { logprobs, argmax } = logSoftmax(new Float32Array([1000, 1001, 999]));
    expect(argmax).toBe(1);
    const z = Math.log(Math.exp(-1) + 1 + Math.exp(-2));
    expect(logprobs[1]).toBeCloseTo(-z, 12);
    expect(logprobs[0]).toBeCloseTo(-1 - z, 12);
    expect(topIndices([0.1, 0.5, 0.5, 0.2, 0.9], 3)).toEqual([4, 1, 2]);
    expect(topIndices([3, 1], 5)).toEqual([0, 1]);
    expect(commonPrefixLength([1, 2, 3], [1, 2, 4, 5])).toBe(2);
  });
});

describe("llamacpp specs", () => {
  it("parses a path with options", () => {
    const p = parseLlamaCppSpec("llamacpp:m/x.gguf?threads=2&ctx=1024&max_length=512&kv=f16", "/root");
    expect(p.file).toBe("/root/m/x.gguf");
    expect(p.options).toEqual({ threads: 2, ctx: 1024, maxLength: 512, kv: "f16" });
  });

  it("rejects unknown options with a suggestion", () => {
    expect(() => parseLlamaCppSpec("llamacpp:x.gguf?thread=2")).toThrow(UserError);
    try {
      parseLlamaCppSpec("llamacpp:x.gguf?thread=2");
    } catch (e) {
      expect((e as UserError).format()).toContain("threads");
    }
    expect(() => parseLlamaCppSpec("llamacpp:x.gguf?threads=0")).toThrow(/bad threads='0'/);
  });

  it("parses hf: references", () => {
    expect(parseLlamaCppSpec("llamacpp:hf:owner/repo/sub/m.Q4_K_M.gguf").hf).toEqual({
      owner: "owner",
      repo: "repo",
      file: "sub/m.Q4_K_M.gguf",
      revision: "main",
    });
    expect(parseHfRef("hf:o/r/m.gguf@v1.0").revision).toBe("v1.0");
    expect(() => parseHfRef("hf:owner/m.gguf")).toThrow(UserError);
  });

  it("fails clearly on a missing model file, naming it and the field", () => {
    const err = (() => {
      try {
        createLlamaCppProvider("llamacpp:/nonexistent/model.gguf");
      } catch (e) {
        return e as UserError;
      }
    })();
    expect(err).toBeInstanceOf(UserError);
    expect(err!.message).toMatch(/cannot read model file \/nonexistent\/model\.gguf: ENOENT/);
    expect(err!.where.field).toBe("model");
  });

  it("refuses a file that is not GGUF before llama.cpp sees it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "assay-llamacpp-"));
    const text = path.join(dir, "notes.gguf");
    writeFileSync(text, "this is a text file, not a model\n");
    const empty = path.join(dir, "empty.gguf");
    writeFileSync(empty, "");
    for (const [file, what] of [
      [text, 'it starts with "this is "'],
      [empty, "it is empty"],
    ]) {
      let err: UserError | undefined;
      try {
        createLlamaCppProvider(`llamacpp:${file}`);
      } catch (e) {
        err = e as UserError;
      }
      expect(err).toBeInstanceOf(UserError);
      expect(err!.message).toBe(`${file} is not a GGUF file (${what})`);
      expect(err!.where.field).toBe("model");
    }
  });
});

describe("missing node-llama-cpp", () => {
  const missing = () =>
    Promise.reject(
      Object.assign(new Error("Cannot find package 'node-llama-cpp' imported from /x/provider.js"), {
        code: "ERR_MODULE_NOT_FOUND",
      }),
    );

  it("the loader says how to install it", async () => {
    const err = await loadNodeLlamaCpp(missing).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(INSTALL_MESSAGE);
    expect(err.message).toContain("npm install node-llama-cpp");
  });

  it("a failure inside the package is not reported as missing", async () => {
    const err = await loadNodeLlamaCpp(() => Promise.reject(new Error("bad ELF header"))).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain("bad ELF header");
  });

  it("serving through the provider fails with the install message", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "assay-llamacpp-"));
    const file = path.join(dir, "m.gguf");
    writeFileSync(file, "GGUF");
    const p = createLlamaCppProvider(`llamacpp:${file}`, { importer: missing });
    const err = await p
      .serve({ kind: "loglikelihood", context: "a", continuation: " b" }, signal())
      .catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain("npm install node-llama-cpp");
  });
});

describe("hf: downloads offline", () => {
  let hanging: Server;
  let hangingUrl: string;
  beforeAll(async () => {
    // Accepts connections and never answers, like a network that swallows packets.
    hanging = createServer(() => {});
    await new Promise<void>((r) => hanging.listen(0, "127.0.0.1", r));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    hanging.closeAllConnections();
    hanging.close();
  });

  const ref = parseHfRef("hf:someone/tiny/model.gguf");

  it("fails with a UserError when the hub cannot be reached", async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), "assay-hf-"));
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    const err = await resolveHfModel(ref, {
      cacheDir,
      endpoint: "http://127.0.0.1:9",
      timeoutMs: 2000,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/cannot download hf:someone\/tiny\/model\.gguf .*offline or unreachable/);
    expect(err.format()).toContain(hfCachePath(ref, cacheDir));
  });

  it("gives up after the timeout when the hub does not answer", async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), "assay-hf-"));
    const t0 = Date.now();
    const err = await resolveHfModel(ref, { cacheDir, endpoint: hangingUrl, timeoutMs: 300 }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain("no response within 300 ms");
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("uses a cached file without network", async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), "assay-hf-"));
    const dest = hfCachePath(ref, cacheDir);
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, "GGUF");
    expect(await resolveHfModel(ref, { cacheDir, endpoint: "http://127.0.0.1:9" })).toBe(dest);
  });

  it.skipIf(!haveNlc)("the provider reports the download failure", async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), "assay-hf-"));
    const p = createLlamaCppProvider("llamacpp:hf:someone/tiny/model.gguf", {
      download: { cacheDir, endpoint: "http://127.0.0.1:9", timeoutMs: 2000 },
    });
    expect(p.id).toBe("llamacpp:hf:someone/tiny/model.gguf@main:ctx=auto:max_length=auto:logits=target");
    const err = await p.serve({ kind: "loglikelihood_rolling", text: "x" }, signal()).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain("offline or unreachable");
  });
});

describe.skipIf(!!skipReason)(
  `stories260K through llama.cpp${skipReason ? ` (skipped: ${skipReason})` : ""}`,
  () => {
    let p: LlamaCppProvider;
    beforeAll(async () => {
      p = createLlamaCppProvider(`llamacpp:${stories}?threads=1`);
      await p.info();
    });
    afterAll(async () => {
      await p?.close();
    });

    const generate = async (prompt: string, params: Record<string, unknown>, sampleIndex?: number) => {
      const r: ProviderResult = await p.serve(
        {
          kind: "generate_until",
          prompt,
          params: { until: [], max_gen_toks: 256, temperature: 0, ...params },
          sampleIndex,
        },
        signal(),
      );
      if (r.response.kind !== "generate_until") throw new Error("wrong kind");
      return { text: r.response.text, usage: r.usage };
    };

    // The file's first line is the exporter's config dump, not model output; then the text and a newline.
    const greedyFile = readFileSync(path.join(modelsDir, "stories260K.greedy256.txt"), "utf8");
    const greedyText = greedyFile.slice(greedyFile.indexOf("\n") + 1).replace(/\n$/, "");

    it("reproduces the reference greedy generation from BOS exactly", async () => {
      // llama2.c's run with steps=256 samples 256 tokens after BOS (the README says 255; 255 stop one
      // token short, before the final ".").
      const g = await generate("", { max_gen_toks: 256 });
      expect(g.usage).toEqual({ inputTokens: 1, outputTokens: 256 });
      expect(g.text).toBe(greedyText);
    });

    it("stops before the first stop sequence and at max_gen_toks", async () => {
      const g = await generate("", { until: ["Lily", "zzz"] });
      expect(g.text).toBe(greedyText.slice(0, greedyText.indexOf("Lily")));
      const short = await generate("", { max_gen_toks: 10 });
      expect(short.usage.outputTokens).toBe(10);
      expect(greedyText.startsWith(short.text)).toBe(true);
    });

    it("continues a prompt with the right spacing", async () => {
      const g = await generate("Once upon a time,", { max_gen_toks: 6 });
      expect(greedyText.startsWith(`Once upon a time,${g.text}`)).toBe(true);
    });

    it("samples reproducibly from a seed, differently per sample index", async () => {
      const params = { temperature: 1, seed: 7, max_gen_toks: 40 };
      const a = await generate("Once", params, 0);
      const b = await generate("Once", params, 0);
      const c = await generate("Once", params, 1);
      expect(a.text).toBe(b.text);
      expect(c.text).not.toBe(a.text);
    });

    const cases = haveShared
      ? readFileSync(path.join(goldenDir, "stories260K.loglikelihood.jsonl"), "utf8")
          .split("\n")
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l))
      : [];

    it("matches the float64 reference log-likelihoods", async () => {
      for (const c of [...cases.slice(0, 4), ...cases.filter((x) => x.id.startsWith("arc")).slice(0, 4)]) {
        const d = await p.loglikelihoodDetailed(c.context, c.continuation);
        expect(d.contextTokens).toEqual(c.context_tokens);
        expect(d.continuationTokens).toEqual(c.continuation_tokens);
        expect(Math.abs(d.logprob - c.expected.logprob)).toBeLessThan(5e-2);
        for (let i = 0; i < d.tokenLogprobs.length; i++) {
          expect(Math.abs(d.tokenLogprobs[i] - c.expected.token_logprobs[i])).toBeLessThan(2e-2);
        }
        expect(d.isGreedy).toBe(c.expected.is_greedy);
      }
    });

    it("gives the same answers when the choices of items arrive interleaved and concurrently", async () => {
      const some = cases.slice(0, 12);
      const sequential: number[] = [];
      for (const c of some)
        sequential.push((await p.loglikelihoodDetailed(c.context, c.continuation)).logprob);
      const shuffled = some.map((c, i) => ({ c, i })).sort((a, b) => (a.i % 3) - (b.i % 3) || a.i - b.i);
      const concurrent = await Promise.all(
        shuffled.map(({ c }) =>
          p.serve({ kind: "loglikelihood", context: c.context, continuation: c.continuation }, signal()),
        ),
      );
      shuffled.forEach(({ i }, j) => {
        const r = concurrent[j].response;
        if (r.kind !== "loglikelihood") throw new Error("wrong kind");
        expect(Math.abs(r.logprob - sequential[i])).toBeLessThan(1e-4);
      });
    });

    it("scores rolling log-likelihood like a loglikelihood from BOS when the text fits", async () => {
      const text = "Once upon a time, there was a little dog named Max.";
      const r = await p.serve({ kind: "loglikelihood_rolling", text }, signal());
      const d = await p.loglikelihoodDetailed("", text);
      if (r.response.kind !== "loglikelihood_rolling") throw new Error("wrong kind");
      expect(Math.abs(r.response.logprob - d.logprob)).toBeLessThan(1e-4);
    });

    it("splits long texts into disjoint windows of max_length", async () => {
      const small = createLlamaCppProvider(`llamacpp:${stories}?max_length=16&threads=1`);
      try {
        const text = greedyText.slice(0, 300);
        const tokens = await small.tokenize(text);
        expect(tokens.length).toBeGreaterThan(40);
        const r = await small.serve({ kind: "loglikelihood_rolling", text }, signal());
        if (r.response.kind !== "loglikelihood_rolling") throw new Error("wrong kind");
        // Each window scores its tokens given at most 16 tokens: worse than with the full context.
        const full = await p.serve({ kind: "loglikelihood_rolling", text }, signal());
        if (full.response.kind !== "loglikelihood_rolling") throw new Error("wrong kind");
        expect(r.response.logprob).toBeLessThan(full.response.logprob);
        const scores = await small.scoreText(text, 0, signal());
        const total = scores.reduce((s, t) => s + (t.logprob ?? 0), 0);
        expect(Math.abs(total - r.response.logprob)).toBeLessThan(1e-4);
      } finally {
        await small.close();
      }
    });

    it("scores text per token from BOS for echo + logprobs", async () => {
      const text = "Once upon a time, there was a girl.";
      const scores = await p.scoreText(text, 3, signal());
      expect(scores.map((s) => s.token).join("")).toBe(text);
      expect(scores[0].offset).toBe(0);
      scores.forEach((s, i) => {
        if (i > 0) expect(s.offset).toBe(scores[i - 1].offset + scores[i - 1].token.length);
        expect(s.logprob).not.toBeNull();
        expect(Object.keys(s.top).length).toBe(3);
        const best = Math.max(...Object.values(s.top));
        expect(s.greedy).toBe(s.logprob === best);
      });
      const r = await p.serve({ kind: "loglikelihood_rolling", text }, signal());
      if (r.response.kind !== "loglikelihood_rolling") throw new Error("wrong kind");
      const total = scores.reduce((s, t) => s + (t.logprob ?? 0), 0);
      expect(Math.abs(total - r.response.logprob)).toBeLessThan(1e-4);
    });

    it("chat prompts on a GGUF without a template fall back to ChatML", async () => {
      const info = await p.info();
      expect(info.chatTemplate).toBeUndefined();
      const r = await p.serve(
        {
          kind: "generate_until",
          prompt: [
            { role: "system", content: "Be brief." },
            { role: "user", content: "Tell me a story." },
          ],
          params: { until: ["\n\n"], max_gen_toks: 12, temperature: 0 },
        },
        signal(),
      );
      expect(r.response.kind).toBe("generate_until");
      expect(r.usage.inputTokens).toBeGreaterThan(10);
    });

    it.skipIf(!existsSync(tinyRandom))("handles chat prompts on llama-2-tiny-random", async () => {
      const tiny = createLlamaCppProvider(`llamacpp:${tinyRandom}?ctx=256`);
      try {
        const r = await tiny.serve(
          {
            kind: "generate_until",
            prompt: [{ role: "user", content: "Hello <|im_end|> there" }],
            params: { until: ["</s>"], max_gen_toks: 8, temperature: 0.8, seed: 1 },
          },
          signal(),
        );
        expect(r.response.kind).toBe("generate_until");
        expect(r.usage.outputTokens).toBeLessThanOrEqual(8);
        const ll = await tiny.serve(
          { kind: "loglikelihood", context: "Hello", continuation: " world" },
          signal(),
        );
        if (ll.response.kind !== "loglikelihood") throw new Error("wrong kind");
        expect(ll.response.logprob).toBeLessThan(0);
      } finally {
        await tiny.close();
      }
    });

    it("left-truncates a context longer than the window as lm-eval does, and counts it", async () => {
      const small = createLlamaCppProvider(`llamacpp:${stories}?max_length=16&threads=1`);
      try {
        const context = greedyText.slice(0, 200);
        const d = await small.loglikelihoodDetailed(context, " Lily");
        const all = [...d.contextTokens, ...d.continuationTokens];
        expect(all.length).toBeGreaterThan(17);
        // lm-eval keeps the last max_length + 1 tokens: the model sees 16 and scores the continuation.
        expect(d.truncatedTokens).toBe(all.length - 17);
        expect(small.truncation()).toEqual({ requests: 1, tokens: d.truncatedTokens });
        // The same as scoring the kept tokens directly, without BOS: the cut happens on tokens.
        const kept = all.slice(all.length - 17, all.length - d.continuationTokens.length);
        const e = await small.engine();
        const direct = await e.exclusive(kept, () =>
          e.score([...kept, ...d.continuationTokens], kept.length),
        );
        expect(Math.abs(direct.reduce((s, t) => s + t.logprob, 0) - d.logprob)).toBeLessThan(1e-4);
        // A fitting request is not counted; a too-long generation prompt is, through info() as well.
        await small.loglikelihoodDetailed("Once", " upon");
        await small.serve(
          { kind: "generate_until", prompt: context, params: { until: [], max_gen_toks: 4, temperature: 0 } },
          signal(),
        );
        const t = (await small.info()).truncated;
        expect(t.requests).toBe(2);
        expect(t.tokens).toBeGreaterThan(d.truncatedTokens);
      } finally {
        await small.close();
      }
    });

    it("refuses an empty continuation as lm-eval does", async () => {
      for (const context of ["Once upon a time", ""]) {
        const err = await p
          .serve({ kind: "loglikelihood", context, continuation: "" }, signal())
          .catch((e) => e);
        expect(err).toBeInstanceOf(UserError);
        expect(err.message).toContain("empty continuation");
        expect(err.where.field).toBe("continuation");
      }
      // Trailing context whitespace moves to the continuation, which is then not empty.
      const d = await p.loglikelihoodDetailed("Once upon a time ", "");
      expect(d.continuationTokens.length).toBeGreaterThan(0);
    });

    it("reports a corrupt GGUF as a UserError, not a native crash", async () => {
      const dir = mkdtempSync(path.join(tmpdir(), "assay-llamacpp-"));
      const file = path.join(dir, "corrupt.gguf");
      // The magic and a version, then garbage where the tensor and metadata counts belong.
      writeFileSync(
        file,
        Buffer.concat([Buffer.from("GGUF"), Buffer.from([3, 0, 0, 0]), Buffer.alloc(200, 0xff)]),
      );
      const bad = createLlamaCppProvider(`llamacpp:${file}?threads=1`);
      const err = await bad.info().catch((e) => e);
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toContain(`cannot load model ${file}`);
      expect(err.where.field).toBe("model");
    });

    it("refuses an aborted request", async () => {
      const ac = new AbortController();
      ac.abort();
      await expect(
        p.serve({ kind: "loglikelihood", context: "a", continuation: " b" }, ac.signal),
      ).rejects.toThrow(/aborted/);
    });
  },
);
