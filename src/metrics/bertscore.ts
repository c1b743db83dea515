/**
 * BERTScore (Zhang et al. 2020) over contextual token embeddings supplied by the caller, following
 * the `bert-score` package: cosine similarities, greedy matching (each candidate token takes its best
 * reference token for precision and vice versa for recall), optional IDF weights, elementwise max over
 * several references, then optional baseline rescaling. Computed in float64; bert-score works in
 * float32, so expect agreement to about 1e-6, not bit for bit.
 */

/**
 * One text as an embedding model sees it: token ids (special tokens such as [CLS] and [SEP] included,
 * as the model emits them), which of them are special, and one contextual vector per token. The
 * providers are in `models/token_embeddings.ts`.
 */
export interface EmbeddedText {
  ids: readonly number[];
  special: readonly boolean[];
  vectors: readonly ArrayLike<number>[];
}

export interface TokenEmbeddings {
  /** One vector per token, all of the same dimension. */
  vectors: readonly ArrayLike<number>[];
  /**
   * Per-token importance weights (IDF, or 1); bert-score gives special tokens weight 0 but still lets
   * them be matched. Default: 1 for every token.
   */
  weights?: ArrayLike<number>;
}

export interface BertScore {
  precision: number;
  recall: number;
  f1: number;
}

function unit(v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(v.length);
  let ss = 0;
  for (let i = 0; i < v.length; i++) ss += v[i] * v[i];
  const norm = Math.sqrt(ss);
  // A zero vector has no direction; it gets similarity 0 with everything instead of NaN.
  if (norm === 0) return out;
  for (let i = 0; i < v.length; i++) out[i] = v[i] / norm;
  return out;
}

/** Cosine similarity matrix: `sim[i][j]` between candidate token i and reference token j. */
export function cosineSimilarityMatrix(
  candidate: readonly ArrayLike<number>[],
  reference: readonly ArrayLike<number>[],
): Float64Array[] {
  const c = candidate.map(unit);
  const r = reference.map(unit);
  return c.map((ci) => {
    const row = new Float64Array(r.length);
    for (let j = 0; j < r.length; j++) {
      const rj = r[j];
      if (rj.length !== ci.length) throw new Error("embedding dimensions differ");
      let dot = 0;
      for (let k = 0; k < ci.length; k++) dot += ci[k] * rj[k];
      row[j] = dot;
    }
    return row;
  });
}

function weightsOf(e: TokenEmbeddings): ArrayLike<number> {
  if (e.weights === undefined) return new Float64Array(e.vectors.length).fill(1);
  if (e.weights.length !== e.vectors.length) throw new Error("weights and vectors differ in length");
  return e.weights;
}

/** BERTScore of one candidate against one reference. Empty sides (or all-zero weights) score 0. */
export function bertScorePair(candidate: TokenEmbeddings, reference: TokenEmbeddings): BertScore {
  const wc = weightsOf(candidate);
  const wr = weightsOf(reference);
  let sc = 0;
  let sr = 0;
  for (let i = 0; i < wc.length; i++) sc += wc[i];
  for (let j = 0; j < wr.length; j++) sr += wr[j];
  // bert-score zeroes P and R for an empty candidate or reference; F is then 0/0 and filled with 0.
  if (candidate.vectors.length === 0 || reference.vectors.length === 0 || sc === 0 || sr === 0)
    return { precision: 0, recall: 0, f1: 0 };
  const sim = cosineSimilarityMatrix(candidate.vectors, reference.vectors);
  const colMax = new Float64Array(wr.length).fill(-Infinity);
  let precision = 0;
  for (let i = 0; i < sim.length; i++) {
    const row = sim[i];
    let best = -Infinity;
    for (let j = 0; j < row.length; j++) {
      if (row[j] > best) best = row[j];
      if (row[j] > colMax[j]) colMax[j] = row[j];
    }
    precision += best * (wc[i] / sc);
  }
  let recall = 0;
  for (let j = 0; j < colMax.length; j++) recall += colMax[j] * (wr[j] / sr);
  const f = (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1: Number.isNaN(f) ? 0 : f };
}

/** bert-score's baseline rescaling `(s - b) / (1 - b)`, per component. */
export function rescaleWithBaseline(score: BertScore, baseline: BertScore): BertScore {
  return {
    precision: (score.precision - baseline.precision) / (1 - baseline.precision),
    recall: (score.recall - baseline.recall) / (1 - baseline.recall),
    f1: (score.f1 - baseline.f1) / (1 - baseline.f1),
  };
}

export interface BertScoreOptions {
  /** Baseline P/R/F for the model and layer (bert-score's rescale_baseline files). */
  baseline?: BertScore;
}

/**
 * BERTScore of a candidate against several references as bert-score does it: P, R and F are each the
 * maximum over the references independently (so F need not be the harmonic mean of the reported P and
 * R), and baseline rescaling comes after the max.
 */
export function bertScore(
  candidate: TokenEmbeddings,
  references: readonly TokenEmbeddings[],
  opts: BertScoreOptions = {},
): BertScore {
  if (references.length === 0) throw new Error("bertScore needs at least one reference");
  let best: BertScore | undefined;
  for (const ref of references) {
    const s = bertScorePair(candidate, ref);
    best =
      best === undefined
        ? s
        : {
            precision: Math.max(best.precision, s.precision),
            recall: Math.max(best.recall, s.recall),
            f1: Math.max(best.f1, s.f1),
          };
  }
  return opts.baseline ? rescaleWithBaseline(best!, opts.baseline) : best!;
}

export interface IdfTable<T = string> {
  /** IDF of a token seen in the documents. */
  idf: Map<T, number>;
  /** IDF of an unseen token: log(M + 1). */
  unseen: number;
}

/**
 * bert-score's `get_idf_dict`: over M documents (bert-score uses the references, one document per
 * reference), idf(t) = log((M + 1) / (df(t) + 1)), where df counts documents containing t.
 */
export function idfTable<T>(documents: readonly (readonly T[])[]): IdfTable<T> {
  const df = new Map<T, number>();
  for (const doc of documents) for (const t of new Set(doc)) df.set(t, (df.get(t) ?? 0) + 1);
  const m = documents.length;
  const idf = new Map<T, number>();
  for (const [t, c] of df) idf.set(t, Math.log((m + 1) / (c + 1)));
  return { idf, unseen: Math.log(m + 1) };
}

/**
 * Per-token weights: the token's IDF from `table` (1 for every token without one); special tokens
 * (e.g. [CLS], [SEP]) get 0 as in bert-score.
 */
export function idfWeights<T>(
  tokens: readonly T[],
  table: IdfTable<T> | undefined,
  specialTokens: ReadonlySet<T> = new Set(),
): Float64Array {
  const out = new Float64Array(tokens.length);
  for (let i = 0; i < tokens.length; i++)
    out[i] = specialTokens.has(tokens[i]) ? 0 : table ? (table.idf.get(tokens[i]) ?? table.unseen) : 1;
  return out;
}

export interface BertScoreCorpusOptions extends BertScoreOptions {
  /** Weight tokens by their IDF over all the references (bert-score `idf=True`); default false. */
  idf?: boolean;
}

/**
 * bert-score's `score(cands, refs, idf=...)` over embedded texts: `refs[i]` holds the references of
 * `cands[i]`. Special tokens weigh 0 (with IDF they would anyway: they occur in every document);
 * other tokens weigh 1, or their IDF over the references flattened, as bert-score computes it.
 */
export function bertScoreCorpus(
  cands: readonly EmbeddedText[],
  refs: readonly (readonly EmbeddedText[])[],
  opts: BertScoreCorpusOptions = {},
): BertScore[] {
  if (cands.length !== refs.length)
    throw new RangeError(`BERTScore: ${cands.length} candidates but ${refs.length} reference lists`);
  const table = opts.idf ? idfTable(refs.flat().map((r) => r.ids)) : undefined;
  const weighted = (e: EmbeddedText): TokenEmbeddings => {
    if (e.ids.length !== e.vectors.length || e.special.length !== e.ids.length)
      throw new RangeError("BERTScore: ids, special flags and vectors differ in length");
    const special = new Set(e.ids.filter((_, i) => e.special[i]));
    return { vectors: e.vectors, weights: idfWeights(e.ids, table, special) };
  };
  return cands.map((c, i) => bertScore(weighted(c), refs[i].map(weighted), { baseline: opts.baseline }));
}
