/**
 * Port of sacreBLEU 2.6.0 `lib_ter`: Tercom-style TER with greedy shifts and a beam-limited
 * edit distance. The beam and shift limits change results on long segments, so they are kept
 * exactly; words are mapped to integer ids, which preserves equality tests.
 */

const COST_INS = 1;
const COST_DEL = 1;
const COST_SUB = 1;

// Tercom-inspired limits (sacreBLEU `_MAX_SHIFT_SIZE`, `_MAX_SHIFT_DIST`, `_BEAM_WIDTH`).
export const TER_MAX_SHIFT_SIZE = 10;
export const TER_MAX_SHIFT_DIST = 50;
export const TER_BEAM_WIDTH = 25;
// sacreBLEU's own limit on shift candidates per segment.
export const TER_MAX_SHIFT_CANDIDATES = 1000;

// Cells outside the beam; any finite path beats it and INF + 1 never replaces it, as in Python.
const INF = 2 ** 30;

const OP_NOP = 0;
const OP_SUB = 1;
const OP_INS = 2;
const OP_DEL = 3;
const OP_UNDEF = 4;

/**
 * Beam-limited Levenshtein distance against a fixed reference (sacreBLEU BeamEditDistance).
 * Row i only fills columns [lo[i], hi[i]) around the length-scaled diagonal; other cells are INF.
 * Each stored row also holds INF in the extra columns the next row reads ([sLo[i], sHi[i])), so
 * the inner loop needs no bounds tests. sacreBLEU caches rows by hypothesis prefix; here the rows
 * of the hypothesis being shifted are kept, so a candidate recomputes only the rows after its
 * first changed word. Neither cache changes results.
 */
class BeamEditDistance {
  private readonly ref: Int32Array;
  private readonly nRef: number;
  private nH = -1;
  private lo = new Int32Array(0);
  private hi = new Int32Array(0);
  private sLo = new Int32Array(0);
  private sHi = new Int32Array(0);
  // Row i of the base hypothesis: column j at cost/op[off[i] + j] for j in [sLo[i], sHi[i]).
  private off = new Int32Array(0);
  private cost: Int32Array = new Int32Array(0);
  private op = new Uint8Array(0);
  private base: Int32Array = new Int32Array(0);
  // Rolling full-width rows for candidates.
  private readonly rowA: Int32Array;
  private readonly rowB: Int32Array;

  constructor(ref: Int32Array) {
    this.ref = ref;
    this.nRef = ref.length;
    this.rowA = new Int32Array(this.nRef + 1);
    this.rowB = new Int32Array(this.nRef + 1);
  }

  /** Sets up bands for hypotheses of length nH (shifts keep the length, so this runs once). */
  private setLength(nH: number): void {
    if (nH === this.nH) return;
    this.nH = nH;
    const nRef = this.nRef;
    const ratio = nH > 0 ? nRef / nH : 1;
    // Very different lengths could leave no overlap with the previous row.
    const beam = TER_BEAM_WIDTH < ratio / 2 ? Math.ceil(ratio / 2 + TER_BEAM_WIDTH) : TER_BEAM_WIDTH;
    const lo = (this.lo = new Int32Array(nH + 1));
    const hi = (this.hi = new Int32Array(nH + 1));
    hi[0] = nRef + 1;
    for (let i = 1; i <= nH; i++) {
      const diag = Math.floor(i * ratio);
      lo[i] = Math.max(0, diag - beam);
      hi[i] = i === nH ? nRef + 1 : Math.min(nRef + 1, diag + beam);
    }
    // Bands only move right, and never come out empty since diag <= nRef.
    const sLo = (this.sLo = new Int32Array(nH + 1));
    const sHi = (this.sHi = new Int32Array(nH + 1));
    const off = (this.off = new Int32Array(nH + 1));
    let total = 0;
    for (let i = 0; i <= nH; i++) {
      sLo[i] = i < nH ? Math.min(lo[i], Math.max(0, lo[i + 1] - 1)) : lo[i];
      sHi[i] = i < nH ? Math.max(hi[i], hi[i + 1]) : hi[i];
      off[i] = total - sLo[i];
      total += sHi[i] - sLo[i];
    }
    this.cost = new Int32Array(total);
    this.op = new Uint8Array(total);
    // The first row inserts every reference word.
    for (let j = 0; j <= nRef; j++) {
      this.cost[off[0] + j] = j * COST_INS;
      this.op[off[0] + j] = OP_INS;
    }
  }

  /**
   * Fills row i (hypothesis word `word`) into cArr at cOff + j from the previous row at pArr,
   * pOff + j, including its INF padding; ops go to cOps when given.
   */
  private fillRow(
    i: number,
    word: number,
    pArr: Int32Array,
    pOff: number,
    cArr: Int32Array,
    cOff: number,
    cOps: Uint8Array | null,
  ): void {
    const ref = this.ref;
    const lo = this.lo[i];
    const hi = this.hi[i];
    for (let j = this.sLo[i]; j < lo; j++) cArr[cOff + j] = INF;
    for (let j = hi; j < this.sHi[i]; j++) cArr[cOff + j] = INF;
    if (cOps) {
      for (let j = this.sLo[i]; j < lo; j++) cOps[cOff + j] = OP_UNDEF;
      for (let j = hi; j < this.sHi[i]; j++) cOps[cOff + j] = OP_UNDEF;
    }
    let j = lo;
    // Cell (i, j - 1), left of the band: INF.
    let left = INF;
    if (j === 0) {
      left = pArr[pOff] + COST_DEL;
      cArr[cOff] = left;
      if (cOps) cOps[cOff] = OP_DEL;
      j = 1;
    }
    let diagCost = pArr[pOff + j - 1];
    for (; j < hi; j++) {
      const upCost = pArr[pOff + j];
      // Preference on ties: no-op/substitution, then deletion, then insertion (sacreBLEU swaps
      // Tercom's insertion/deletion order because the trace is flipped afterwards).
      let best = INF;
      let bestOp = OP_UNDEF;
      const sub = ref[j - 1] === word ? 0 : COST_SUB;
      const c1 = diagCost + sub;
      if (best > c1) {
        best = c1;
        bestOp = sub === 0 ? OP_NOP : OP_SUB;
      }
      const c2 = upCost + COST_DEL;
      if (best > c2) {
        best = c2;
        bestOp = OP_DEL;
      }
      const c3 = left + COST_INS;
      if (best > c3) {
        best = c3;
        bestOp = OP_INS;
      }
      cArr[cOff + j] = best;
      if (cOps) cOps[cOff + j] = bestOp;
      left = best;
      diagCost = upCost;
    }
  }

  /** Distance of a new base hypothesis, keeping its rows; returns [distance, trace hyp → ref]. */
  distanceWithTrace(h: Int32Array): [number, Uint8Array] {
    const nH = h.length;
    this.setLength(nH);
    this.base = h;
    const { lo, hi, off, cost, op } = this;
    for (let i = 1; i <= nH; i++) this.fillRow(i, h[i - 1], cost, off[i - 1], cost, off[i], op);

    const trace: number[] = [];
    let i = nH;
    let j = this.nRef;
    while (i > 0 || j > 0) {
      const o = j >= lo[i] && j < hi[i] ? op[off[i] + j] : OP_UNDEF;
      trace.push(o);
      if (o === OP_SUB || o === OP_NOP) {
        i--;
        j--;
      } else if (o === OP_INS) j--;
      else if (o === OP_DEL) i--;
      else throw new Error(`TER: no edit operation at (${i}, ${j})`);
    }
    trace.reverse();
    // The last row always spans every column.
    return [cost[off[nH] + this.nRef], Uint8Array.from(trace)];
  }

  /** Distance of a candidate of the base's length, reusing base rows up to its first change. */
  distance(h: Int32Array): number {
    const nH = h.length;
    const base = this.base;
    let p = 0;
    while (p < nH && h[p] === base[p]) p++;
    const { off, cost } = this;
    if (p === nH) return cost[off[nH] + this.nRef];
    let pArr = cost;
    let pOff = off[p];
    let cArr = this.rowA;
    for (let i = p + 1; i <= nH; i++) {
      this.fillRow(i, h[i - 1], pArr, pOff, cArr, 0, null);
      pArr = cArr;
      pOff = 0;
      cArr = cArr === this.rowA ? this.rowB : this.rowA;
    }
    return pArr[this.nRef];
  }
}

/** Shifts `words[start, start+length)` so that it begins before position `target` (sacreBLEU `_perform_shift`). */
function performShift(words: Int32Array, start: number, length: number, target: number): Int32Array {
  const out = new Int32Array(words.length);
  let k = 0;
  const put = (from: number, to: number) => {
    for (let i = from; i < to; i++) out[k++] = words[i];
  };
  const n = words.length;
  const clamp = (x: number) => Math.min(Math.max(x, 0), n);
  if (target < start) {
    put(0, target);
    put(start, start + length);
    put(target, start);
    put(start + length, n);
  } else if (target > start + length) {
    put(0, start);
    put(start + length, target);
    put(start, start + length);
    put(target, n);
  } else {
    // Python slices clamp to the list bounds; keep that behaviour.
    put(0, start);
    put(start + length, clamp(length + target));
    put(start, start + length);
    put(clamp(length + target), n);
  }
  return out;
}

/** Flipped trace (reference → hypothesis) turned into alignment and error flags (sacreBLEU `trace_to_alignment`). */
function traceToAlignment(
  invTrace: Uint8Array,
  nH: number,
  nRef: number,
): { align: Int32Array; refErr: Uint8Array; hypErr: Uint8Array } {
  const align = new Int32Array(nRef).fill(-1);
  const refErr = new Uint8Array(nRef);
  const hypErr = new Uint8Array(nH);
  let posH = -1;
  let posR = -1;
  for (let t = 0; t < invTrace.length; t++) {
    // Insertions and deletions swap roles when the trace is flipped.
    const o = invTrace[t];
    if (o === OP_NOP || o === OP_SUB) {
      posH++;
      posR++;
      align[posR] = posH;
      const e = o === OP_SUB ? 1 : 0;
      hypErr[posH] = e;
      refErr[posR] = e;
    } else if (o === OP_DEL) {
      // flipped to insertion: consumes a hypothesis word
      posH++;
      hypErr[posH] = 1;
    } else if (o === OP_INS) {
      // flipped to deletion: consumes a reference word
      posR++;
      align[posR] = posH;
      refErr[posR] = 1;
    } else throw new Error(`TER: unknown edit operation ${o}`);
  }
  return { align, refErr, hypErr };
}

/**
 * The best shift of `h` toward `r` (sacreBLEU `_shift`).
 * Returns [gain, shifted words, candidates checked so far, edit distance of `h`].
 */
function findBestShift(
  h: Int32Array,
  r: Int32Array,
  ed: BeamEditDistance,
  checked: number,
): [number, Int32Array, number, number] {
  const nH = h.length;
  const nR = r.length;
  const [preScore, invTrace] = ed.distanceWithTrace(h);
  const { align, refErr, hypErr } = traceToAlignment(invTrace, nH, nR);

  let found = false;
  let bestGain = 0;
  let bestLen = 0;
  let bestStartH = 0;
  let bestIdx = 0;
  let bestWords = h;

  outer: for (let startH = 0; startH < nH; startH++) {
    for (let startR = 0; startR < nR; startR++) {
      if (Math.abs(startR - startH) > TER_MAX_SHIFT_DIST) continue;
      let length = 0;
      while (h[startH + length] === r[startR + length] && length < TER_MAX_SHIFT_SIZE) {
        length++;
        // One candidate per matching length (sacreBLEU `_find_shifted_pairs`).
        let hypWrong = false;
        for (let k = startH; k < startH + length; k++) if (hypErr[k]) hypWrong = true;
        let refWrong = false;
        for (let k = startR; k < startR + length; k++) if (refErr[k]) refWrong = true;
        // Shift only when the hypothesis is wrong there and the target position is wrong too,
        // and never within the subsequence itself.
        if (hypWrong && refWrong && !(startH <= align[startR] && align[startR] < startH + length)) {
          let prevIdx = -1;
          for (let offset = -1; offset < length; offset++) {
            let idx: number;
            if (startR + offset === -1) idx = 0;
            else if (startR + offset < nR) idx = align[startR + offset] + 1;
            else break;
            if (idx === prevIdx) continue;
            prevIdx = idx;
            const shifted = performShift(h, startH, length, idx);
            const gain = preScore - ed.distance(shifted);
            checked++;
            // Tercom ranking: highest gain, then longest, then earliest start, then earliest target.
            if (
              !found ||
              gain > bestGain ||
              (gain === bestGain &&
                (length > bestLen ||
                  (length === bestLen && (startH < bestStartH || (startH === bestStartH && idx < bestIdx)))))
            ) {
              found = true;
              bestGain = gain;
              bestLen = length;
              bestStartH = startH;
              bestIdx = idx;
              bestWords = shifted;
            }
          }
          if (checked >= TER_MAX_SHIFT_CANDIDATES) break outer;
        }
        if (nH === startH + length || nR === startR + length) break;
      }
    }
  }
  return found ? [bestGain, bestWords, checked, preScore] : [0, h, checked, preScore];
}

/** Maps words to integer ids shared by hypothesis and reference. */
function toIds(words: readonly string[], vocab: Map<string, number>): Int32Array {
  const out = new Int32Array(words.length);
  for (let i = 0; i < words.length; i++) {
    let id = vocab.get(words[i]);
    if (id === undefined) {
      id = vocab.size;
      vocab.set(words[i], id);
    }
    out[i] = id;
  }
  return out;
}

/** sacreBLEU `translation_edit_rate`: [number of edits (shifts + edit distance), reference length]. */
export function translationEditRate(
  wordsHyp: readonly string[],
  wordsRef: readonly string[],
): [number, number] {
  const nRef = wordsRef.length;
  // Empty reference: every hypothesis word is an edit.
  if (nRef === 0) return [wordsHyp.length, 0];
  const vocab = new Map<string, number>();
  const ref = toIds(wordsRef, vocab);
  let input = toIds(wordsHyp, vocab);
  const ed = new BeamEditDistance(ref);
  let shifts = 0;
  let checked = 0;
  let distance: number;
  for (;;) {
    const [delta, next, c, current] = findBestShift(input, ref, ed, checked);
    checked = c;
    distance = current;
    // Past the candidate limit the last found shift is discarded, as in sacreBLEU.
    if (checked >= TER_MAX_SHIFT_CANDIDATES) break;
    if (delta <= 0) break;
    shifts++;
    input = next;
  }
  // The loop stops on an unchanged input, whose distance the last search computed.
  return [shifts + distance, nRef];
}
