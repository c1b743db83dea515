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

/** Start-of-text symbol; only ever appears as the oldest symbol of a context. */
export const BOS = 256;
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

interface Dist {
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
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");

function toBytes(s: string | Uint8Array): Uint8Array {
  return typeof s === "string" ? encoder.encode(s) : s;
}

/** 32-bit mix of two integers for the open-addressing tables. */
function hashPair(a: number, b: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h;
}

/**
 * Open-addressing map (int32 a, uint16 b) -> int32, slots interleaved [a, b, value, -] so a probe
 * touches one cache line. Far lighter than a JS Map for millions of contexts.
 */
class PairTable {
  private slots: Int32Array;
  private mask: number;
  size = 0;

  constructor(expected = 1024) {
    let cap = 1024;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Int32Array(cap * 4).fill(-1);
    this.mask = cap - 1;
  }

  get(a: number, b: number): number {
    const { slots, mask } = this;
    let i = hashPair(a, b) & mask;
    for (;;) {
      const k = slots[i << 2];
      if (k === -1) return -1;
      if (k === a && slots[(i << 2) + 1] === b) return slots[(i << 2) + 2];
      i = (i + 1) & mask;
    }
  }

  /** Returns the existing value for (a, b), or inserts `value` and returns it. */
  getOrInsert(a: number, b: number, value: number): number {
    const { slots, mask } = this;
    let i = hashPair(a, b) & mask;
    for (;;) {
      const k = slots[i << 2];
      if (k === -1) break;
      if (k === a && slots[(i << 2) + 1] === b) return slots[(i << 2) + 2];
      i = (i + 1) & mask;
    }
    slots[i << 2] = a;
    slots[(i << 2) + 1] = b;
    slots[(i << 2) + 2] = value;
    if (++this.size * 10 > (mask + 1) * 7) this.grow();
    return value;
  }

  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    this.slots = new Int32Array(cap * 4).fill(-1);
    this.mask = cap - 1;
    for (let j = 0; j < old.length; j += 4) {
      const a = old[j];
      if (a === -1) continue;
      let i = hashPair(a, old[j + 1]) & this.mask;
      while (this.slots[i << 2] !== -1) i = (i + 1) & this.mask;
      this.slots[i << 2] = a;
      this.slots[(i << 2) + 1] = old[j + 1];
      this.slots[(i << 2) + 2] = old[j + 2];
    }
  }
}

/** Growable Int32Array. */
class IntList {
  data: Int32Array;
  length = 0;
  constructor(cap = 1024) {
    this.data = new Int32Array(cap);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  trimmed(): Int32Array {
    return this.data.slice(0, this.length);
  }
}

/**
 * Modified-KN discounts D1, D2, D3+ from the count-of-counts n1..n4 (Chen & Goodman), clamped so
 * that D(c) <= c (keeps every level normalized) and D > 0 (keeps every byte's probability > 0).
 */
function estimateDiscounts(n1: number, n2: number, n3: number, n4: number): [number, number, number] {
  const y = n1 > 0 && n2 > 0 ? n1 / (n1 + 2 * n2) : 0.5;
  let d1 = n1 > 0 ? 1 - (2 * y * n2) / n1 : y;
  let d2 = n2 > 0 ? 2 - (3 * y * n3) / n2 : y;
  let d3 = n3 > 0 ? 3 - (4 * y * n4) / n3 : y;
  const clamp = (d: number, hi: number) => (Number.isFinite(d) ? Math.min(hi, Math.max(0.05, d)) : 0.5);
  d1 = clamp(d1, 1);
  d2 = clamp(d2, 2);
  d3 = clamp(d3, 3);
  return [d1, d2, d3];
}

/** splitmix32 step: a well-mixed 32-bit value from any integer. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Combines numbers (e.g. a seed and a sample index) into one 32-bit seed; any finite numbers work. */
export function combineSeeds(...parts: number[]): number {
  let h = 0x12345678;
  for (const p of parts) {
    const v = Number.isFinite(p) ? Math.trunc(p) : 0;
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296) >>> 0;
    h = mix32(h ^ lo);
    h = mix32(h ^ hi);
  }
  return h;
}

/** sfc32 PRNG: uniform floats in [0, 1). */
function makeRng(seed: number): () => number {
  let a = mix32(seed);
  let b = mix32(a);
  let c = mix32(b);
  let d = 1;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Length of `bytes` without a trailing incomplete UTF-8 sequence. */
function completeUtf8Length(bytes: Uint8Array, len: number): number {
  let i = len - 1;
  // Walk back over at most 3 continuation bytes to the lead byte of the last sequence.
  while (i >= 0 && len - i <= 3 && (bytes[i] & 0xc0) === 0x80) i--;
  if (i < 0) return len;
  const lead = bytes[i];
  const need = lead >= 0xf0 && lead < 0xf8 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  if (need > 1 && len - i < need && (lead & 0xc0) === 0xc0) return i;
  return len;
}

function indexOfBytes(hay: Uint8Array, from: number, to: number, needle: Uint8Array): number {
  outer: for (let i = from; i + needle.length <= to; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Varint (LEB128) writer for serialization; handles integers up to 2^53. */
class ByteWriter {
  buf = new Uint8Array(1 << 16);
  pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
  varint(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  f64(v: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer).setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  u32(v: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.pos, v, true);
    this.pos += 4;
  }
}

class ByteReader {
  pos = 0;
  private view: DataView;
  constructor(private buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error("ngram model data is truncated");
  }
  varint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      this.need(1);
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new Error("ngram model data is corrupt (varint too long)");
    }
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
}

/** Trie and n-gram counts produced by countContexts. */
interface Counts {
  nodeParent: IntList;
  nodeSym: IntList;
  /** Entries (node, byte, adjusted count), each node's bytes contiguous and sorted. */
  entNode: IntList;
  entSym: IntList;
  entCount: IntList;
}

/**
 * Builds the reversed context trie by recursive partitioning (an MSD radix sort of positions by
 * their preceding bytes, newest first): each context is a contiguous run of positions, so counting
 * needs no hash tables and reads memory mostly in order. Nodes come out in preorder.
 * `since[p]` is p's offset in its document (capped at 255), so the symbol d bytes back is a byte
 * (d < since), BOS (d == since) or nothing.
 */
function countContexts(all: Uint8Array, since: Uint8Array, order: number): Counts {
  const n = all.length;
  const maxCtx = order - 1;
  const pos = new Int32Array(n);
  for (let i = 0; i < n; i++) pos[i] = i;
  const tmp = new Int32Array(n);
  const out: Counts = {
    nodeParent: new IntList(),
    nodeSym: new IntList(),
    entNode: new IntList(),
    entSym: new IntList(),
    entCount: new IntList(),
  };
  out.nodeParent.push(-1);
  out.nodeSym.push(0xffff);
  // Scratch per depth: next-byte raw and continuation counts, and child buckets.
  const raw = Array.from({ length: order }, () => new Int32Array(256));
  const cont = Array.from({ length: order }, () => new Int32Array(256));
  const seenW = Array.from({ length: order }, () => new Uint8Array(256));
  const childCount = Array.from({ length: order }, () => new Int32Array(BOS + 1));
  const childStart = Array.from({ length: order }, () => new Int32Array(BOS + 1));
  const childSyms = Array.from({ length: order }, () => new Uint16Array(BOS + 1));

  const visit = (lo: number, hi: number, d: number, node: number, bosInitial: boolean): void => {
    const r = raw[d];
    const ws = seenW[d];
    let nw = 0;
    for (let i = lo; i < hi; i++) {
      const w = all[pos[i]];
      if (r[w]++ === 0) ws[nw++] = w;
    }
    // Top-order and BOS-initial n-grams can't be extended to the left: they keep raw counts;
    // every other context has a child per position, which yields its continuation counts.
    const leaf = d === maxCtx || bosInitial;
    if (!leaf) {
      const cc = childCount[d];
      const cs = childStart[d];
      const syms = childSyms[d];
      let nc = 0;
      for (let i = lo; i < hi; i++) {
        const p = pos[i];
        const s = d < since[p] ? all[p - 1 - d] : BOS;
        if (cc[s]++ === 0) syms[nc++] = s;
      }
      let at = lo;
      for (let k = 0; k < nc; k++) {
        cs[syms[k]] = at;
        at += cc[syms[k]];
      }
      // Stable scatter keeps each child's positions in increasing order (sequential reads below).
      for (let i = lo; i < hi; i++) {
        const p = pos[i];
        tmp[cs[d < since[p] ? all[p - 1 - d] : BOS]++] = p;
      }
      pos.set(tmp.subarray(lo, hi), lo);
      let start = lo;
      for (let k = 0; k < nc; k++) {
        const s = syms[k];
        const size = cc[s];
        cc[s] = 0;
        const child = out.nodeParent.length;
        out.nodeParent.push(node);
        out.nodeSym.push(s);
        visit(start, start + size, d + 1, child, s === BOS);
        start += size;
      }
    }
    sortSmall(ws, nw);
    const c = cont[d];
    const up = d > 0 ? cont[d - 1] : null;
    for (let k = 0; k < nw; k++) {
      const w = ws[k];
      out.entNode.push(node);
      out.entSym.push(w);
      out.entCount.push(leaf ? r[w] : c[w]);
      if (up) up[w]++;
      r[w] = 0;
      c[w] = 0;
    }
  };
  if (n > 0) visit(0, n, 0, 0, false);
  return out;
}

/** Sorts a[0..len) ascending (insertion sort for the usual handful of bytes). */
function sortSmall(a: Uint8Array, len: number): void {
  if (len > 24) {
    a.subarray(0, len).sort();
    return;
  }
  for (let i = 1; i < len; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

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

/** Samples a byte with temperature and nucleus (top-p) truncation; `weights` is scratch space. */
function sampleByte(
  d: Dist,
  temperature: number,
  topP: number | undefined,
  rng: () => number,
  weights: Float64Array,
): number {
  let total = 1;
  if (temperature === 1) {
    weights.set(d.p);
  } else {
    const inv = 1 / temperature;
    if (d.tInv !== inv || d.tWeights === null) {
      // exp/log dominate sampling, so skip them for repeated values: bytes unseen in training
      // share one probability and come in runs.
      const { p, max } = d;
      const tw = d.tWeights ?? new Float64Array(256);
      let t = 0;
      let lastP = -1;
      let lastQ = 0;
      for (let w = 0; w < 256; w++) {
        if (p[w] !== lastP) {
          lastP = p[w];
          // (p / max)^(1/T), relative to the max so that it can't underflow to all zeros.
          lastQ = Math.exp(Math.log(lastP / max) * inv);
        }
        tw[w] = lastQ;
        t += lastQ;
      }
      d.tInv = inv;
      d.tWeights = tw;
      d.tTotal = t;
    }
    weights.set(d.tWeights!);
    total = d.tTotal;
  }
  if (topP !== undefined && topP < 1) {
    if (d.byRank === null) {
      const { p } = d;
      const idx = Array.from({ length: 256 }, (_, w) => w);
      idx.sort((a, b) => p[b] - p[a] || a - b);
      d.byRank = Uint8Array.from(idx);
    }
    // Weights fall with p, so the nucleus is a prefix of the ranking.
    const keep = Math.max(0, topP) * total;
    let cum = 0;
    for (let k = 0; k < 256; k++) {
      const w = d.byRank[k];
      if (k > 0 && cum >= keep) weights[w] = 0;
      else cum += weights[w];
    }
    total = cum;
  }
  let r = rng() * total;
  let last = d.argmax;
  for (let w = 0; w < 256; w++) {
    const q = weights[w];
    if (q <= 0) continue;
    last = w;
    r -= q;
    if (r < 0) return w;
  }
  return last;
}
