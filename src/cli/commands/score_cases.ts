/**
 * `assay score --cases`: golden metric cases (one `{id, metric, params, predictions, references}` per
 * line, the format of ../shared/golden/metrics), each scored with the metric's full result; prints or
 * writes one `{"id", "value"}` line per case.
 */
import { createWriteStream } from "node:fs";
import { readJsonl } from "../../data/jsonl.js";
import { type BleuScore, corpusBleu, sentenceBleu } from "../../metrics/bleu.js";
import { corpusChrf, sentenceChrf } from "../../metrics/chrf.js";
import { type NltkSmoothing, nltkCorpusBleu, nltkTokenize } from "../../metrics/nltk_bleu.js";
import {
  bleuOptions,
  chrfOptions,
  OptionReader,
  type Options,
  ROUGE_METRICS,
  rougeUseStemmer,
  terOptions,
} from "../../metrics/registry_text.js";
import { type RougeType, rougeScoreMulti } from "../../metrics/rouge.js";
import { squadCorpus, squadExactMatchMulti, squadF1Multi } from "../../metrics/squad.js";
import { corpusTer, sentenceTer } from "../../metrics/ter.js";
import { didYouMean, UserError, type Where } from "../../util/errors.js";
import { isObject, isStringList, writeText } from "./score_common.js";

const CASE_METRICS = ["bleu", "chrf", "ter", "rouge", "nltk_bleu", "squad_em", "squad_f1"];
const NLTK_SMOOTHING: NltkSmoothing[] = [
  "method0",
  "method1",
  "method2",
  "method3",
  "method4",
  "method5",
  "method6",
  "method7",
];

/** The value a golden case's `expected` holds, from the metric's full result. */
function caseValue(metric: string, params: Options, hyps: string[], refs: string[][], where: Where): unknown {
  const corpus = params.level === "corpus";
  const { level: _level, ...p } = params;
  switch (metric) {
    case "bleu": {
      const o = bleuOptions(metric, p, where);
      const r: BleuScore = corpus ? corpusBleu(hyps, refs, o) : sentenceBleu(hyps[0], refs[0], o);
      return r;
    }
    case "chrf": {
      const o = chrfOptions(metric, p, where);
      return (corpus ? corpusChrf(hyps, refs, o) : sentenceChrf(hyps[0], refs[0], o)).score;
    }
    case "ter": {
      const o = terOptions(metric, p, where);
      return corpus ? corpusTer(hyps, refs, o) : sentenceTer(hyps[0], refs[0], o);
    }
    case "rouge": {
      const r = new OptionReader(metric, p, where, ["rouge_types", "use_stemmer", "split_summaries"]);
      const types = r.strings("rouge_types");
      if (!types?.length || !types.every((t) => (ROUGE_METRICS as readonly string[]).includes(t)))
        r.fail("rouge_types", `a non-empty list of ${ROUGE_METRICS.join(", ")}`);
      if (r.bool("split_summaries")) r.fail("split_summaries", "false (rougeLsum splits on newlines only)");
      if (corpus)
        throw new UserError("rouge has no corpus level", { ...where, expected: 'level "sentence"' });
      const { rouge_types: _t, split_summaries: _s, ...rest } = p;
      return rougeScoreMulti(refs[0], hyps[0], types as RougeType[], {
        useStemmer: rougeUseStemmer(metric, rest, where),
      });
    }
    case "nltk_bleu": {
      const r = new OptionReader(metric, p, where, [
        "smoothing",
        "weights",
        "auto_reweigh",
        "epsilon",
        "alpha",
        "k",
        "preprocess",
      ]);
      if ((p.preprocess ?? "lower_split") !== "lower_split") r.fail("preprocess", '"lower_split"');
      const weights = p.weights;
      if (
        weights !== undefined &&
        (!Array.isArray(weights) || weights.length === 0 || !weights.every((w) => typeof w === "number"))
      )
        r.fail("weights", "a non-empty list of numbers");
      const positive = (x: number) => x > 0;
      return nltkCorpusBleu(
        refs.map((rs) => rs.map(nltkTokenize)),
        hyps.map(nltkTokenize),
        {
          weights: weights as number[] | undefined,
          smoothing: r.choice("smoothing", NLTK_SMOOTHING),
          autoReweigh: r.bool("auto_reweigh"),
          epsilon: r.num("epsilon", positive, "a number > 0"),
          alpha: r.num("alpha", positive, "a number > 0"),
          k: r.num("k", positive, "a number > 0"),
        },
      );
    }
    default: {
      new OptionReader(metric, p, where, []);
      if (corpus) {
        const s = squadCorpus(hyps, refs);
        return metric === "squad_em" ? s.exactMatch : s.f1;
      }
      return (metric === "squad_em" ? squadExactMatchMulti : squadF1Multi)(hyps[0], refs[0]);
    }
  }
}

export async function scoreCases(
  file: string,
  opts: { metric: string[]; params?: string; out?: string },
): Promise<void> {
  if (opts.metric.length > 0 || opts.params !== undefined)
    throw new UserError("--cases takes each case's metric and params from the file", {
      field: opts.metric.length > 0 ? "--metric" : "--params",
      expected: "no --metric or --params with --cases",
    });
  const out = opts.out ? createWriteStream(opts.out) : undefined;
  let n = 0;
  try {
    for await (const rec of readJsonl(file)) {
      const where = { file, line: rec.line };
      const c = rec.value;
      if (typeof c.id !== "string" && typeof c.id !== "number")
        throw new UserError(c.id === undefined ? "missing field" : "not a string", {
          ...where,
          field: "id",
          expected: "a case id",
        });
      const metric = c.metric;
      if (typeof metric !== "string" || !CASE_METRICS.includes(metric))
        throw new UserError(
          metric === undefined ? "missing field" : `unknown metric ${JSON.stringify(metric)}`,
          {
            ...where,
            field: "metric",
            expected: `one of: ${CASE_METRICS.join(", ")}`,
            hint: typeof metric === "string" ? didYouMean(metric, CASE_METRICS) : undefined,
          },
        );
      const params = c.params ?? {};
      if (!isObject(params))
        throw new UserError("not an object", {
          ...where,
          field: "params",
          expected: "an object of metric options",
        });
      const hyps = c.predictions;
      const refs = c.references;
      if (!isStringList(hyps) || hyps.length === 0)
        throw new UserError(hyps === undefined ? "missing field" : "not a list of strings", {
          ...where,
          field: "predictions",
          expected: "a non-empty list of strings",
        });
      if (
        !Array.isArray(refs) ||
        refs.length !== hyps.length ||
        !refs.every((r) => isStringList(r) && r.length > 0)
      )
        throw new UserError(refs === undefined ? "missing field" : "not one reference list per prediction", {
          ...where,
          field: "references",
          expected: `${hyps.length} non-empty lists of strings`,
        });
      const level = params.level ?? (hyps.length === 1 ? "sentence" : "corpus");
      if ((level !== "sentence" && level !== "corpus") || (level === "sentence" && hyps.length !== 1))
        throw new UserError(`invalid level ${JSON.stringify(level)} for ${hyps.length} predictions`, {
          ...where,
          field: "params.level",
          expected: '"sentence" (one prediction) or "corpus"',
        });
      const caseWhere = { ...where, field: "params" };
      let value: unknown;
      try {
        value = caseValue(metric, { ...params, level }, hyps, refs as string[][], caseWhere);
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new UserError(`case ${c.id}: ${(e as Error).message}`, { ...where, field: metric });
      }
      const line = `${JSON.stringify({ id: c.id, value })}\n`;
      if (out) await writeText(out, line);
      else process.stdout.write(line);
      n++;
    }
  } finally {
    if (out) await new Promise<void>((resolve) => out.end(resolve));
  }
  if (n === 0) throw new UserError("no cases", { file, expected: "JSONL golden metric cases" });
}
