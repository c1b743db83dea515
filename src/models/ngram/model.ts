/**
 * Byte-level n-gram language model with interpolated modified Kneser–Ney smoothing.
 *
 * Pure (no I/O, no dependencies). An order-N model predicts each byte from the previous N-1 bytes;
 * each text starts with an implicit start-of-text symbol (BOS), so the first bytes of a text have
 * their own statistics. Every context gets a distribution over all 256 next bytes that sums to 1:
 * order k interpolates with order k-1 and order 1 with the uniform distribution.
 *
 * Default order 7, measured with bench/ngram.mjs (GSM8K train question+answer, 3.9 MB; held-out
 * GSM8K test, 0.7 MB; shared 2-core machine, so times are CPU seconds and rough):
 *   order  held-out bits/byte  train CPU s  scoring bytes/s  model MB
 *   3      2.736               0.4          9.1M             0.06
 *   4      2.214               0.7          5.8M             0.32
 *   5      1.923               0.9          3.5M             1.1
 *   6      1.800               1.3          2.0M             3.0
 *   7      1.743               1.5          1.4M             6.4
 *   8      1.719               1.8          0.6M             11.5
 * 7 is the smallest order within 2% of the best bits/byte; 8 gains 1.4% for twice the memory and
 * half the speed.
 */
import { ByteReader, ByteWriter, completeUtf8Length, encoder, indexOfBytes, toBytes } from "./bytes.js";
import { BOS, countContexts, estimateDiscounts } from "./counts.js";
import { makeRng, sampleByte } from "./sampling.js";
import { PairTable } from "./tables.js";

export { BOS };

export const MIN_ORDER = 1;
export const MAX_ORDER = 16;
export const DEFAULT_ORDER = 7;
const DEFAULT_CACHE_SIZE = 8192;
const FORMAT_MAGIC = 0x474e5341; // "ASNG" little-endian
const FORMAT_VERSION = 1;

export interface NgramTrainOptions {
  /** Bytes per n-gram, context included (default DEFAULT_ORDER). */
  order?: number;
  /** Number of per-context distributions kept in the LRU cache. */
  cacheSize?: number;
}

export interface NgramStats {
  order: number;
  documents: number;
  trainingBytes: number;
  /** Distinct contexts (trie nodes). */
  contexts: number;
  /** Distinct (context, next byte) pairs over all orders. */
  ngrams: number;
}

export interface GenerateOptions {
  /** Maximum number of new bytes (1 token = 1 byte). */
  maxTokens: number;
  /** Stop sequences; the output is cut before the first one. Empty strings are ignored. */
  until?: readonly string[];
  /** 0 (default) means greedy. */
  temperature?: number;
  /** Nucleus sampling mass, in (0, 1]. */
  topP?: number;
  /** Seed of the sampling PRNG. */
  seed?: number;
}

export interface GenerateResult {
  text: string;
  /** Bytes the model produced, stop sequence included (before cutting and UTF-8 trimming). */
  generatedBytes: number;
  stopReason: "until" | "max_tokens";
}

export interface ContinuationScore {
  /** Natural-log probability of the continuation given the context. */
  logprob: number;
  /** True when every continuation byte was the most likely byte (ties count as greedy). */
  isGreedy: boolean;
}

export interface Dist {
  p: Float64Array;
  argmax: number;
  max: number;
  /** Sampling weights p^(1/T) (relative to the max) for temperature 1/tInv, kept for reuse. */
  tInv: number;
  tWeights: Float64Array | null;
  tTotal: number;
  /** Bytes by decreasing probability (ties: lower byte first), for top-p. */
  byRank: Uint8Array | null;
}

const UNIFORM = new Float64Array(256).fill(1 / 256);
const decoder = new TextDecoder("utf-8");

interface ModelParts {
  order: number;
  documents: number;
  trainingBytes: number;
  /** [D1, D2, D3+] per order, index (order-1)*3. */
  discounts: Float64Array;
  /** Reversed context trie: node 0 is the empty context; a child prepends `nodeSym` (older byte). */
  nodeParent: Int32Array;
  nodeSym: Uint16Array;
  nodeDepth: Uint8Array;
  /** Per node, entries [offsets[n], offsets[n+1]) sorted by byte. */
  offsets: Int32Array;
  entSym: Uint8Array;
  /** KN-adjusted counts: raw counts at the top order and for BOS-initial contexts, else continuation counts. */
  entCount: Int32Array;
}

/** Node depths from parents (parents always precede children). */
function depthsOf(parents: Int32Array): Uint8Array {
  const depth = new Uint8Array(parents.length);
  for (let v = 1; v < parents.length; v++) depth[v] = depth[parents[v]] + 1;
  return depth;
}

export class NgramModel {
  readonly order: number;
  private readonly parts: ModelParts;
  /** Child lookup in the context trie: (node, older symbol) -> node. */
  private readonly edges: PairTable;
  /** Per node: total adjusted count, and the back-off weight gamma = sum of discounts / total. */
  private readonly total: Int32Array;
  private readonly gamma: Float64Array;
  private readonly cache = new Map<number, Dist>();
  private readonly cacheSize: number;
  private readonly path: Int32Array;

  private constructor(parts: ModelParts, cacheSize = DEFAULT_CACHE_SIZE) {
    this.parts = parts;
    this.order = parts.order;
    this.cacheSize = Math.max(16, cacheSize);
    this.path = new Int32Array(parts.order);
    const { nodeParent, nodeSym, nodeDepth, offsets, entCount, discounts } = parts;
    const nNodes = nodeParent.length;
    this.edges = new PairTable(nNodes);
    for (let v = 1; v < nNodes; v++) this.edges.getOrInsert(nodeParent[v], nodeSym[v], v);
    this.total = new Int32Array(nNodes);
    this.gamma = new Float64Array(nNodes);
    for (let v = 0; v < nNodes; v++) {
      const k = nodeDepth[v] * 3;
      let total = 0;
      let dsum = 0;
      for (let i = offsets[v]; i < offsets[v + 1]; i++) {
        const c = entCount[i];
        total += c;
        dsum += discounts[k + (c < 3 ? c - 1 : 2)];
      }
      this.total[v] = total;
      this.gamma[v] = total > 0 ? dsum / total : 1;
    }
  }

  /** Trains on documents (strings are UTF-8 encoded); each document starts at BOS. */
  static train(docs: Iterable<string | Uint8Array>, opts: NgramTrainOptions = {}): NgramModel {
    const order = opts.order ?? DEFAULT_ORDER;
    if (!Number.isInteger(order) || order < MIN_ORDER || order > MAX_ORDER) {
      throw new RangeError(`ngram order must be an integer in ${MIN_ORDER}..${MAX_ORDER}, got ${order}`);
    }
    const chunks: Uint8Array[] = [];
    let n = 0;
    for (const doc of docs) {
      const b = toBytes(doc);
      chunks.push(b);
      n += b.length;
    }
    // All text in one buffer, with each byte's offset in its document (capped).
    const all = new Uint8Array(n);
    const since = new Uint8Array(n);
    let off = 0;
    for (const b of chunks) {
      all.set(b, off);
      for (let j = 0; j < b.length; j++) since[off + j] = Math.min(j, 255);
      off += b.length;
    }
    const documents = chunks.length;
    chunks.length = 0;
    const { nodeParent, nodeSym, entNode, entSym, entCount } = countContexts(all, since, order);

    // CSR layout: a stable counting sort by node keeps each node's bytes sorted.
    const nNodes = nodeParent.length;
    const nEnt = entCount.length;
    const offsets = new Int32Array(nNodes + 1);
    const eNode = entNode.data;
    for (let e = 0; e < nEnt; e++) offsets[eNode[e] + 1]++;
    for (let v = 0; v < nNodes; v++) offsets[v + 1] += offsets[v];
    const fill = offsets.slice(0, nNodes);
    const csrSym = new Uint8Array(nEnt);
    const csrCount = new Int32Array(nEnt);
    for (let e = 0; e < nEnt; e++) {
      const slot = fill[eNode[e]]++;
      csrSym[slot] = entSym.data[e];
      csrCount[slot] = entCount.data[e];
    }
    const parents = nodeParent.trimmed();
    const syms = new Uint16Array(nNodes);
    for (let v = 0; v < nNodes; v++) syms[v] = nodeSym.data[v];
    const depth = depthsOf(parents);
    return new NgramModel(
      {
        order,
        documents,
        trainingBytes: n,
        discounts: NgramModel.discountsFor(order, depth, offsets, csrCount),
        nodeParent: parents,
        nodeSym: syms,
        nodeDepth: depth,
        offsets,
        entSym: csrSym,
        entCount: csrCount,
      },
      opts.cacheSize,
    );
  }

  private static discountsFor(
    order: number,
    depth: Uint8Array,
    offsets: Int32Array,
    counts: Int32Array,
  ): Float64Array {
    const coc = new Float64Array(order * 4);
    for (let n = 0; n < depth.length; n++) {
      const base = depth[n] * 4;
      for (let i = offsets[n]; i < offsets[n + 1]; i++) {
        const c = counts[i];
        if (c <= 4) coc[base + c - 1]++;
      }
    }
    const out = new Float64Array(order * 3);
    for (let k = 0; k < order; k++) {
      const d = estimateDiscounts(coc[k * 4], coc[k * 4 + 1], coc[k * 4 + 2], coc[k * 4 + 3]);
      out.set(d, k * 3);
    }
    return out;
  }

  get stats(): NgramStats {
    const p = this.parts;
    return {
      order: p.order,
      documents: p.documents,
      trainingBytes: p.trainingBytes,
      contexts: p.nodeParent.length,
      ngrams: p.entSym.length,
    };
  }

  /** The per-order discounts [D1, D2, D3+] (copy), for inspection. */
  get discounts(): Float64Array {
    return this.parts.discounts.slice();
  }

  /**
   * Deepest known context for the bytes before `end`. With `fromStart`, position 0 is the start
   * of the text, so a short history is preceded by BOS.
   */
  private findNode(bytes: Uint8Array, end: number, fromStart: boolean): number {
    const { edges, path } = this;
    const maxCtx = this.order - 1;
    let node = 0;
    path[0] = 0;
    for (let d = 0; d < maxCtx; d++) {
      const i = end - 1 - d;
      let sym: number;
      if (i >= 0) sym = bytes[i];
      else if (fromStart && i === -1) sym = BOS;
      else break;
      const child = edges.get(node, sym);
      if (child < 0) break;
      node = child;
      path[d + 1] = node;
      if (sym === BOS) break;
    }
    return node;
  }

  /**
   * p(w | node) without building the whole distribution: walks the path that findNode just
   * recorded. Same arithmetic as dist(), so both give bit-identical probabilities.
   */
  private pointProb(node: number, w: number): number {
    const { offsets, entSym, entCount, discounts, nodeDepth } = this.parts;
    const depth = nodeDepth[node];
    let p = UNIFORM[0];
    for (let l = 0; l <= depth; l++) {
      const v = this.path[l];
      const total = this.total[v];
      if (total === 0) continue;
      p = this.gamma[v] * p;
      let lo = offsets[v];
      let hi = offsets[v + 1] - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const s = entSym[mid];
        if (s < w) lo = mid + 1;
        else if (s > w) hi = mid - 1;
        else {
          const c = entCount[mid];
          p += (c - discounts[l * 3 + (c < 3 ? c - 1 : 2)]) / total;
          break;
        }
      }
    }
    return p;
  }

  /** Next-byte distribution of a context node; depends only on the node and its ancestors. */
  private dist(node: number): Dist {
    const cache = this.cache;
    const hit = cache.get(node);
    if (hit !== undefined) {
      cache.delete(node);
      cache.set(node, hit);
      return hit;
    }
    const { nodeParent, nodeDepth, offsets, entSym, entCount, discounts } = this.parts;
    const lower = node === 0 ? UNIFORM : this.dist(nodeParent[node]).p;
    const k = nodeDepth[node] * 3;
    const total = this.total[node];
    const p = new Float64Array(256);
    if (total === 0) {
      p.set(lower);
    } else {
      const gamma = this.gamma[node];
      for (let w = 0; w < 256; w++) p[w] = gamma * lower[w];
      for (let i = offsets[node]; i < offsets[node + 1]; i++) {
        const c = entCount[i];
        p[entSym[i]] += (c - discounts[k + (c < 3 ? c - 1 : 2)]) / total;
      }
    }
    let argmax = 0;
    for (let w = 1; w < 256; w++) if (p[w] > p[argmax]) argmax = w;
    const dist: Dist = {
      p,
      argmax,
      max: p[argmax],
      tInv: Number.NaN,
      tWeights: null,
      tTotal: 0,
      byRank: null,
    };
    cache.set(node, dist);
    if (cache.size > this.cacheSize) cache.delete(cache.keys().next().value as number);
    return dist;
  }

  /**
   * Natural-log probabilities of each next byte after `context`. By default the context is a whole
   * text prefix (preceded by BOS); with `fromStart: false` it is taken from the middle of a text.
   */
  nextByteLogProbs(context: string | Uint8Array, opts: { fromStart?: boolean } = {}): Float64Array {
    const bytes = toBytes(context);
    const { p } = this.dist(this.findNode(bytes, bytes.length, opts.fromStart ?? true));
    const out = new Float64Array(256);
    for (let w = 0; w < 256; w++) out[w] = Math.log(p[w]);
    return out;
  }

  /** Log probability of `continuation` after `context` (context starts the text), summed over bytes. */
  logprob(context: string | Uint8Array, continuation: string | Uint8Array): ContinuationScore {
    const ctx = toBytes(context);
    const cont = toBytes(continuation);
    const buf = new Uint8Array(ctx.length + cont.length);
    buf.set(ctx);
    buf.set(cont, ctx.length);
    let logprob = 0;
    let isGreedy = true;
    for (let i = ctx.length; i < buf.length; i++) {
      const node = this.findNode(buf, i, true);
      logprob += Math.log(this.pointProb(node, buf[i]));
      if (isGreedy) {
        const d = this.dist(node);
        isGreedy = d.p[buf[i]] >= d.max;
      }
    }
    return { logprob, isGreedy };
  }

  /** Log probability of the whole of `text`, every byte conditioned on the start of text and the bytes before it. */
  rollingLogprob(text: string | Uint8Array): number {
    const bytes = toBytes(text);
    let logprob = 0;
    for (let i = 0; i < bytes.length; i++) {
      logprob += Math.log(this.pointProb(this.findNode(bytes, i, true), bytes[i]));
    }
    return logprob;
  }

  /** Per-byte scores of `text` from its start: log prob, whether argmax, and the `top` most likely bytes. */
  scoreBytes(
    text: string | Uint8Array,
    top = 0,
  ): Array<{ byte: number; logprob: number; greedy: boolean; top: Array<[number, number]> }> {
    const bytes = toBytes(text);
    const out = [];
    for (let i = 0; i < bytes.length; i++) {
      const d = this.dist(this.findNode(bytes, i, true));
      const pw = d.p[bytes[i]];
      let best: Array<[number, number]> = [];
      if (top > 0) {
        const idx = Array.from({ length: 256 }, (_, w) => w);
        idx.sort((a, b) => d.p[b] - d.p[a] || a - b);
        best = idx.slice(0, Math.min(top, 256)).map((w) => [w, Math.log(d.p[w])]);
      }
      out.push({ byte: bytes[i], logprob: Math.log(pw), greedy: pw >= d.max, top: best });
    }
    return out;
  }

  /**
   * Continues `prompt` (which starts the text) byte by byte, greedily (temperature 0) or by seeded
   * sampling. Stops after `maxTokens` bytes or when a stop sequence appears in the new bytes; the
   * output is cut before the earliest stop sequence and never ends in a partial UTF-8 character.
   */
  generate(prompt: string | Uint8Array, opts: GenerateOptions): GenerateResult {
    const ctx = toBytes(prompt);
    const maxTokens = Math.max(0, Math.floor(opts.maxTokens));
    const stops = (opts.until ?? []).filter((s) => s.length > 0).map((s) => encoder.encode(s));
    const temperature = opts.temperature ?? 0;
    const greedy = !(temperature > 0);
    const rng = greedy ? null : makeRng(opts.seed ?? 0);
    const topP = opts.topP;
    const buf = new Uint8Array(ctx.length + maxTokens);
    buf.set(ctx);
    const start = ctx.length;
    let n = start;
    let stopReason: GenerateResult["stopReason"] = "max_tokens";
    const weights = new Float64Array(256);
    while (n - start < maxTokens) {
      const d = this.dist(this.findNode(buf, n, true));
      buf[n] = rng ? sampleByte(d, temperature, topP, rng, weights) : d.argmax;
      n++;
      if (stops.some((s) => n - start >= s.length && indexOfBytes(buf, n - s.length, n, s) >= 0)) {
        stopReason = "until";
        break;
      }
    }
    let end = n;
    if (stopReason === "until") {
      for (const s of stops) {
        const at = indexOfBytes(buf, start, n, s);
        if (at >= 0 && at < end) end = at;
      }
    }
    end = start + completeUtf8Length(buf.subarray(start, end), end - start);
    return { text: decoder.decode(buf.subarray(start, end)), generatedBytes: n - start, stopReason };
  }

  /** Compact binary form (varint-coded trie and counts); see deserialize. */
  serialize(): Buffer {
    const p = this.parts;
    const w = new ByteWriter();
    w.u32(FORMAT_MAGIC);
    w.varint(FORMAT_VERSION);
    w.varint(p.order);
    w.varint(p.documents);
    w.varint(p.trainingBytes);
    const nNodes = p.nodeParent.length;
    w.varint(nNodes);
    w.varint(p.entSym.length);
    for (let i = 0; i < p.discounts.length; i++) w.f64(p.discounts[i]);
    // Parents precede children, so id - parent is a positive delta.
    for (let n = 1; n < nNodes; n++) {
      w.varint(n - p.nodeParent[n]);
      w.varint(p.nodeSym[n]);
    }
    for (let n = 0; n < nNodes; n++) w.varint(p.offsets[n + 1] - p.offsets[n]);
    for (let n = 0; n < nNodes; n++) {
      let prev = 0;
      for (let i = p.offsets[n]; i < p.offsets[n + 1]; i++) {
        w.varint(p.entSym[i] - prev);
        prev = p.entSym[i];
        w.varint(p.entCount[i]);
      }
    }
    return Buffer.from(w.buf.buffer, 0, w.pos);
  }

  /** Rebuilds a model from serialize()'s output; throws Error on data that is not a model. */
  static deserialize(data: Uint8Array, opts: { cacheSize?: number } = {}): NgramModel {
    const r = new ByteReader(data);
    if (data.length < 4 || r.u32() !== FORMAT_MAGIC) throw new Error("not an ngram model (bad magic)");
    const version = r.varint();
    if (version !== FORMAT_VERSION) throw new Error(`unsupported ngram model format version ${version}`);
    const order = r.varint();
    if (order < MIN_ORDER || order > MAX_ORDER)
      throw new Error(`ngram model data is corrupt (order ${order})`);
    const documents = r.varint();
    const trainingBytes = r.varint();
    const nNodes = r.varint();
    const nEnt = r.varint();
    if (nNodes < 1 || nNodes > data.length || nEnt > data.length)
      throw new Error("ngram model data is corrupt");
    const discounts = new Float64Array(order * 3);
    for (let i = 0; i < discounts.length; i++) discounts[i] = r.f64();
    const nodeParent = new Int32Array(nNodes);
    const nodeSym = new Uint16Array(nNodes);
    const nodeDepth = new Uint8Array(nNodes);
    nodeParent[0] = -1;
    nodeSym[0] = 0xffff;
    for (let n = 1; n < nNodes; n++) {
      const parent = n - r.varint();
      const sym = r.varint();
      if (parent < 0 || sym > BOS || nodeDepth[parent] + 1 >= order) {
        throw new Error("ngram model data is corrupt (trie)");
      }
      nodeParent[n] = parent;
      nodeSym[n] = sym;
      nodeDepth[n] = nodeDepth[parent] + 1;
    }
    const offsets = new Int32Array(nNodes + 1);
    for (let n = 0; n < nNodes; n++) offsets[n + 1] = offsets[n] + r.varint();
    if (offsets[nNodes] !== nEnt) throw new Error("ngram model data is corrupt (entries)");
    const entSym = new Uint8Array(nEnt);
    const entCount = new Int32Array(nEnt);
    for (let n = 0; n < nNodes; n++) {
      let prev = 0;
      for (let i = offsets[n]; i < offsets[n + 1]; i++) {
        prev += r.varint();
        if (prev > 255) throw new Error("ngram model data is corrupt (byte)");
        entSym[i] = prev;
        entCount[i] = r.varint();
        if (entCount[i] < 1) throw new Error("ngram model data is corrupt (count)");
      }
    }
    if (r.pos !== data.length) throw new Error("ngram model data is corrupt (trailing bytes)");
    return new NgramModel(
      {
        order,
        documents,
        trainingBytes,
        discounts,
        nodeParent,
        nodeSym,
        nodeDepth,
        offsets,
        entSym,
        entCount,
      },
      opts.cacheSize,
    );
  }
}
