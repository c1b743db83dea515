import { createHash } from "node:crypto";
import { PassThrough } from "node:stream";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../src/engine/latency.js";
import type { ComparisonRow } from "../../src/report/comparison_types.js";
import {
  lmEvalResults,
  operationalMetrics,
  pyFloat,
  samplesCsvHeader,
  samplesToLmEvalJsonl,
  sampleToCsvRow,
  sampleToLmEvalJsonl,
  spreadsheetSafe,
  writeSamples,
} from "../../src/report/export.js";
import { htmlReport } from "../../src/report/html.js";
import { markdownReport } from "../../src/report/markdown.js";
import { formatComparisonTable, formatRunTable } from "../../src/report/table.js";
import type { AggregateValue, RunRecord, SampleRecord, Store } from "../../src/store/types.js";

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

function agg(value: number, stderr: number, ciLow: number, ciHigh: number, n = 100): AggregateValue {
  return { value, stderr, ciLow, ciHigh, n, method: "mean", higherIsBetter: true };
}

/** Latencies 10, 20, ..., 1000 ms. */
function histogram(): Record<string, number> {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 100; i++) h.add(i * 10);
  return h.toJSON();
}

function makeRun(over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: "arc_easy-0123456789",
    task: "arc_easy",
    model: "ngram:data.txt",
    modelId: "ngram:order=5:data=abc",
    config: {
      taskFile: "tasks/arc_easy.yaml",
      taskConfig: { task: "arc_easy", output_type: "multiple_choice", metadata: { version: 1 } },
      dataHashes: { "data/arc.jsonl": "deadbeef" },
      numFewshot: 0,
      seed: 1234,
      metricKeys: ["acc,none", "acc_norm,none"],
    },
    configHash: "cafe",
    status: "completed",
    createdAt: "2024-05-01T12:00:00.000Z",
    updatedAt: "2024-05-01T12:05:00.000Z",
    versions: { assay: "0.1.0", node: "v20" },
    total: 100,
    stats: {
      requests: 400,
      cacheHits: 5,
      deduplicated: 0,
      retries: 2,
      errors: 1,
      inputTokens: 12345,
      outputTokens: 678,
      cost: 0.0123,
      latencyHistogram: histogram(),
      elapsedMs: 12_500,
    },
    aggregates: {
      "acc,none": agg(0.6, 0.049, 0.5028, 0.6972),
      "acc_norm,none": { ...agg(0.55, 0.05, 0.45, 0.65), method: "bootstrap" },
    },
    ...over,
  };
}

const mcSample: SampleRecord = {
  runId: "arc_easy-0123456789",
  docId: 7,
  doc: { question: "Q?", choices: ["A", "B"], weight: 0.5 },
  prompt: "Question: Q?\nAnswer:",
  target: 0,
  requests: [
    { kind: "loglikelihood", context: "Question: Q?\nAnswer:", continuation: " A" },
    { kind: "loglikelihood", context: "Question: Q?\nAnswer:", continuation: " B" },
  ],
  responses: [
    { kind: "loglikelihood", logprob: -1.5, isGreedy: true },
    { kind: "loglikelihood", logprob: -3, isGreedy: false },
  ],
  scores: { "acc,none": 1, "acc_norm,none": 0 },
  latencyMs: 12,
  inputTokens: 10,
  outputTokens: 0,
  cost: 0,
  cached: 0,
};

describe("operationalMetrics", () => {
  it("reads percentiles from the latency histogram", () => {
    const op = operationalMetrics(makeRun());
    const h = LatencyHistogram.from(histogram());
    // Upper bucket edges: within 1% above the exact order statistics 500, 950, 990.
    expect(op.latency_p50_ms).toBe(h.quantile(0.5));
    expect(op.latency_p50_ms!).toBeGreaterThanOrEqual(500);
    expect(op.latency_p50_ms!).toBeLessThan(505.1);
    expect(op.latency_p95_ms!).toBeGreaterThanOrEqual(950);
    expect(op.latency_p95_ms!).toBeLessThan(959.6);
    expect(op.latency_p99_ms!).toBeGreaterThanOrEqual(990);
    expect(op.latency_p99_ms!).toBeLessThan(1000);
    expect(op).toMatchObject({
      input_tokens: 12345,
      output_tokens: 678,
      cost_usd: 0.0123,
      errors: 1,
      retries: 2,
      cache_hits: 5,
      requests: 400,
      elapsed_s: 12.5,
    });
  });

  it("gives null latencies for a run without timed requests", () => {
    const run = makeRun();
    const op = operationalMetrics({ ...run, stats: { ...run.stats, latencyHistogram: {} } });
    expect(op.latency_p50_ms).toBeNull();
    expect(op.latency_p99_ms).toBeNull();
  });
});

describe("lmEvalResults", () => {
  it("follows lm-eval's results layout", () => {
    const out = lmEvalResults([makeRun()]);
    expect(out.results.arc_easy).toEqual({
      alias: "arc_easy",
      "acc,none": 0.6,
      "acc_stderr,none": 0.049,
      "acc_norm,none": 0.55,
      "acc_norm_stderr,none": 0.05,
    });
    expect(Object.keys(out.results.arc_easy)[0]).toBe("alias");
    expect(out.higher_is_better).toEqual({ arc_easy: { acc: true, acc_norm: true } });
    expect(out["n-samples"]).toEqual({ arc_easy: { original: 100, effective: 100 } });
    expect(out["n-shot"]).toEqual({ arc_easy: 0 });
    expect(out.versions).toEqual({ arc_easy: 1 });
    expect(out.configs.arc_easy).toMatchObject({
      task: "arc_easy",
      output_type: "multiple_choice",
      num_fewshot: 0,
    });
    expect(out.config).toMatchObject({ model: "ngram:data.txt", run_ids: ["arc_easy-0123456789"] });
    expect(out.date).toBe(Date.parse("2024-05-01T12:00:00.000Z") / 1000);
    const assayRun = (out.assay.runs as Record<string, any>).arc_easy;
    expect(assayRun.metrics["acc,none"]).toEqual({
      value: 0.6,
      stderr: 0.049,
      ci_low: 0.5028,
      ci_high: 0.6972,
      n: 100,
      method: "mean",
      higher_is_better: true,
    });
    expect(assayRun.operational.requests).toBe(400);
    // Survives JSON (no undefined/NaN surprises in required keys).
    const round = JSON.parse(JSON.stringify(out));
    expect(round.results.arc_easy["acc_stderr,none"]).toBe(0.049);
  });

  it("writes N/A for a missing stderr and keeps runs of one task apart", () => {
    const a = makeRun({ aggregates: { "acc,none": agg(0.5, Number.NaN, Number.NaN, Number.NaN, 1) } });
    const b = makeRun({ id: "other", model: "openai:gpt" });
    const out = lmEvalResults([a, b]);
    expect(Object.keys(out.results)).toEqual(["arc_easy@arc_easy-0123456789", "arc_easy@other"]);
    expect(out.results["arc_easy@arc_easy-0123456789"]["acc_stderr,none"]).toBe("N/A");
    expect(out.results["arc_easy@other"].alias).toBe("arc_easy");
    expect(out.config.model).toEqual(["ngram:data.txt", "openai:gpt"]);
  });
});

describe("lm-eval samples JSONL", () => {
  it("writes a multiple-choice sample as lm-eval does", () => {
    const line = sampleToLmEvalJsonl(mcSample, makeRun());
    expect(line).toMatchObject({
      doc_id: 7,
      doc: mcSample.doc,
      target: "0",
      arguments: {
        gen_args_0: { arg_0: "Question: Q?\nAnswer:", arg_1: " A" },
        gen_args_1: { arg_0: "Question: Q?\nAnswer:", arg_1: " B" },
      },
      resps: [[["-1.5", "True"]], [["-3.0", "False"]]],
      filtered_resps: [
        ["-1.5", "True"],
        ["-3.0", "False"],
      ],
      filter: "none",
      metrics: ["acc", "acc_norm"],
      acc: 1,
      acc_norm: 0,
    });
    expect(line.prompt_hash).toBe(sha256("Question: Q?\nAnswer:"));
    expect(line.target_hash).toBe(sha256("0"));
    // Python json.dumps(doc, indent=2, ensure_ascii=False).
    expect(line.doc_hash).toBe(
      sha256('{\n  "question": "Q?",\n  "choices": [\n    "A",\n    "B"\n  ],\n  "weight": 0.5\n}'),
    );
  });

  it("groups repeated generations into one instance and writes a line per filter", () => {
    const params = { until: ["\n"], max_gen_toks: 32, temperature: 0.7 };
    const s: SampleRecord = {
      ...mcSample,
      target: ["4", "four"],
      requests: [
        { kind: "generate_until", prompt: "2+2=", params, sampleIndex: 0 },
        { kind: "generate_until", prompt: "2+2=", params, sampleIndex: 1 },
      ],
      responses: [
        { kind: "generate_until", text: "4" },
        { kind: "generate_until", text: "five" },
      ],
      filtered: { "strict-match": ["4"], "flexible-extract": ["five"] },
      scores: { "exact_match,strict-match": 1, "exact_match,flexible-extract": 0 },
    };
    const run = makeRun({
      config: {
        ...makeRun().config,
        metricKeys: ["exact_match,strict-match", "exact_match,flexible-extract"],
      },
    });
    const lines = samplesToLmEvalJsonl(s, run);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      target: "['4', 'four']",
      arguments: { gen_args_0: { arg_0: "2+2=", arg_1: params } },
      resps: [["4", "five"]],
      filtered_resps: ["4"],
      filter: "strict-match",
      exact_match: 1,
    });
    expect(lines[1]).toMatchObject({ filter: "flexible-extract", filtered_resps: ["five"], exact_match: 0 });
    expect(sampleToLmEvalJsonl(s, run, "flexible-extract")).toEqual(lines[1]);
  });

  it("prints floats as Python does", () => {
    expect(pyFloat(-3)).toBe("-3.0");
    expect(pyFloat(0.1)).toBe("0.1");
    expect(pyFloat(1e-5)).toBe("1e-05");
    expect(pyFloat(0.0001)).toBe("0.0001");
    expect(pyFloat(1e16)).toBe("1e+16");
    expect(pyFloat(123456789012345680000)).toBe("1.2345678901234568e+20");
    expect(pyFloat(-2.5e-7)).toBe("-2.5e-07");
  });
});

describe("samples CSV", () => {
  const nasty: SampleRecord = {
    ...mcSample,
    prompt: 'Say "hi", then\nnewline',
    target: "a,b",
    requests: [
      { kind: "generate_until", prompt: "x", params: { until: [], max_gen_toks: 8, temperature: 0 } },
    ],
    responses: [{ kind: "generate_until", text: 'He said ""quoted""\r\nbye' }],
    scores: { "acc,none": 1, "acc_norm,none": 0.5 },
  };

  it("quotes commas, quotes and newlines per RFC 4180", () => {
    const run = makeRun();
    expect(samplesCsvHeader(run)).toBe('doc_id,prompt,target,response,"acc,none","acc_norm,none"\r\n');
    const row = sampleToCsvRow(nasty, run);
    expect(row).toBe('7,"Say ""hi"", then\nnewline","a,b","He said """"quoted""""\r\nbye",1,0.5\r\n');
    const parsed = parse(samplesCsvHeader(run) + row + sampleToCsvRow(mcSample, run), {
      relax_quotes: false,
    });
    expect(parsed).toEqual([
      ["doc_id", "prompt", "target", "response", "acc,none", "acc_norm,none"],
      ["7", 'Say "hi", then\nnewline', "a,b", 'He said ""quoted""\r\nbye', "1", "0.5"],
      ["7", "Question: Q?\nAnswer:", "0", "-1.5", "1", "0"],
    ]);
  });
});

describe("CSV injection", () => {
  it("defuses text cells that start like a formula, and leaves numbers alone", () => {
    const run = makeRun();
    const evil: SampleRecord = {
      ...mcSample,
      requests: [
        { kind: "generate_until", prompt: "x", params: { until: [], max_gen_toks: 8, temperature: 0 } },
      ],
      prompt: '=HYPERLINK("http://x")',
      target: "@SUM(A1)",
      responses: [{ kind: "generate_until", text: "-2+3" }],
    };
    const [, row] = parse(samplesCsvHeader(run) + sampleToCsvRow(evil, run), { relax_quotes: false });
    expect(row.slice(1, 4)).toEqual(['\'=HYPERLINK("http://x")', "'@SUM(A1)", "'-2+3"]);
    expect(spreadsheetSafe("-1.5")).toBe("-1.5");
    expect(spreadsheetSafe("+3e-4")).toBe("+3e-4");
    expect(spreadsheetSafe("-Infinity")).toBe("-Infinity");
    expect(spreadsheetSafe("\tx")).toBe("'\tx");
    expect(spreadsheetSafe("a=b")).toBe("a=b");
  });
});

describe("writeSamples", () => {
  it("streams a run's samples from the store", async () => {
    const store = {
      async *iterateSamples(runId: string) {
        expect(runId).toBe("arc_easy-0123456789");
        yield mcSample;
        yield { ...mcSample, docId: 8 };
      },
    } as unknown as Store;
    const collect = async (format: "csv" | "lm-eval-jsonl") => {
      const out = new PassThrough();
      const chunks: string[] = [];
      out.on("data", (c) => chunks.push(String(c)));
      expect(await writeSamples(store, makeRun(), format, out)).toBe(2);
      return chunks.join("");
    };
    const csv = parse(await collect("csv"));
    expect(csv.map((r: string[]) => r[0])).toEqual(["doc_id", "7", "8"]);
    const jsonl = (await collect("lm-eval-jsonl"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(jsonl.map((l) => l.doc_id)).toEqual([7, 8]);
  });
});

const comparisons: ComparisonRow[] = [
  {
    task: "arc_easy",
    metric: "acc,none",
    baseline: 0.55,
    candidate: 0.6,
    delta: 0.05,
    ciLow: 0.01,
    ciHigh: 0.09,
    pValue: 0.012,
    verdict: "better",
    test: "paired t",
  },
  {
    task: "arc_easy",
    metric: "acc_norm,none",
    baseline: 0.55,
    candidate: 0.54,
    delta: -0.01,
    ciLow: -0.05,
    ciHigh: 0.03,
    pValue: 0.4,
    verdict: "no significant difference",
    test: "paired t",
  },
];

/** The SVG element whose <title> starts with `title`. */
function svgByTitle(html: string, title: string): string {
  const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
  const svg = svgs.find((s) => /<title id="[^"]+">([^<]*)<\/title>/.exec(s)?.[1].startsWith(title));
  expect(svg, `svg titled ${title}`).toBeDefined();
  return svg!;
}

/** Maps a data value to the chart's x through two of its labelled axis ticks. */
function tickScale(svg: string): (v: number) => number {
  const ticks = [
    ...svg.matchAll(/<g class="tick" data-value="([^"]+)"><line class="grid" x1="([^"]+)"/g),
  ].map((m) => [Number(m[1]), Number(m[2])] as const);
  expect(ticks.length).toBeGreaterThanOrEqual(2);
  const [[v0, x0], [v1, x1]] = [ticks[0], ticks[ticks.length - 1]];
  return (v) => x0 + ((v - v0) / (v1 - v0)) * (x1 - x0);
}

function ciLines(svg: string): Array<{ x1: number; x2: number }> {
  return [...svg.matchAll(/<line class="ci" x1="([^"]+)" x2="([^"]+)"/g)].map((m) => ({
    x1: Number(m[1]),
    x2: Number(m[2]),
  }));
}

describe("htmlReport", () => {
  const evil = makeRun({
    id: "evil",
    task: "<script>alert(1)</script>",
    model: 'm"><img src=x onerror=alert(1)>',
  });
  const other = makeRun({
    id: "b",
    model: "openai:http://localhost:8000/v1:gpt",
    aggregates: { "acc,none": agg(0.4, 0.049, 0.3028, 0.4972) },
  });
  const html = htmlReport([makeRun(), other, evil], comparisons, { title: "Nightly <eval>" });

  it("is one self-contained file with escaped user strings", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<img");
    expect(html).toContain("m&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("<title>Nightly &lt;eval&gt;</title>");
    // Nothing is fetched: no src/href attributes, no CSS url(), no @import.
    const tags = html.match(/<[a-zA-Z][^>]*>/g) ?? [];
    expect(tags.length).toBeGreaterThan(50);
    expect(tags.filter((t) => /\s(src|href|xlink:href|srcset|action)\s*=/i.test(t))).toEqual([]);
    expect(html).not.toMatch(/url\(|@import/i);
  });

  it("draws 95% CI error bars where the axis puts the interval", () => {
    const svg = svgByTitle(html, "arc_easy: acc (higher");
    expect(svg).toContain('role="img"');
    const x = tickScale(svg);
    const lines = ciLines(svg);
    // Rows in run order: makeRun(), other.
    expect(lines).toHaveLength(2);
    expect(lines[0].x1).toBeCloseTo(x(0.5028), 1);
    expect(lines[0].x2).toBeCloseTo(x(0.6972), 1);
    expect(lines[1].x1).toBeCloseTo(x(0.3028), 1);
    expect(lines[1].x2).toBeCloseTo(x(0.4972), 1);
    // The bar runs from 0 to the value.
    const bar = /<rect class="bar" x="([^"]+)" y="[^"]+" width="([^"]+)"/.exec(svg)!;
    expect(Number(bar[1])).toBeCloseTo(x(0), 1);
    expect(Number(bar[1]) + Number(bar[2])).toBeCloseTo(x(0.6), 1);
  });

  it("draws a forest plot of the deltas with a zero line", () => {
    const svg = svgByTitle(html, "Δ acc,none");
    const x = tickScale(svg);
    const zero = /<line class="zero" x1="([^"]+)" x2="([^"]+)"/.exec(svg)!;
    expect(Number(zero[1])).toBeCloseTo(x(0), 1);
    const [ci] = ciLines(svg);
    expect(ci.x1).toBeCloseTo(x(0.01), 1);
    expect(ci.x2).toBeCloseTo(x(0.09), 1);
    expect(svg).toContain('class="row better"');
    const ns = svgByTitle(html, "Δ acc_norm,none");
    const xn = tickScale(ns);
    const [cin] = ciLines(ns);
    expect(cin.x1).toBeCloseTo(xn(-0.05), 1);
    expect(cin.x2).toBeCloseTo(xn(0.03), 1);
    expect(ns).toContain('class="row ns"');
  });

  it("has accessible tables and operational metrics", () => {
    expect(html).toContain('<th scope="col"');
    expect(html).toContain("<caption>");
    expect(html).toContain("Operational metrics");
    expect(html).toMatch(/<td class="num">12,345<\/td>/);
    expect(html).toMatch(/<title>[^<]*95% CI \[0\.5028, 0\.6972\][^<]*<\/title>/);
  });
});

describe("markdownReport", () => {
  it("has per-task metric tables, operational metrics and verdicts", () => {
    const md = markdownReport([makeRun(), makeRun({ id: "p", task: "a|b_c", model: "m*1" })], comparisons);
    const lines = md.split("\n");
    expect(lines).toContain("### arc\\_easy");
    expect(lines).toContain("| Model | Metric | Value | ± Stderr | 95% CI | n |");
    expect(lines).toContain("| ngram:data.txt | acc,none | 0.6000 | ± 0.0490 | [0.5028, 0.6972] | 100 |");
    expect(lines).toContain(
      "| ngram:data.txt | acc\\_norm,none | 0.5500 | ± 0.0500 | [0.4500, 0.6500] | 100 |",
    );
    // User text cannot break out of a cell or start markup.
    expect(lines).toContain("### a\\|b\\_c");
    expect(lines).toContain("| m\\*1 | acc,none | 0.6000 | ± 0.0490 | [0.5028, 0.6972] | 100 |");
    expect(lines).toContain(
      "| arc\\_easy | acc,none | 0.5500 | 0.6000 | +0.0500 | [+0.0100, +0.0900] | 0.012 | 🟢 better | paired t |",
    );
    expect(lines).toContain(
      "| arc\\_easy | acc\\_norm,none | 0.5500 | 0.5400 | -0.0100 | [-0.0500, +0.0300] | 0.400 | ⚪ no significant difference | paired t |",
    );
    expect(md).toContain("🟢 better: 1 · 🔴 worse: 0 · ⚪ no significant difference: 1");
    expect(md).toMatch(
      /\| ngram:data\.txt \| 400 \| 5 \| 1 \| 2 \| 50\d ms \| 95\d ms \| 99\d ms \| 12,345 \| 678 \| \$0\.0123 \| 12\.5 s \|/,
    );
    // Comparisons come before the per-task sections.
    expect(md.indexOf("### Comparison")).toBeLessThan(md.indexOf("### arc\\_easy"));
  });
});

describe("terminal tables", () => {
  it("aligns the run table and adds an operational line per run", () => {
    const out = formatRunTable([
      makeRun(),
      makeRun({ id: "x", model: "a-much-longer-model:spec", task: "t\x1b[31m" }),
    ]);
    const lines = out.split("\n");
    const header = lines[0];
    const row = lines.find((l) => l.includes("acc_norm,none"))!;
    // Right-aligned numeric column: the value ends where the header ends.
    expect(row.indexOf("0.5500") + "0.5500".length).toBe(header.indexOf("Value") + "Value".length);
    expect(row).toContain("± 0.0500");
    expect(row).toContain("[0.4500, 0.6500]");
    expect(out).not.toContain("\x1b");
    expect(out).toContain("t\\x1b[31m");
    expect(out).toMatch(
      /arc_easy · ngram:data\.txt: 400 requests \(5 cached\) · 1 errors, 2 retries · latency p50 50\d ms/,
    );
  });

  it("formats comparisons with verdicts", () => {
    const out = formatComparisonTable(comparisons);
    expect(out).toContain("▲ better");
    expect(out).toContain("[+0.0100, +0.0900]");
    expect(out).toContain("1 better, 0 worse, 1 no significant difference");
    expect(formatComparisonTable([])).toBe("No comparisons.\n");
  });
});

describe("lmEvalResults n-samples", () => {
  it("reports the dataset size before --limit as original and the run's size as effective", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const path = await import("node:path");
    const { runTask } = await import("../../src/engine/runner.js");
    const { createNgramProvider } = await import("../../src/models/ngram/spec.js");
    const { openStore } = await import("../../src/store/sqlite.js");
    const { loadTaskConfig } = await import("../../src/tasks/config.js");
    const { Task } = await import("../../src/tasks/task.js");
    const dir = mkdtempSync(path.join(tmpdir(), "assay-nsamples-"));
    const docs = Array.from({ length: 10 }, (_, i) => JSON.stringify({ text: `the cat sat ${i}` }));
    writeFileSync(path.join(dir, "docs.jsonl"), `${docs.join("\n")}\n`);
    writeFileSync(path.join(dir, "corpus.txt"), "the cat sat on the mat\n".repeat(20));
    const yaml = path.join(dir, "ppl.yaml");
    writeFileSync(
      yaml,
      "task: ppl\ndataset_path: docs.jsonl\noutput_type: loglikelihood_rolling\ndoc_to_text: text\ndoc_to_target: text\n",
    );
    const store = openStore(path.join(dir, "a.db"));
    const provider = await createNgramProvider(`ngram:${path.join(dir, "corpus.txt")}`, {
      cacheDir: path.join(dir, "cache"),
    });
    const task = () => new Task(loadTaskConfig(yaml));
    const limited = await runTask({ task: task(), provider, store, limit: 3 });
    const full = await runTask({ task: task(), provider, store });
    await store.close();
    expect(lmEvalResults([limited])["n-samples"]).toEqual({ ppl: { original: 10, effective: 3 } });
    expect(lmEvalResults([full])["n-samples"]).toEqual({ ppl: { original: 10, effective: 10 } });
  });
});
