import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadTaskConfig } from "../../src/tasks/config.js";
import { compileFilters } from "../../src/tasks/filters.js";
import { buildRequests, scoreSample } from "../../src/tasks/output_types.js";
import { Task } from "../../src/tasks/task.js";
import { UserError } from "../../src/util/errors.js";

function taskDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "assay-task-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

const docs = [
  { q: "2+2", a: "4", choices: ["3", "4"], label: 1 },
  { q: "1+1", a: "2", choices: ["2", "5"], label: 0 },
  { q: "3+3", a: "6", choices: ["6", "7"], label: 0 },
  { q: "5+1", a: "6", choices: ["9", "6"], label: 1 },
];
const jsonl = docs.map((d) => JSON.stringify(d)).join("\n");

describe("lm-eval prompt layout", () => {
  it("builds description + shots + query with the default delimiters", async () => {
    const dir = taskDir({
      "data.jsonl": jsonl,
      "t.yaml": `task: t\ndataset_path: data.jsonl\ndescription: "Arithmetic.\\n\\n"\nnum_fewshot: 2\nfewshot_config: {sampler: first_n}\ndoc_to_text: "Q: {{q}}\\nA:"\ndoc_to_target: "{{a}}"\n`,
    });
    const task = new Task(loadTaskConfig(path.join(dir, "t.yaml")));
    const fewshot = await task.fewshotState();
    // Same split for shots and eval (fewshot_split == test_split == None): n+1 drawn, the doc itself removed.
    expect(task.prompt(docs[2], fewshot)).toBe("Arithmetic.\n\nQ: 2+2\nA: 4\n\nQ: 1+1\nA: 2\n\nQ: 3+3\nA:");
    expect(task.prompt(docs[0], fewshot)).toBe("Arithmetic.\n\nQ: 1+1\nA: 2\n\nQ: 3+3\nA: 6\n\nQ: 2+2\nA:");
  });

  it("samples shots with Python's random.Random(1234).sample, advancing per doc", async () => {
    const dir = taskDir({
      "data.jsonl": jsonl,
      "t.yaml":
        "task: t\ndataset_path: data.jsonl\nnum_fewshot: 1\ndoc_to_text: '{{q}}='\ndoc_to_target: a\ntarget_delimiter: ''\nfewshot_delimiter: ';'\n",
    });
    const task = new Task(loadTaskConfig(path.join(dir, "t.yaml")));
    const fewshot = await task.fewshotState();
    // CPython: r = random.Random(1234); r.sample(docs, 2) → indices [3, 0]; then [0, 3].
    expect(task.prompt(docs[1], fewshot)).toBe("5+1=6;1+1=");
    expect(task.prompt(docs[0], fewshot)).toBe("5+1=6;2+2=");
  });

  it("resolves doc_to_* as field names, templates, ints and literal lists", () => {
    const dir = taskDir({
      "data.jsonl": jsonl,
      "t.yaml":
        "task: t\ndataset_path: data.jsonl\noutput_type: multiple_choice\ndoc_to_text: q\ndoc_to_choice: '{{choices}}'\ndoc_to_target: '{{label}}'\n",
    });
    const task = new Task(loadTaskConfig(path.join(dir, "t.yaml")));
    expect(task.docToText(docs[0])).toBe("2+2");
    expect(task.docToChoice(docs[0])).toEqual(["3", "4"]);
    expect(task.docToTarget(docs[0])).toBe(1);
    expect(task.targetText(docs[0])).toBe("4");
  });
});

describe("output types", () => {
  const mcTask = (metrics: string) => {
    const dir = taskDir({
      "data.jsonl": jsonl,
      "t.yaml": `task: t\ndataset_path: data.jsonl\noutput_type: multiple_choice\ndoc_to_text: q\ndoc_to_choice: choices\ndoc_to_target: label\nmetric_list: [${metrics}]\n`,
    });
    return new Task(loadTaskConfig(path.join(dir, "t.yaml")));
  };

  it("multiple_choice: acc, acc_norm, acc_bytes, acc_mutual_info and brier_score by hand", () => {
    const task = mcTask(
      "{metric: acc}, {metric: acc_norm}, {metric: acc_bytes}, {metric: acc_mutual_info}, {metric: brier_score}",
    );
    const doc = { q: "x", choices: ["aa", "bbbb", "éé"], label: 2 };
    const metrics = task.config.metric_list!;
    const reqs = buildRequests(task, doc, "ctx", metrics);
    expect(reqs).toHaveLength(6);
    expect(reqs[1]).toEqual({ kind: "loglikelihood", context: "ctx", continuation: " bbbb" });
    expect(reqs[3]).toEqual({ kind: "loglikelihood", context: "", continuation: " aa" });
    const ll = (logprob: number) => ({ kind: "loglikelihood" as const, logprob, isGreedy: false });
    // Conditional lls -1, -2.2, -1.5; unconditional -0.5, -0.5, -3.
    const resps = [ll(-1), ll(-2.2), ll(-1.5), ll(-0.5), ll(-0.5), ll(-3)];
    const { scores } = scoreSample(task, doc, resps, metrics, []);
    expect(scores["acc,none"]).toBe(0); // argmax → "aa"
    expect(scores["acc_norm,none"]).toBe(0); // per char -0.5, -0.55, -0.75 → "aa"
    expect(scores["acc_bytes,none"]).toBe(1); // per byte -0.5, -0.55, -0.375 → "éé"
    expect(scores["acc_mutual_info,none"]).toBe(1); // -0.5, -1.7, 1.5 → "éé"
    const p = [Math.exp(-1), Math.exp(-2.2), Math.exp(-1.5)];
    const z = p[0] + p[1] + p[2];
    const brier = (p[0] / z) ** 2 + (p[1] / z) ** 2 + (p[2] / z - 1) ** 2;
    expect(scores["brier_score,none"]).toBeCloseTo(brier, 12);
  });

  it("generate_until: filters then exact_match with its options", () => {
    const dir = taskDir({
      "data.jsonl": jsonl,
      "t.yaml": [
        "task: t",
        "dataset_path: data.jsonl",
        "output_type: generate_until",
        "doc_to_text: q",
        "doc_to_target: a",
        "filter_list:",
        "  - name: strict",
        "    filter: [{function: take_first}]",
        "  - name: num",
        "    filter: [{function: regex, regex_pattern: '(\\d+)', group_select: -1}, {function: take_first}]",
        "metric_list: [{metric: exact_match, ignore_case: true, ignore_punctuation: true}]",
      ].join("\n"),
    });
    const task = new Task(loadTaskConfig(path.join(dir, "t.yaml")));
    const filters = compileFilters(task.config.filter_list, { file: task.file });
    const { scores, filtered } = scoreSample(
      task,
      { q: "2+2", a: "4" },
      [{ kind: "generate_until", text: "3 then 4." }],
      task.config.metric_list!,
      filters,
    );
    expect(filtered).toEqual({ strict: ["3 then 4."], num: ["4"] });
    expect(scores).toEqual({ "exact_match,strict": 0, "exact_match,num": 1 });
  });

  it("loglikelihood and loglikelihood_rolling produce the statistics their aggregates need", () => {
    const dir = taskDir({
      "data.jsonl": jsonl,
      "ll.yaml":
        "task: ll\ndataset_path: data.jsonl\noutput_type: loglikelihood\ndoc_to_text: q\ndoc_to_target: a\n",
      "r.yaml":
        "task: r\ndataset_path: data.jsonl\noutput_type: loglikelihood_rolling\ndoc_to_text: ''\ndoc_to_target: q\n",
    });
    const ll = new Task(loadTaskConfig(path.join(dir, "ll.yaml")));
    const m = [{ metric: "perplexity" }, { metric: "acc" }];
    expect(buildRequests(ll, docs[0], "P", m)).toEqual([
      { kind: "loglikelihood", context: "P", continuation: " 4" },
    ]);
    expect(
      scoreSample(ll, docs[0], [{ kind: "loglikelihood", logprob: -2, isGreedy: true }], m, []).scores,
    ).toEqual({
      "perplexity,none": [-2, 1],
      "acc,none": 1,
    });
    const r = new Task(loadTaskConfig(path.join(dir, "r.yaml")));
    const rm = [{ metric: "word_perplexity" }, { metric: "byte_perplexity" }, { metric: "bits_per_byte" }];
    const doc = { q: " héllo  world" };
    expect(scoreSample(r, doc, [{ kind: "loglikelihood_rolling", logprob: -7 }], rm, []).scores).toEqual({
      "word_perplexity,none": [-7, 3], // re.split(r"\s+", " héllo  world") → ['', 'héllo', 'world']
      "byte_perplexity,none": [-7, 14],
      "bits_per_byte,none": [-7, 14],
    });
  });
});

describe("bad task files fail clearly", () => {
  const load = (yaml: string, data = jsonl) => {
    const dir = taskDir({ "data.jsonl": data, "t.yaml": yaml });
    return () => new Task(loadTaskConfig(path.join(dir, "t.yaml")));
  };
  const message = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      return (e as UserError).format();
    }
    throw new Error("expected a UserError");
  };

  it("malformed YAML names file and line", () => {
    const m = message(load("task: t\ndoc_to_text: [unclosed\nfoo: bar\n"));
    expect(m).toMatch(/t\.yaml:\d+: malformed YAML/);
  });

  it("unknown keys name the key, its line and the nearest valid key", () => {
    const m = message(load("task: t\ndataset_path: data.jsonl\ndoc_to_txt: q\n"));
    expect(m).toContain("t.yaml:3: doc_to_txt: unknown key 'doc_to_txt'");
    expect(m).toContain("did you mean 'doc_to_text'");
  });

  it("Python hooks are named", () => {
    const m = message(
      load("task: t\ndataset_path: data.jsonl\nprocess_docs: !function utils.process_docs\n"),
    );
    expect(m).toContain("process_docs: needs the Python hook 'utils.process_docs'");
  });

  it("a template referencing a missing field names the field and the doc's fields", () => {
    const task = load("task: t\ndataset_path: data.jsonl\ndoc_to_text: '{{question}}'\ndoc_to_target: a\n")();
    const m = message(() => task.docToText(docs[0]));
    expect(m).toContain("doc_to_text: template references missing field 'question'");
    expect(m).toContain("q, a, choices, label");
  });
});
