/**
 * Text-generation metrics for the registry: sacreBLEU BLEU/chrF/TER as corpus metrics, ROUGE, SQuAD,
 * edit similarity and exact match as means. Options come from a task's `metric_list` entry (or
 * `assay score --params`) in sacreBLEU / rouge-score spelling and are checked when the scorer is built.
 */
import { pythonRegex } from "../tasks/jinja.js";
import { didYouMean, UserError, type Where } from "../util/errors.js";
import type { BertScore } from "./bertscore.js";
import {
  type BleuOptions,
  type BleuSmoothMethod,
  bleuFromStats,
  bleuSegmentStats,
  bleuSignature,
} from "./bleu.js";
import { type ChrfOptions, chrfFromStats, chrfSegmentStats, chrfSignature } from "./chrf.js";
import { editSimilarity } from "./edit_distance.js";
import { type ExactMatchOptions, exactMatchScorer } from "./exact_match.js";
// Type-only: the registry imports this module, so a value import back would be a cycle.
import type { EmbeddingMetricSpec, MetricDef, SampleValue } from "./registry.js";
import { type RougeType, rougeScoreMulti } from "./rouge.js";
import { squadExactMatchMulti, squadF1Multi } from "./squad.js";
import { type TerOptions, terFromStats, terSegmentStats, terSignature } from "./ter.js";
import type { BleuTokenizerName } from "./tokenizers.js";

export type Options = Record<string, unknown>;
type Scorer = (prediction: string, references: string[]) => SampleValue;

/** Reads and type-checks the options of one metric; every error names the metric and the option. */
export class OptionReader {
  constructor(
    readonly metric: string,
    private readonly options: Options,
    private readonly where: Where,
    known: readonly string[],
  ) {
    for (const key of Object.keys(options))
      if (!known.includes(key))
        throw new UserError(`metric '${metric}': unknown option '${key}'`, {
          ...where,
          expected: known.length ? `one of: ${known.join(", ")}` : "no options",
          hint: didYouMean(key, known),
        });
  }

  fail(name: string, expected: string): never {
    const v = JSON.stringify(this.options[name]) ?? String(this.options[name]);
    throw new UserError(`metric '${this.metric}': invalid ${name} ${v.slice(0, 60)}`, {
      ...this.where,
      expected,
    });
  }

  /** The raw value; null counts as unset (the metric's default). */
  private raw(name: string): unknown {
    const v = this.options[name];
    return v === null ? undefined : v;
  }

  bool(name: string): boolean | undefined {
    const v = this.raw(name);
    if (v !== undefined && typeof v !== "boolean") this.fail(name, "true or false");
    return v as boolean | undefined;
  }

  choice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const v = this.raw(name);
    if (v !== undefined && !choices.includes(v as T)) this.fail(name, choices.join(" | "));
    return v as T | undefined;
  }

  int(name: string, min: number): number | undefined {
    const v = this.raw(name);
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < min))
      this.fail(name, `an integer ≥ ${min}`);
    return v as number | undefined;
  }

  num(name: string, check: (x: number) => boolean, expected: string): number | undefined {
    const v = this.raw(name);
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || !check(v)))
      this.fail(name, expected);
    return v as number | undefined;
  }

  string(name: string, expected: string): string | undefined {
    const v = this.raw(name);
    if (v !== undefined && (typeof v !== "string" || v === "")) this.fail(name, expected);
    return v as string | undefined;
  }

  /** A list of exactly `length` finite numbers. */
  numbers(name: string, length: number, expected: string): number[] | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (
      !Array.isArray(v) ||
      v.length !== length ||
      !v.every((x) => typeof x === "number" && Number.isFinite(x))
    )
      this.fail(name, expected);
    return v as number[];
  }

  strings(name: string): string[] | undefined {
    const v = this.raw(name);
    if (v === undefined) return undefined;
    if (typeof v === "string") return [v];
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) this.fail(name, "a list of strings");
    return v as string[];
  }
}

// --- option parsing, shared by runs, `assay score` and golden cases ---------------------------------

const BLEU_OPTIONS = [
  "tokenize",
  "smooth_method",
  "smooth_value",
  "lowercase",
  "effective_order",
  "max_ngram_order",
];
const BLEU_TOKENIZERS: BleuTokenizerName[] = ["13a", "intl", "char", "none"];
const SMOOTH_METHODS: BleuSmoothMethod[] = ["exp", "floor", "add-k", "none"];

export function bleuOptions(
  metric: string,
  options: Options,
  where: Where,
  extra: string[] = [],
): BleuOptions {
  const r = new OptionReader(metric, options, where, [...BLEU_OPTIONS, ...extra]);
  const o: BleuOptions = {
    tokenize: r.choice("tokenize", BLEU_TOKENIZERS),
    smoothMethod: r.choice("smooth_method", SMOOTH_METHODS),
    smoothValue: r.num("smooth_value", (x) => x >= 0, "a number ≥ 0 or null"),
    lowercase: r.bool("lowercase"),
    effectiveOrder: r.bool("effective_order"),
    maxNgramOrder: r.int("max_ngram_order", 1),
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as BleuOptions;
}

const CHRF_OPTIONS = ["char_order", "word_order", "beta", "lowercase", "whitespace", "eps_smoothing"];

export function chrfOptions(
  metric: string,
  options: Options,
  where: Where,
  extra: string[] = [],
): ChrfOptions {
  const r = new OptionReader(metric, options, where, [...CHRF_OPTIONS, ...extra]);
  const o: ChrfOptions = {
    charOrder: r.int("char_order", 0),
    wordOrder: r.int("word_order", 0),
    beta: r.num("beta", (x) => x > 0, "a number > 0"),
    lowercase: r.bool("lowercase"),
    whitespace: r.bool("whitespace"),
    epsSmoothing: r.bool("eps_smoothing"),
  };
  if ((o.charOrder ?? 6) + (o.wordOrder ?? 0) === 0) r.fail("char_order", "char_order + word_order > 0");
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ChrfOptions;
}

const TER_OPTIONS = ["normalized", "no_punct", "asian_support", "case_sensitive"];

export function terOptions(metric: string, options: Options, where: Where, extra: string[] = []): TerOptions {
  const r = new OptionReader(metric, options, where, [...TER_OPTIONS, ...extra]);
  const o: TerOptions = {
    normalized: r.bool("normalized"),
    noPunct: r.bool("no_punct"),
    asianSupport: r.bool("asian_support"),
    caseSensitive: r.bool("case_sensitive"),
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as TerOptions;
}

export function rougeUseStemmer(
  metric: string,
  options: Options,
  where: Where,
  extra: string[] = [],
): boolean {
  return new OptionReader(metric, options, where, ["use_stemmer", ...extra]).bool("use_stemmer") ?? false;
}

const EXACT_MATCH_OPTIONS = ["ignore_case", "ignore_punctuation", "ignore_numbers", "regexes_to_ignore"];

function exactMatchOptions(options: Options, where: Where): ExactMatchOptions {
  const r = new OptionReader("exact_match", options, where, EXACT_MATCH_OPTIONS);
  const o: ExactMatchOptions = {
    ignore_case: r.bool("ignore_case"),
    ignore_punctuation: r.bool("ignore_punctuation"),
    ignore_numbers: r.bool("ignore_numbers"),
    regexes_to_ignore: r.strings("regexes_to_ignore"),
  };
  for (const re of o.regexes_to_ignore ?? [])
    try {
      pythonRegex(re, "g");
    } catch (e) {
      r.fail("regexes_to_ignore", `valid regular expressions (${(e as Error).message})`);
    }
  return o;
}

// --- corpus statistics ------------------------------------------------------------------------------

/*
 * A corpus metric's combine sees only summed vectors (the engine and gates/compare.ts know no
 * options), so options that change the corpus formula ride along at the end of every sample's
 * vector: `[...stats, 1, ...params]`. Summed, the 1 counts the samples and each param sums to
 * count × param, which divides back exactly (small integers) or to 12 significant digits (floats).
 */
function withParams(stats: number[], params: readonly number[]): number[] {
  stats.push(1, ...params);
  return stats;
}

function splitParams(sums: readonly number[], nParams: number): { stats: number[]; params: number[] } {
  const at = sums.length - nParams - 1;
  const count = sums[at];
  return {
    stats: sums.slice(0, at),
    params: sums.slice(at + 1).map((s) => Number((s / count).toPrecision(12))),
  };
}

function bleuParams(o: BleuOptions): number[] {
  const v = o.smoothValue;
  return [
    SMOOTH_METHODS.indexOf(o.smoothMethod ?? "exp"),
    v === undefined || v === null ? 0 : 1,
    v ?? 0,
    o.effectiveOrder ? 1 : 0,
  ];
}

function bleuCombine(sums: readonly number[]): BleuOptions & { stats: number[] } {
  const { stats, params } = splitParams(sums, 4);
  const [method, hasValue, value, eff] = params;
  return {
    stats,
    smoothMethod: SMOOTH_METHODS[method],
    smoothValue: hasValue ? value : null,
    effectiveOrder: eff === 1,
    maxNgramOrder: (stats.length - 2) / 2,
  };
}

const chrfParams = (o: ChrfOptions): number[] => [
  o.charOrder ?? 6,
  o.wordOrder ?? 0,
  o.beta ?? 2,
  o.epsSmoothing ? 1 : 0,
];

function chrfCombine(sums: readonly number[]): number {
  const { stats, params } = splitParams(sums, 4);
  const [charOrder, wordOrder, beta, eps] = params;
  return chrfFromStats(stats, { charOrder, wordOrder, beta, epsSmoothing: eps === 1 }).score;
}

/** Fails clearly on a sample without references instead of deep inside a metric. */
function needRefs(metric: string, references: string[]): void {
  if (references.length === 0)
    throw new UserError(`metric '${metric}': a sample has no reference`, {
      field: "doc_to_target",
      expected: "a reference string or a non-empty list",
    });
}

const gen: MetricDef["outputTypes"] = ["generate_until"];
const DEFAULT_WHERE: Where = { field: "metric_list" };

/** The ROUGE metrics a task (or `assay score --metric rouge`) can name. */
export const ROUGE_METRICS = ["rouge1", "rouge2", "rougeL", "rougeLsum"] as const;

/** Everything in this file, registered by registry.ts. */
export const TEXT_METRICS: MetricDef[] = [
  {
    name: "bleu",
    higherIsBetter: true,
    aggregation: "corpus",
    outputTypes: gen,
    options: BLEU_OPTIONS,
    // sacreBLEU corpus BLEU (0–100) from summed [sys_len, ref_len, counts…, totals…].
    combine: (sums) => {
      const { stats, ...o } = bleuCombine(sums);
      return bleuFromStats(stats, o).score;
    },
    generation: (options, where = DEFAULT_WHERE): Scorer => {
      const o = bleuOptions("bleu", options, where);
      const params = bleuParams(o);
      return (p, refs) => {
        needRefs("bleu", refs);
        return withParams(bleuSegmentStats(p, refs, o), params);
      };
    },
    signature: (options, nrefs, where = DEFAULT_WHERE) =>
      bleuSignature(bleuOptions("bleu", options, where), nrefs),
  },
  {
    name: "chrf",
    higherIsBetter: true,
    aggregation: "corpus",
    outputTypes: gen,
    options: CHRF_OPTIONS,
    combine: chrfCombine,
    generation: (options, where = DEFAULT_WHERE): Scorer => {
      const o = chrfOptions("chrf", options, where);
      const params = chrfParams(o);
      return (p, refs) => {
        needRefs("chrf", refs);
        return withParams(chrfSegmentStats(p, refs, o), params);
      };
    },
    signature: (options, nrefs, where = DEFAULT_WHERE) =>
      chrfSignature(chrfOptions("chrf", options, where), nrefs),
  },
  {
    name: "ter",
    higherIsBetter: false,
    aggregation: "corpus",
    outputTypes: gen,
    options: TER_OPTIONS,
    // Summed [edits, mean reference length]; no option changes the corpus formula.
    combine: (sums) => terFromStats(sums).score,
    generation: (options, where = DEFAULT_WHERE): Scorer => {
      const o = terOptions("ter", options, where);
      return (p, refs) => {
        needRefs("ter", refs);
        return terSegmentStats(p, refs, o);
      };
    },
    signature: (options, nrefs, where = DEFAULT_WHERE) =>
      terSignature(terOptions("ter", options, where), nrefs),
  },
  {
    name: "bleu_sentence",
    higherIsBetter: true,
    aggregation: "mean",
    outputTypes: gen,
    options: BLEU_OPTIONS,
    // sacrebleu.sentence_bleu: effective order on unless set.
    generation: (options, where = DEFAULT_WHERE): Scorer => {
      const o = { effectiveOrder: true, ...bleuOptions("bleu_sentence", options, where) };
      return (p, refs) => {
        needRefs("bleu_sentence", refs);
        return bleuFromStats(bleuSegmentStats(p, refs, o), o).score;
      };
    },
    signature: (options, nrefs, where = DEFAULT_WHERE) =>
      bleuSignature({ effectiveOrder: true, ...bleuOptions("bleu_sentence", options, where) }, nrefs),
  },
  {
    name: "chrf_sentence",
    higherIsBetter: true,
    aggregation: "mean",
    outputTypes: gen,
    options: CHRF_OPTIONS,
    generation: (options, where = DEFAULT_WHERE): Scorer => {
      const o = chrfOptions("chrf_sentence", options, where);
      return (p, refs) => {
        needRefs("chrf_sentence", refs);
        return chrfFromStats(chrfSegmentStats(p, refs, o), o).score;
      };
    },
    signature: (options, nrefs, where = DEFAULT_WHERE) =>
      chrfSignature(chrfOptions("chrf_sentence", options, where), nrefs),
  },
  ...ROUGE_METRICS.map(
    (type: RougeType): MetricDef => ({
      name: type,
      higherIsBetter: true,
      aggregation: "mean",
      outputTypes: gen,
      options: ["use_stemmer"],
      // rouge-score F-measure (0–1); several references: the best one, as score_multi.
      generation: (options, where = DEFAULT_WHERE): Scorer => {
        const useStemmer = rougeUseStemmer(type, options, where);
        return (p, refs) => {
          needRefs(type, refs);
          return rougeScoreMulti(refs, p, [type], { useStemmer })[type].fmeasure;
        };
      },
    }),
  ),
  ...(
    [
      ["squad_em", squadExactMatchMulti],
      ["squad_f1", squadF1Multi],
      ["f1", squadF1Multi],
    ] as const
  ).map(
    ([name, f]): MetricDef => ({
      name,
      higherIsBetter: true,
      aggregation: "mean",
      outputTypes: gen,
      options: [],
      // Per sample 0–1, the max over references (evaluate-v1.1.py prints 100 × the mean).
      generation: (options, where = DEFAULT_WHERE): Scorer => {
        new OptionReader(name, options, where, []);
        return (p, refs) => {
          needRefs(name, refs);
          return f(p, refs);
        };
      },
    }),
  ),
  {
    name: "edit_similarity",
    higherIsBetter: true,
    aggregation: "mean",
    outputTypes: gen,
    options: [],
    // 1 - levenshtein / max length (code points), best reference.
    generation: (options, where = DEFAULT_WHERE): Scorer => {
      new OptionReader("edit_similarity", options, where, []);
      return (p, refs) => {
        needRefs("edit_similarity", refs);
        return Math.max(...refs.map((r) => editSimilarity(p, r)));
      };
    },
  },
  {
    name: "exact_match",
    higherIsBetter: true,
    aggregation: "mean",
    outputTypes: ["generate_until", "multiple_choice"],
    options: EXACT_MATCH_OPTIONS,
    generation: (options, where = DEFAULT_WHERE) => exactMatchScorer(exactMatchOptions(options, where)),
  },
];

// --- BERTScore ---------------------------------------------------------------------------------------

export const BERTSCORE_PARTS = ["precision", "recall", "f1"] as const;
/** BERTScore's options in a run's metric_list; `assay score`, which has every reference first, adds `idf`. */
const BERTSCORE_RUN_OPTIONS = ["endpoint", "baseline"] as const;
export const BERTSCORE_OPTIONS = [...BERTSCORE_RUN_OPTIONS, "idf"] as const;
const BERTSCORE_ENDPOINT_HELP = "tei:<url> or llama-server:<url>, e.g. tei:http://127.0.0.1:8080";

/**
 * BERTScore's options: `endpoint` (required), `baseline` [P, R, F] for rescaling, and `idf` where the
 * caller has every reference up front (`assay score`; a run scores one sample at a time).
 */
export function bertScoreOptions(
  metric: string,
  options: Options,
  where: Where,
  withIdf: boolean,
): { endpoint: string; baseline?: BertScore; idf: boolean } {
  const r = new OptionReader(metric, options, where, withIdf ? BERTSCORE_OPTIONS : BERTSCORE_RUN_OPTIONS);
  const endpoint = r.string("endpoint", BERTSCORE_ENDPOINT_HELP);
  if (endpoint === undefined)
    throw new UserError(`metric '${metric}' needs an embeddings endpoint`, {
      ...where,
      expected: `an "endpoint" option: ${BERTSCORE_ENDPOINT_HELP}`,
    });
  const b = r.numbers("baseline", 3, "[precision, recall, f1] of the model's rescale baseline");
  return {
    endpoint,
    baseline: b && { precision: b[0], recall: b[1], f1: b[2] },
    idf: withIdf ? (r.bool("idf") ?? false) : false,
  };
}

/**
 * bertscore_precision / _recall / _f1 for a task's metric_list: per sample, the output after each filter
 * against the doc's references (the best over several, as bert-score), special tokens weighed 0, no IDF
 * (it needs every reference up front: `assay score --run <run> --metric bertscore` has it).
 */
export const EMBEDDING_METRICS: MetricDef[] = BERTSCORE_PARTS.map((part) => ({
  name: `bertscore_${part}`,
  higherIsBetter: true,
  aggregation: "mean",
  outputTypes: gen,
  options: BERTSCORE_RUN_OPTIONS,
  embedding: (options, where = DEFAULT_WHERE): EmbeddingMetricSpec => {
    const { endpoint, baseline } = bertScoreOptions(`bertscore_${part}`, options, where, false);
    return { endpoint, part, ...(baseline ? { baseline } : {}) };
  },
}));
