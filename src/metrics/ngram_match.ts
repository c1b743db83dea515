/**
 * Clipped n-gram matching over integer symbol ids, shared by BLEU (word n-grams) and chrF
 * (character and word n-grams). Counting n-grams with string keys in Maps dominated those metrics;
 * this computes the same numbers with typed arrays only.
 *
 * The sequence holds the hypothesis (side 0) and then one or more references, each side followed by
 * a -1 separator. For every order n = 1..maxOrder it adds
 *
 *     Σ over distinct hypothesis n-grams g of min(count_hyp(g), max over references of count_ref(g))
 *
 * which is sacreBLEU's clipped match count (BLEU) and, with a single reference, chrF's match count.
 *
 * Method: partition refinement. Start positions whose n-grams are equal form one group; refining
 * every group by the symbol at offset n gives the groups of order n + 1. A group with no hypothesis
 * position or no reference position can never match again and is dropped, so dissimilar segments
 * cost little beyond the first orders. Each step is linear in the positions still alive.
 */

// Per-symbol scratch, indexed by symbol id; `mark` tells which group last touched a symbol.
let mark = new Int32Array(1024);
let hypCount = new Int32Array(1024);
let total = new Int32Array(1024);
let refCount = new Int32Array(1024);
let refMax = new Int32Array(1024);
let lastSide = new Int32Array(1024);
let offset = new Int32Array(1024);
let stamp = 0;

// Per-position scratch: side of each position, grouped positions and group ends (current and next).
let sideOf = new Int32Array(1024);
let cur = new Int32Array(1024);
let nxt = new Int32Array(1024);
let curEnd = new Int32Array(1024);
let nxtEnd = new Int32Array(1024);
let symbols = new Int32Array(1024);

function ensureSymbols(n: number): void {
  if (mark.length >= n) return;
  let size = mark.length;
  while (size < n) size *= 2;
  mark = new Int32Array(size);
  hypCount = new Int32Array(size);
  total = new Int32Array(size);
  refCount = new Int32Array(size);
  refMax = new Int32Array(size);
  lastSide = new Int32Array(size);
  offset = new Int32Array(size);
  stamp = 0;
}

function ensurePositions(n: number): void {
  if (cur.length >= n + 1) return;
  let size = cur.length;
  while (size < n + 1) size *= 2;
  sideOf = new Int32Array(size);
  cur = new Int32Array(size);
  nxt = new Int32Array(size);
  curEnd = new Int32Array(size);
  nxtEnd = new Int32Array(size);
  symbols = new Int32Array(size);
}

/** Makes room for sequences of up to `len` positions (and as many symbols) before a run of calls. */
export function reserveClippedMatches(len: number): void {
  ensureSymbols(len);
  ensurePositions(len);
}

/**
 * Adds the clipped match count of each order n = 1..maxOrder to `out[outOffset + (n - 1) * outStride]`.
 * `seq[0..len)` holds symbol ids in [0, nSymbols) and -1 after each side (hypothesis first).
 */
export function addClippedMatches(
  seq: Int32Array,
  len: number,
  nSymbols: number,
  maxOrder: number,
  out: number[],
  outOffset = 0,
  outStride = 1,
): void {
  ensureSymbols(nSymbols);
  ensurePositions(len);
  if (stamp > 0x3fffffff) {
    mark.fill(0);
    stamp = 0;
  }
  let a = cur;
  let b = nxt;
  let aEnd = curEnd;
  let bEnd = nxtEnd;
  // Order 0: every position (but the separators) in one group.
  let count = 0;
  let side = 0;
  let refStart = -1; // first reference position
  for (let p = 0; p < len; p++) {
    sideOf[p] = side;
    if (seq[p] < 0) {
      side++;
      if (side === 1) refStart = p + 1;
    } else a[count++] = p;
  }
  // With one reference, a position's side is `p >= refStart` and a reference count needs no maximum.
  const single = side <= 2;
  let groups = 1;
  aEnd[0] = count;

  for (let n = 1; n <= maxOrder && groups > 0; n++) {
    const last = n === maxOrder;
    const shift = n - 1;
    let matches = 0;
    let nextCount = 0;
    let nextGroups = 0;
    let start = 0;
    for (let g = 0; g < groups; g++) {
      const end = aEnd[g];
      if (end - start >= 2 && a[start] < refStart) {
        // Small-group fast paths. Groups after order 1 hold hypothesis and reference positions; with
        // exactly one of either kind, the clipped count is 1 when any position of the other kind
        // continues with the same symbol, and the group goes on with those positions.
        if (a[start + 1] >= refStart) {
          // One hypothesis position (positions are ascending, the hypothesis comes first).
          const p = a[start];
          const ch = seq[p + shift];
          let o = nextCount + 1;
          if (ch >= 0)
            for (let k = start + 1; k < end; k++) {
              const q = a[k];
              if (seq[q + shift] === ch) b[o++] = q;
            }
          if (o > nextCount + 1) {
            matches++;
            if (!last) {
              b[nextCount] = p;
              nextCount = o;
              bEnd[nextGroups++] = o;
            }
          }
          start = end;
          continue;
        }
        if (a[end - 2] < refStart && a[end - 1] >= refStart) {
          // One reference position (the last).
          const q = a[end - 1];
          const ch = seq[q + shift];
          let o = nextCount;
          if (ch >= 0)
            for (let k = start; k < end - 1; k++) {
              const p = a[k];
              if (seq[p + shift] === ch) b[o++] = p;
            }
          if (o > nextCount) {
            matches++;
            if (!last) {
              b[o++] = q;
              nextCount = o;
              bEnd[nextGroups++] = o;
            }
          }
          start = end;
          continue;
        }
      }
      const tok = ++stamp;
      let nsym = 0;
      const groupsBefore = nextGroups;
      // Count, per next symbol, hypothesis positions and (max per reference) reference positions.
      if (single) {
        for (let k = start; k < end; k++) {
          const p = a[k];
          const ch = seq[p + shift];
          if (ch < 0) continue; // the n-gram would cross the end of its side
          if (mark[ch] !== tok) {
            mark[ch] = tok;
            hypCount[ch] = 0;
            refMax[ch] = 0;
            symbols[nsym++] = ch;
          }
          if (p < refStart) hypCount[ch]++;
          else refMax[ch]++;
        }
      } else {
        for (let k = start; k < end; k++) {
          const p = a[k];
          const ch = seq[p + shift];
          if (ch < 0) continue;
          if (mark[ch] !== tok) {
            mark[ch] = tok;
            hypCount[ch] = 0;
            total[ch] = 0;
            refMax[ch] = 0;
            lastSide[ch] = 0;
            symbols[nsym++] = ch;
          }
          total[ch]++;
          const s = sideOf[p];
          if (s === 0) hypCount[ch]++;
          else {
            // Positions are ascending and sides contiguous: one reference's positions come together.
            if (lastSide[ch] !== s) {
              lastSide[ch] = s;
              refCount[ch] = 0;
            }
            const c = ++refCount[ch];
            if (c > refMax[ch]) refMax[ch] = c;
          }
        }
      }
      for (let i = 0; i < nsym; i++) {
        const ch = symbols[i];
        const h = hypCount[ch];
        const r = refMax[ch];
        if (h > 0 && r > 0) {
          matches += Math.min(h, r);
          if (!last) {
            offset[ch] = nextCount;
            nextCount += single ? h + r : total[ch];
            bEnd[nextGroups++] = nextCount;
            continue;
          }
        }
        offset[ch] = -1;
      }
      if (nextGroups > groupsBefore) {
        // Stable scatter: each new group keeps its positions ascending.
        for (let k = start; k < end; k++) {
          const p = a[k];
          const ch = seq[p + shift];
          if (ch < 0) continue;
          const o = offset[ch];
          if (o >= 0) {
            b[o] = p;
            offset[ch] = o + 1;
          }
        }
      }
      start = end;
    }
    out[outOffset + (n - 1) * outStride] += matches;
    const t = a;
    a = b;
    b = t;
    const te = aEnd;
    aEnd = bEnd;
    bEnd = te;
    groups = last ? 0 : nextGroups;
  }
}

/** A copy of `a` with room for `size` values, keeping its first `keep`. */
export function grownInt32(a: Int32Array, size: number, keep: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a.subarray(0, keep));
  return b;
}

/** A growable Int32Array to assemble a hypothesis/references sequence for `addClippedMatches`. */
export class SymbolSeq {
  // Roomy from the start: growing inside a hot loop costs a deoptimization on first use.
  data = new Int32Array(8192);
  len = 0;

  clear(): void {
    this.len = 0;
  }

  push(id: number): void {
    if (this.len === this.data.length) this.reserve(1);
    this.data[this.len++] = id;
  }

  /** Makes room for `extra` more ids, so a caller can write `data[len++]` directly. */
  reserve(extra: number): void {
    if (this.len + extra <= this.data.length) return;
    let size = this.data.length;
    while (size < this.len + extra) size *= 2;
    this.data = grownInt32(this.data, size, this.len);
  }

  /** Ends the current side. */
  endSide(): void {
    this.push(-1);
  }
}

/**
 * Interns the tokens of one segment at a time: `reset()` forgets them in O(1), so ids stay small
 * (the per-symbol arrays of `addClippedMatches` stay in cache) and tables stay tiny. Keys are kept
 * as spans of the caller's strings, so no token is ever sliced out; those strings must stay unchanged
 * until the next `reset()`.
 */
export class SegmentInterner {
  private strs: string[] = [];
  private starts = new Int32Array(256);
  private lens = new Int32Array(256);
  private hashes = new Int32Array(256);
  private table = new Int32Array(512); // ids; a slot is empty unless its generation is current
  private tableGen = new Int32Array(512);
  private mask = 511;
  private readonly ascii = new Int32Array(128); // one-character ASCII tokens, valid when asciiGen matches
  private readonly asciiGen = new Int32Array(128);
  private gen = 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Forgets every token and makes room for `n` per segment, so that interning them grows no table. */
  reserve(n: number): void {
    this.reset(); // a fresh generation: the tables below can be replaced without placing any id again
    if (n > this.starts.length) {
      let size = this.starts.length;
      while (size < n) size *= 2;
      this.starts = new Int32Array(size);
      this.lens = new Int32Array(size);
      this.hashes = new Int32Array(size);
    }
    if (2 * n > this.mask) {
      let size = this.table.length;
      while (2 * n > size - 1) size *= 2;
      this.table = new Int32Array(size);
      this.tableGen = new Int32Array(size);
      this.mask = size - 1;
    }
  }

  /** Forgets every token. */
  reset(): void {
    this.count = 0;
    if (++this.gen === 0x7fffffff) {
      this.gen = 1;
      this.tableGen.fill(0);
      this.asciiGen.fill(0);
    }
  }

  /** The id of `s.slice(start, end)`. */
  id(s: string, start: number, end: number): number {
    return this.idHashed(s, start, end, end - start === 1 ? 0 : hashOf(s, start, end));
  }

  /** The id of `s.slice(start, end)` whose `hashOf` is `h` (any value for one character). */
  idHashed(s: string, start: number, end: number, h: number): number {
    const len = end - start;
    if (len === 1) {
      const c = s.charCodeAt(start);
      if (c < 128) {
        if (this.asciiGen[c] === this.gen) return this.ascii[c];
        const id = this.add(s, start, 1, 0);
        this.ascii[c] = id;
        this.asciiGen[c] = this.gen;
        return id;
      }
      h = hashOf(s, start, end);
    }
    const gen = this.gen;
    for (let i = (h ^ (h >>> 16)) & this.mask; ; i = (i + 1) & this.mask) {
      if (this.tableGen[i] !== gen) {
        const id = this.add(s, start, len, h);
        if (2 * this.count > this.mask) this.grow();
        else {
          this.tableGen[i] = gen;
          this.table[i] = id;
        }
        return id;
      }
      const id = this.table[i];
      if (this.hashes[id] !== h || this.lens[id] !== len) continue;
      const k = this.strs[id];
      const ks = this.starts[id];
      let j = 0;
      while (j < len && k.charCodeAt(ks + j) === s.charCodeAt(start + j)) j++;
      if (j === len) return id;
    }
  }

  private add(s: string, start: number, len: number, h: number): number {
    const id = this.count++;
    if (id === this.starts.length) {
      this.starts = grownInt32(this.starts, id * 2, id);
      this.lens = grownInt32(this.lens, id * 2, id);
      this.hashes = grownInt32(this.hashes, id * 2, id);
    }
    this.strs[id] = s;
    this.starts[id] = start;
    this.lens[id] = len;
    this.hashes[id] = h;
    return id;
  }

  /** Doubles the table and places every hashed id of this generation again (the newest included). */
  private grow(): void {
    const size = this.table.length * 2;
    this.table = new Int32Array(size);
    this.tableGen = new Int32Array(size);
    this.mask = size - 1;
    const gen = this.gen;
    for (let id = 0; id < this.count; id++) {
      if (this.lens[id] === 1 && this.strs[id].charCodeAt(this.starts[id]) < 128) continue; // ascii table
      let i = (this.hashes[id] ^ (this.hashes[id] >>> 16)) & this.mask;
      while (this.tableGen[i] === gen) i = (i + 1) & this.mask;
      this.tableGen[i] = gen;
      this.table[i] = id;
    }
  }
}

export const FNV_BASIS = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

/** FNV-1a over UTF-16 units. */
export function hashOf(s: string, start: number, end: number): number {
  let h = FNV_BASIS;
  for (let i = start; i < end; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}
