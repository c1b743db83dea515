import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_ORDER, NgramModel } from "../../src/models/ngram/model.js";
import { NgramProvider, renderChatPrompt } from "../../src/models/ngram/provider.js";
import { combineSeeds } from "../../src/models/ngram/sampling.js";
import { createNgramProvider, documentsOf, parseNgramSpec } from "../../src/models/ngram/spec.js";
import type { ProviderResult, Request } from "../../src/models/types.js";
import { UserError } from "../../src/util/errors.js";

/** Deterministic word problems ("A" text): held-out A uses another seed. */
function wordProblems(count: number, seed: number): string[] {
  let s = seed;
  const rand = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const names = ["Tom", "Ana", "Lee", "Maria", "Sam", "Olga", "Ravi", "Chen"];
  const things = ["apples", "pencils", "marbles", "books", "cookies", "stickers"];
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const who = names[rand(names.length)];
    const what = things[rand(things.length)];
    const a = 2 + rand(40);
    const b = 1 + rand(30);
    docs.push(
      `${who} has ${a} ${what}. ${who} buys ${b} more ${what}. How many ${what} does ${who} have now?\n` +
        `${who} has ${a} + ${b} = ${a + b} ${what}.\n#### ${a + b}`,
    );
  }
  return docs;
}

/** Unrelated "B" text: program-like lines. */
function codeLines(count: number): string[] {
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    docs.push(
      `fn f${i}(x: i32) -> i32 {\n    let y = x * ${i % 7} ^ 0x${(i * 37).toString(16)};\n    y >> 2\n}`,
    );
  }
  return docs;
}

const BOS_SYM = 256;

/**
 * Interpolated modified Kneser-Ney written out naively from the definitions (Chen & Goodman),
 * with string-keyed maps: the model must agree with it.
 */
function referenceKN(docs: string[], order: number) {
  const raw = new Map<string, number>();
  const key = (g: number[]) => g.join(",");
  for (const doc of docs) {
    const seq = [BOS_SYM, ...new TextEncoder().encode(doc)];
    for (let j = 1; j < seq.length; j++) {
      for (let k = 1; k <= order && j - k + 1 >= 0; k++) {
        const g = key(seq.slice(j - k + 1, j + 1));
        raw.set(g, (raw.get(g) ?? 0) + 1);
      }
    }
  }
  const grams = [...raw.keys()].map((k) => k.split(",").map(Number));
  // Adjusted counts: raw for top-order and BOS-initial n-grams, else distinct left extensions.
  const adj = new Map<string, number>();
  for (const g of grams) {
    if (g.length === order || g[0] === BOS_SYM) adj.set(key(g), raw.get(key(g))!);
    else adj.set(key(g), grams.filter((e) => e.length === g.length + 1 && key(e.slice(1)) === key(g)).length);
  }
  const discounts: number[] = [];
  for (let k = 1; k <= order; k++) {
    const n = [1, 2, 3, 4].map((c) => grams.filter((g) => g.length === k && adj.get(key(g)) === c).length);
    const y = n[0] > 0 && n[1] > 0 ? n[0] / (n[0] + 2 * n[1]) : 0.5;
    const d = [0, 1, 2].map((i) => (n[i] > 0 ? i + 1 - ((i + 2) * y * n[i + 1]) / n[i] : y));
    discounts.push(...d.map((x, i) => (Number.isFinite(x) ? Math.min(i + 1, Math.max(0.05, x)) : 0.5)));
  }
  const prob = (history: number[], w: number): number => {
    let p = 1 / 256;
    for (let k = 1; k <= order; k++) {
      if (k - 1 > history.length) break;
      const ctx = history.slice(history.length - (k - 1));
      const entries = grams.filter((g) => g.length === k && key(g.slice(0, -1)) === key(ctx));
      if (entries.length === 0) break;
      const D = (c: number) => discounts[(k - 1) * 3 + Math.min(c, 3) - 1];
      const total = entries.reduce((a, g) => a + adj.get(key(g))!, 0);
      const gamma = entries.reduce((a, g) => a + D(adj.get(key(g))!), 0) / total;
      const c = adj.get(key([...ctx, w])) ?? 0;
      p = (c > 0 ? (c - D(c)) / total : 0) + gamma * p;
    }
    return p;
  };
  return { discounts, prob };
}

const enc = new TextEncoder();
const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};
const sumExp = (lps: Float64Array) => lps.reduce((acc, lp) => acc + Math.exp(lp), 0);
const signal = new AbortController().signal;

const trainA = wordProblems(400, 1);
const heldOutA = wordProblems(40, 99).join("\n\n");
const modelA = NgramModel.train(trainA, { order: 5 });

const tmpDirs: string[] = [];
function tmp(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "assay-ngram-"));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe("NgramModel probabilities", () => {
  const contexts = [
    "",
    "T",
    "Tom has 3",
    "How many apples does Tom have now?\n",
    "zq\u00ff\u0001xk", // unseen bytes
    "🙂🙂 ünseen contëxt, much longer than the order of the model",
  ];

  it.each([1, 2, 3, 5, 8])("next-byte distributions sum to 1 (order %i)", (order) => {
    const model = order === 5 ? modelA : NgramModel.train(trainA, { order });
    for (const ctx of contexts) {
      for (const fromStart of [true, false]) {
        const lps = model.nextByteLogProbs(ctx, { fromStart });
        expect(lps.length).toBe(256);
        expect(lps.every((lp) => Number.isFinite(lp) && lp < 0)).toBe(true);
        expect(Math.abs(sumExp(lps) - 1)).toBeLessThan(1e-12);
      }
    }
  });

  it.each([1, 2, 3, 4])("matches a brute-force modified Kneser-Ney reference (order %i)", (order) => {
    const docs = ["abracadabra", "abba cab", "a cab", "cabbage", "bad"];
    const ref = referenceKN(docs, order);
    const model = NgramModel.train(docs, { order });
    expect(model.discounts).toEqual(Float64Array.from(ref.discounts));
    for (const ctx of ["", "a", "ab", "abr", "cab", "zzz", "ba", "xa", "abracadabr"]) {
      const lps = model.nextByteLogProbs(ctx);
      const bytes = [...enc.encode(ctx)];
      for (const w of [..."abcdegr z"].map((c) => c.charCodeAt(0)).concat([0, 255])) {
        expect(lps[w]).toBeCloseTo(Math.log(ref.prob([BOS_SYM, ...bytes], w)), 12);
      }
    }
  });

  it("an untrained model is uniform", () => {
    const empty = NgramModel.train([], { order: 3 });
    const lps = empty.nextByteLogProbs("abc");
    for (const lp of lps) expect(lp).toBeCloseTo(-Math.log(256), 12);
    expect(empty.rollingLogprob("xy")).toBeCloseTo(-2 * Math.log(256), 12);
  });

  it("learns the training text", () => {
    const lps = modelA.nextByteLogProbs("How many apples does Tom have now?\nTom has 3 + 4 = 7 apples.\n###");
    expect(Math.exp(lps["#".charCodeAt(0)])).toBeGreaterThan(0.9);
  });

  it("logprob of a continuation is the sum of per-byte log probs", () => {
    const ctx = enc.encode("Ana has 12 pencils. Ana buys 3 more ");
    const cont = enc.encode("pencils. Ünïcode too");
    let expected = 0;
    for (let i = 0; i < cont.length; i++) {
      expected += modelA.nextByteLogProbs(concat(ctx, cont.subarray(0, i)))[cont[i]];
    }
    const got = modelA.logprob(ctx, cont);
    expect(got.logprob).toBeCloseTo(expected, 9);
    expect(got.isGreedy).toBe(false);
    // The same through strings.
    expect(modelA.logprob("Ana has 12 pencils. Ana buys 3 more ", "pencils. Ünïcode too").logprob).toBe(
      got.logprob,
    );
  });

  it("isGreedy is true exactly for the argmax continuation", () => {
    const ctx = "Sam has 5 marbles. Sam buys 2 more";
    const greedy = modelA.generate(ctx, { maxTokens: 12 }).text;
    expect(greedy.length).toBeGreaterThan(0);
    expect(modelA.logprob(ctx, greedy).isGreedy).toBe(true);
    expect(modelA.logprob(ctx, `${greedy.slice(0, -1)}\u0007`).isGreedy).toBe(false);
    expect(modelA.logprob(ctx, "").logprob).toBe(0);
  });

  it("rolling logprob sums every byte from the start of the text", () => {
    const text = "Olga has 7 books. Olga buys 1 more books.";
    const bytes = enc.encode(text);
    let expected = 0;
    for (let i = 0; i < bytes.length; i++)
      expected += modelA.nextByteLogProbs(bytes.subarray(0, i))[bytes[i]];
    expect(modelA.rollingLogprob(text)).toBeCloseTo(expected, 9);
    expect(modelA.rollingLogprob(text)).toBe(modelA.logprob("", text).logprob);
    expect(modelA.rollingLogprob("")).toBe(0);
    // The start of text matters: the same bytes mid-text score differently.
    expect(modelA.rollingLogprob(text)).not.toBe(modelA.logprob("x ", text).logprob);
    // In-domain text beats the same bytes shuffled.
    const shuffled = [...text].reverse().join("");
    expect(modelA.rollingLogprob(text)).toBeGreaterThan(modelA.rollingLogprob(shuffled));
  });

  it("text like the training data is more likely than under a model of unrelated text", () => {
    const modelB = NgramModel.train(codeLines(400), { order: 5 });
    const a = modelA.rollingLogprob(heldOutA);
    const b = modelB.rollingLogprob(heldOutA);
    expect(a).toBeGreaterThan(b);
    // And the other way round.
    const heldOutB = codeLines(430).slice(400).join("\n");
    expect(modelB.rollingLogprob(heldOutB)).toBeGreaterThan(modelA.rollingLogprob(heldOutB));
    // Bits per byte on held-out A are far below uniform (8).
    expect(-a / enc.encode(heldOutA).length / Math.LN2).toBeLessThan(2);
  });

  it("higher orders fit held-out in-domain text better here", () => {
    const bpb = (order: number) =>
      -NgramModel.train(trainA, { order }).rollingLogprob(heldOutA) / enc.encode(heldOutA).length / Math.LN2;
    expect(bpb(3)).toBeLessThan(bpb(1));
    expect(bpb(5)).toBeLessThan(bpb(3));
  });

  it("rejects invalid orders", () => {
    expect(() => NgramModel.train([], { order: 0 })).toThrow(RangeError);
    expect(() => NgramModel.train([], { order: 2.5 })).toThrow(RangeError);
    expect(() => NgramModel.train([], { order: 17 })).toThrow(RangeError);
  });
});

describe("NgramModel generation", () => {
  const prompt = "Chen has 10 cookies. Chen buys 4 more cookies. How many cookies does Chen have now?\n";

  it("greedy generation is deterministic and respects max tokens", () => {
    const a = modelA.generate(prompt, { maxTokens: 60 });
    const b = modelA.generate(prompt, { maxTokens: 60 });
    expect(a).toEqual(b);
    expect(a.stopReason).toBe("max_tokens");
    expect(a.generatedBytes).toBe(60);
    expect(enc.encode(a.text).length).toBeLessThanOrEqual(60);
    // The order-5 model has learnt the answer's shape, if not the arithmetic.
    expect(a.text).toMatch(/^[A-Z][a-z]+ has \d/);
    expect(modelA.generate(prompt, { maxTokens: 0 }).text).toBe("");
  });

  it("stops at the first stop sequence and cuts before it", () => {
    const full = modelA.generate(prompt, { maxTokens: 80 }).text;
    const stop = full.slice(12, 15);
    const cut = full.indexOf(stop);
    expect(cut).toBeGreaterThan(0);
    const out = modelA.generate(prompt, { maxTokens: 80, until: ["\u0000never", stop, ""] });
    expect(out.text).toBe(full.slice(0, cut));
    expect(out.stopReason).toBe("until");
    expect(out.generatedBytes).toBe(cut + stop.length);
    // With two stops, the output is cut before whichever occurs first in the text.
    const later = full.slice(20, 30);
    const two = modelA.generate(prompt, { maxTokens: 80, until: [later, stop] });
    expect(two.text).toBe(full.slice(0, cut));
  });

  it("never ends in a partial UTF-8 character", () => {
    const model = NgramModel.train(["éééééééééééééééééééééééééééé"], { order: 3 });
    const out = model.generate("", { maxTokens: 5 });
    expect(out.text).toBe("éé");
    expect(out.generatedBytes).toBe(5);
    const euro = NgramModel.train(["€€€€€€€€€€€€€€€€€€"], { order: 4 }).generate("€", { maxTokens: 8 });
    expect(euro.text).toBe("€€");
  });

  it("seeded sampling is reproducible and different seeds differ", () => {
    const opts = { maxTokens: 80, temperature: 1 };
    const a = modelA.generate(prompt, { ...opts, seed: 7 });
    expect(modelA.generate(prompt, { ...opts, seed: 7 })).toEqual(a);
    const others = [8, 9, 10, 11].map((seed) => modelA.generate(prompt, { ...opts, seed }).text);
    expect(others.some((t) => t !== a.text)).toBe(true);
    expect(new Set(others).size).toBeGreaterThan(1);
  });

  it("a tiny top_p keeps only the most likely byte", () => {
    const greedy = modelA.generate(prompt, { maxTokens: 40 }).text;
    expect(modelA.generate(prompt, { maxTokens: 40, temperature: 1, topP: 1e-9, seed: 3 }).text).toBe(greedy);
    // A very hot temperature produces something else.
    expect(modelA.generate(prompt, { maxTokens: 40, temperature: 50, seed: 3 }).text).not.toBe(greedy);
  });

  it("combineSeeds separates seeds and sample indexes", () => {
    expect(combineSeeds(1, 0)).toBe(combineSeeds(1, 0));
    expect(combineSeeds(1, 0)).not.toBe(combineSeeds(1, 1));
    expect(combineSeeds(1, 0)).not.toBe(combineSeeds(0, 1));
    expect(combineSeeds(2 ** 40, 0)).not.toBe(combineSeeds(0, 0));
  });
});

describe("NgramModel serialization", () => {
  it("round-trips to identical probabilities", () => {
    const buf = modelA.serialize();
    expect(Buffer.isBuffer(buf)).toBe(true);
    const copy = NgramModel.deserialize(buf);
    expect(copy.order).toBe(modelA.order);
    expect(copy.stats).toEqual(modelA.stats);
    expect(copy.discounts).toEqual(modelA.discounts);
    for (const ctx of ["", "Tom", "Tom has 12 apples. ", "unseen ✓ context"]) {
      expect(copy.nextByteLogProbs(ctx)).toEqual(modelA.nextByteLogProbs(ctx));
    }
    expect(copy.rollingLogprob(heldOutA)).toBe(modelA.rollingLogprob(heldOutA));
    expect(copy.generate("Ana", { maxTokens: 50, temperature: 0.8, seed: 5 })).toEqual(
      modelA.generate("Ana", { maxTokens: 50, temperature: 0.8, seed: 5 }),
    );
    expect(Buffer.compare(copy.serialize(), buf)).toBe(0);
    // Compact: a few bytes per n-gram.
    expect(buf.length).toBeLessThan(modelA.stats.ngrams * 4);
  });

  it("rejects data that is not a model", () => {
    expect(() => NgramModel.deserialize(Buffer.from("hello world"))).toThrow();
    const buf = modelA.serialize();
    expect(() => NgramModel.deserialize(buf.subarray(0, buf.length - 3))).toThrow();
  });
});

describe("NgramProvider", () => {
  const provider = new NgramProvider(modelA, { spec: "ngram:test" });
  const serve = (r: Request): Promise<ProviderResult> => provider.serve(r, signal);

  it("declares its capabilities and a content-based id", () => {
    expect([...provider.capabilities].sort()).toEqual([
      "generate_until",
      "loglikelihood",
      "loglikelihood_rolling",
    ]);
    expect(provider.id).toMatch(/^ngram:order=5:data=[0-9a-f]{16}$/);
    expect(new NgramProvider(NgramModel.deserialize(modelA.serialize())).id).toBe(provider.id);
    const other = NgramModel.train(trainA.slice(0, 100), { order: 5 });
    expect(new NgramProvider(other).id).not.toBe(provider.id);
    expect(provider.spec).toBe("ngram:test");
  });

  it("serves loglikelihood and rolling requests with byte usage", async () => {
    const ll = await serve({ kind: "loglikelihood", context: "Tom has ", continuation: "5 äpples" });
    expect(ll.response).toEqual({ kind: "loglikelihood", ...modelA.logprob("Tom has ", "5 äpples") });
    expect(ll.usage).toEqual({ inputTokens: 8 + 9, outputTokens: 0 });
    const roll = await serve({ kind: "loglikelihood_rolling", text: heldOutA });
    expect(roll.response).toEqual({
      kind: "loglikelihood_rolling",
      logprob: modelA.rollingLogprob(heldOutA),
    });
    expect(roll.usage.inputTokens).toBe(enc.encode(heldOutA).length);
  });

  it("generates greedily at temperature 0, and reproducibly per sample index otherwise", async () => {
    const params = { until: ["\n"], max_gen_toks: 64, temperature: 0 };
    const g = await serve({ kind: "generate_until", prompt: "Lee has 3 books.", params });
    expect(g.response).toEqual({
      kind: "generate_until",
      text: modelA.generate("Lee has 3 books.", { maxTokens: 64, until: ["\n"] }).text,
    });
    expect(g.usage.inputTokens).toBe(16);
    const sampled = (sampleIndex: number, seed = 1) =>
      serve({
        kind: "generate_until",
        prompt: "Lee has",
        params: { until: [], max_gen_toks: 64, temperature: 1, seed },
        sampleIndex,
      }).then((r) => (r.response as { text: string }).text);
    expect(await sampled(0)).toBe(await sampled(0));
    const texts = await Promise.all([0, 1, 2, 3].map((i) => sampled(i)));
    expect(new Set(texts).size).toBeGreaterThan(1);
    expect(await sampled(0, 2)).not.toBe(await sampled(0, 1));
  });

  it("renders chat messages with the documented template", async () => {
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "Tom has 2 apples." },
    ];
    expect(renderChatPrompt(messages)).toBe("System: Be brief.\nUser: Tom has 2 apples.\nAssistant:");
    const params = { until: [], max_gen_toks: 20, temperature: 0 };
    const r = await serve({ kind: "generate_until", prompt: messages, params });
    expect(r.response).toEqual({
      kind: "generate_until",
      text: modelA.generate(renderChatPrompt(messages), { maxTokens: 20 }).text,
    });
    expect(r.usage.outputTokens).toBe(20);
  });

  it("rejects bad parameters and aborted requests", async () => {
    const prompt = "x";
    await expect(
      serve({ kind: "generate_until", prompt, params: { until: [], max_gen_toks: -1, temperature: 0 } }),
    ).rejects.toThrow(/max_gen_toks/);
    await expect(
      serve({
        kind: "generate_until",
        prompt,
        params: { until: [], max_gen_toks: 1, temperature: 0, top_p: 0 },
      }),
    ).rejects.toThrow(/top_p/);
    const ac = new AbortController();
    ac.abort();
    await expect(provider.serve({ kind: "loglikelihood_rolling", text: "x" }, ac.signal)).rejects.toThrow(
      /aborted/,
    );
  });

  it("scores text byte by byte for echo + logprobs", async () => {
    const text = "Tom é";
    const scores = await provider.scoreText(text, 3, signal);
    expect(scores.map((s) => s.token)).toEqual(["T", "o", "m", " ", "bytes:\\xc3", "bytes:\\xa9"]);
    expect(scores.map((s) => s.offset)).toEqual([0, 1, 2, 3, 4, 4]);
    expect(scores.reduce((a, s) => a + (s.logprob ?? 0), 0)).toBeCloseTo(modelA.rollingLogprob(text), 9);
    expect(Object.keys(scores[0].top)).toHaveLength(3);
    expect(scores[1].greedy).toBe(Object.values(scores[1].top)[0] === scores[1].logprob);
  });
});

describe("ngram specs", () => {
  it("parses paths and options", () => {
    expect(parseNgramSpec("ngram:a.txt")).toEqual({ paths: ["a.txt"], order: DEFAULT_ORDER });
    expect(parseNgramSpec("ngram:a.txt,b.jsonl?order=4&fields=question,answer")).toEqual({
      paths: ["a.txt", "b.jsonl"],
      order: 4,
      fields: ["question", "answer"],
    });
  });

  it.each([
    ["ngram:", /missing training file/],
    ["ngram:a.txt?order=0", /invalid order/],
    ["ngram:a.txt?order=five", /invalid order/],
    ["ngram:a.txt?ordr=3", /unknown ngram option 'ordr'/],
    ["ngram:a.txt?fields=", /empty fields/],
    ["openai:x", /not an ngram spec/],
  ])("rejects %s", (spec, message) => {
    let err: unknown;
    try {
      parseNgramSpec(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(message);
    expect((err as UserError).where.field).toBe("model");
  });

  it("suggests the nearest option name", () => {
    expect(() => parseNgramSpec("ngram:a.txt?ordr=3")).toThrow(UserError);
    try {
      parseNgramSpec("ngram:a.txt?ordr=3");
    } catch (e) {
      expect((e as UserError).format()).toContain("did you mean 'order'");
    }
  });

  it("a missing file is a UserError naming it", async () => {
    const dir = tmp();
    const missing = path.join(dir, "nope.txt");
    const err = await createNgramProvider(`ngram:${missing}`, { cacheDir: path.join(dir, "cache") }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect(err.where.file).toBe(missing);
    expect(err.where.field).toBe("model");
    expect(err.format()).toContain("nope.txt");
  });

  it("reads text, JSONL, JSON and CSV training files", () => {
    expect(documentsOf("a.txt", Buffer.from("\uFEFFhello\nworld"))).toEqual(["hello\nworld"]);
    const jsonl = Buffer.from('{"question":"q1","answer":"a1","n":3}\n\n{"question":"q2","answer":"a2"}\n');
    expect(documentsOf("d.jsonl", jsonl)).toEqual(["q1\na1", "q2\na2"]);
    expect(documentsOf("d.jsonl", jsonl, ["answer"])).toEqual(["a1", "a2"]);
    expect(documentsOf("d.json", Buffer.from('[{"t":"x","u":1},"y"]'))).toEqual(["x", "y"]);
    expect(documentsOf("d.jsonl.gz", gzipSync(jsonl))).toEqual(["q1\na1", "q2\na2"]);
    expect(documentsOf("d.csv", Buffer.from('q,a\nhello,world\n"a, b",c\n'), ["a"])).toEqual(["world", "c"]);
    const bad = (() => {
      try {
        documentsOf("d.jsonl", Buffer.from('{"question":"q"}\n{"answer":"a"}\n'), ["question"]);
      } catch (e) {
        return e as UserError;
      }
    })();
    expect(bad).toBeInstanceOf(UserError);
    expect(bad?.where).toMatchObject({ file: "d.jsonl", line: 2, field: "question" });
    expect(() => documentsOf("d.jsonl", Buffer.from("{oops\n"))).toThrow(/malformed JSON/);
  });

  it("trains once and reuses the disk cache", async () => {
    const dir = tmp();
    const data = path.join(dir, "train.jsonl");
    writeFileSync(data, trainA.map((t) => JSON.stringify({ question: t, id: 1 })).join("\n"));
    const cacheDir = path.join(dir, "cache");
    const spec = `ngram:${data}?order=4`;

    const first = await createNgramProvider(spec, { cacheDir });
    expect(first.source).toBe("trained");
    expect(first.spec).toBe(spec);
    expect(first.model.order).toBe(4);
    const files = readdirSync(cacheDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^[0-9a-f]{32}\.bin$/);
    const cacheFile = path.join(cacheDir, files[0]);
    const mtime = statSync(cacheFile).mtimeMs;

    const second = await createNgramProvider(spec, { cacheDir });
    expect(second.source).toBe("cache");
    expect(second.id).toBe(first.id);
    expect(second.model.rollingLogprob(heldOutA)).toBe(first.model.rollingLogprob(heldOutA));
    expect(statSync(cacheFile).mtimeMs).toBe(mtime);

    // The cache file really is what gets loaded: plant a different model under the same key.
    const planted = NgramModel.train(codeLines(50), { order: 4 });
    writeFileSync(cacheFile, planted.serialize());
    const third = await createNgramProvider(spec, { cacheDir });
    expect(third.model.rollingLogprob(heldOutA)).toBe(planted.rollingLogprob(heldOutA));

    // A corrupt cache entry is retrained; other options or data get their own entry.
    writeFileSync(cacheFile, "garbage");
    const fourth = await createNgramProvider(spec, { cacheDir });
    expect(fourth.source).toBe("trained");
    expect(fourth.model.rollingLogprob(heldOutA)).toBe(first.model.rollingLogprob(heldOutA));
    const otherOrder = await createNgramProvider(`ngram:${data}?order=3`, { cacheDir });
    expect(otherOrder.id).not.toBe(first.id);
    writeFileSync(
      data,
      trainA
        .slice(1)
        .map((t) => JSON.stringify({ question: t }))
        .join("\n"),
    );
    const otherData = await createNgramProvider(spec, { cacheDir });
    expect(otherData.source).toBe("trained");
    expect(otherData.id).not.toBe(first.id);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith(".bin"))).toHaveLength(3);
  });

  it("reports a dataset without training text", async () => {
    const dir = tmp();
    const data = path.join(dir, "empty.jsonl");
    writeFileSync(data, '{"n":1}\n');
    await expect(createNgramProvider(`ngram:${data}`, { cacheDir: path.join(dir, "c") })).rejects.toThrow(
      /no training text/,
    );
  });
});
