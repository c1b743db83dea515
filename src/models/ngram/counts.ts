/** Training counts of the n-gram model: the reversed context trie, n-gram counts and KN discounts. */
import { IntList } from "./tables.js";

/** Start-of-text symbol; only ever appears as the oldest symbol of a context. */
export const BOS = 256;

/**
 * Modified-KN discounts D1, D2, D3+ from the count-of-counts n1..n4 (Chen & Goodman), clamped so
 * that D(c) <= c (keeps every level normalized) and D > 0 (keeps every byte's probability > 0).
 */
export function estimateDiscounts(n1: number, n2: number, n3: number, n4: number): [number, number, number] {
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

/** Trie and n-gram counts produced by countContexts. */
export interface Counts {
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
export function countContexts(all: Uint8Array, since: Uint8Array, order: number): Counts {
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
export function sortSmall(a: Uint8Array, len: number): void {
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
