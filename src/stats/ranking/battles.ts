/**
 * Pairwise battles (Chatbot Arena format) and their aggregation into unique
 * (model_a, model_b, outcome) rows, the input of the Bradley–Terry fits.
 */
import { UserError, type Where } from "../../util/errors.js";

export type Winner = "model_a" | "model_b" | "tie" | "tie (bothbad)";

export interface Battle {
  model_a: string;
  model_b: string;
  winner: Winner;
}

export const WINNERS: readonly Winner[] = ["model_a", "model_b", "tie", "tie (bothbad)"];

/** Score of model_a: 1 win, 0 loss, 0.5 for both tie strings. */
export function scoreA(winner: Winner): number {
  return winner === "model_a" ? 1 : winner === "model_b" ? 0 : 0.5;
}

/** Validates one battle object; errors name the field (and file/line when given in `where`). */
export function parseBattle(value: unknown, where: Where = {}): Battle {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UserError("battle is not an object", { ...where, expected: "{model_a, model_b, winner}" });
  }
  const o = value as Record<string, unknown>;
  for (const f of ["model_a", "model_b"] as const) {
    const v = o[f];
    if (typeof v !== "string" || v.length === 0) {
      throw new UserError(v === undefined ? "missing field" : `invalid value ${JSON.stringify(v)}`, {
        ...where,
        field: f,
        expected: "a non-empty model name",
      });
    }
  }
  const w = o.winner;
  if (typeof w !== "string" || !(WINNERS as readonly string[]).includes(w)) {
    throw new UserError(w === undefined ? "missing field" : `invalid value ${JSON.stringify(w)}`, {
      ...where,
      field: "winner",
      expected: WINNERS.map((x) => `"${x}"`).join(" | "),
    });
  }
  if (o.model_a === o.model_b) {
    // A self-battle carries no information and would distort Elo counts.
    throw new UserError(`model_a and model_b are the same model '${o.model_a}'`, {
      ...where,
      field: "model_b",
    });
  }
  return { model_a: o.model_a as string, model_b: o.model_b as string, winner: w as Winner };
}

/** Validates a list of battles; `where.line` is not used, errors carry the array index in `field`. */
export function parseBattles(values: readonly unknown[], where: Where = {}): Battle[] {
  return values.map((v, i) => {
    try {
      return parseBattle(v, where);
    } catch (e) {
      if (e instanceof UserError) {
        throw new UserError(e.message, {
          ...e.where,
          field: `battles[${i}]${e.where.field ? `.${e.where.field}` : ""}`,
        });
      }
      throw e;
    }
  });
}

/** Code-unit order, the same as Python's sorted() for ASCII names. */
export function compareNames(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Unique weighted rows: model_a index, model_b index, y (score of model_a) and weight.
 * This is what Bradley–Terry sees; the order of battles is lost on purpose.
 */
export interface Matchups {
  models: string[];
  a: Int32Array;
  b: Int32Array;
  y: Float64Array;
  w: Float64Array;
}

/** Outcome code of a battle: 0 model_a won, 1 tie (either tie string), 2 model_b won. */
export type Outcome = 0 | 1 | 2;

/** Models up to which the counts live in a dense models² × 3 table (then a Map). */
const DENSE_MAX = 256;

/**
 * Accumulates battles into unique (model_a, model_b, outcome) counts, streaming-friendly
 * (the 1M-battle file is never held as objects). Models get integer ids in order of first
 * appearance; counts live in a dense id × id × outcome table while there are few models.
 */
export class BattleAggregator {
  private index = new Map<string, number>();
  private names: string[] = [];
  private cap = 0;
  private dense = new Float64Array(0);
  private seen = new Uint8Array(0);
  // Beyond DENSE_MAX models: key = (ia * 2^21 + ib) * 3 + outcome, value = count.
  private sparse: Map<number, number> | null = null;
  /** Number of battles added. */
  count = 0;

  /** The id of a model name, assigning the next one on first sight. */
  modelId(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      if (i >= 2 ** 21) throw new UserError("too many models (more than 2^21)");
      this.index.set(name, i);
      this.names.push(name);
      if (i >= this.cap && this.sparse === null) this.grow(i + 1);
    }
    return i;
  }

  /** Model names by id (order of first appearance). */
  modelNames(): readonly string[] {
    return this.names;
  }

  private grow(need: number): void {
    const old = this.cap;
    if (need > DENSE_MAX) {
      const sparse = new Map<number, number>();
      for (let i = 0; i < old; i++)
        for (let j = 0; j < old; j++)
          for (let o = 0; o < 3; o++) {
            const k = (i * old + j) * 3 + o;
            if (this.seen[k]) sparse.set((i * 2 ** 21 + j) * 3 + o, this.dense[k]);
          }
      this.sparse = sparse;
      this.dense = new Float64Array(0);
      this.seen = new Uint8Array(0);
      this.cap = 0;
      return;
    }
    let cap = Math.max(16, old);
    while (cap < need) cap *= 2;
    cap = Math.min(cap, DENSE_MAX);
    const dense = new Float64Array(cap * cap * 3);
    const seen = new Uint8Array(cap * cap * 3);
    for (let i = 0; i < old; i++) {
      dense.set(this.dense.subarray(i * old * 3, (i + 1) * old * 3), i * cap * 3);
      seen.set(this.seen.subarray(i * old * 3, (i + 1) * old * 3), i * cap * 3);
    }
    this.dense = dense;
    this.seen = seen;
    this.cap = cap;
  }

  /** Adds one battle by model ids (from modelId) and outcome code. */
  addIds(ia: number, ib: number, o: Outcome, weight = 1): void {
    if (this.sparse === null) {
      const k = (ia * this.cap + ib) * 3 + o;
      this.dense[k] += weight;
      this.seen[k] = 1;
    } else {
      const key = (ia * 2 ** 21 + ib) * 3 + o;
      this.sparse.set(key, (this.sparse.get(key) ?? 0) + weight);
    }
    this.count++;
  }

  add(b: Battle, weight = 1): void {
    const ia = this.modelId(b.model_a);
    const ib = this.modelId(b.model_b);
    this.addIds(ia, ib, b.winner === "model_a" ? 0 : b.winner === "model_b" ? 2 : 1, weight);
  }

  /** Unique rows over the sorted model list, sorted by (a, b, y) for reproducible sums. */
  matchups(): Matchups {
    const models = [...this.names].sort(compareNames);
    const remap = new Int32Array(this.names.length);
    models.forEach((m, i) => {
      remap[this.index.get(m)!] = i;
    });
    const rows: [number, number, number, number][] = [];
    const push = (ia: number, ib: number, o: number, w: number) => {
      rows.push([remap[ia], remap[ib], o === 0 ? 1 : o === 1 ? 0.5 : 0, w]);
    };
    if (this.sparse === null) {
      const n = this.names.length;
      const cap = this.cap;
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          for (let o = 0; o < 3; o++) {
            const k = (i * cap + j) * 3 + o;
            if (this.seen[k]) push(i, j, o, this.dense[k]);
          }
    } else {
      for (const [key, w] of this.sparse) {
        const o = key % 3;
        const pair = (key - o) / 3;
        const ib = pair % 2 ** 21;
        push((pair - ib) / 2 ** 21, ib, o, w);
      }
    }
    rows.sort((p, q) => p[0] - q[0] || p[1] - q[1] || q[2] - p[2]);
    const n = rows.length;
    const out: Matchups = {
      models,
      a: new Int32Array(n),
      b: new Int32Array(n),
      y: new Float64Array(n),
      w: new Float64Array(n),
    };
    rows.forEach(([a, b, y, w], k) => {
      out.a[k] = a;
      out.b[k] = b;
      out.y[k] = y;
      out.w[k] = w;
    });
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Fast JSONL reader

// Byte values.
const Ch = {
  Tab: 9,
  LF: 10,
  CR: 13,
  Space: 32,
  Quote: 34,
  Comma: 44,
  Colon: 58,
  Backslash: 92,
  LBrace: 123,
  RBrace: 125,
} as const;

const ASCII = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const MODEL_ = ASCII("model_");
const KEY_W = ASCII("winner");
const TIE_BOTHBAD = ASCII("tie (bothbad)");
// The layout JSON.stringify and json.dumps(separators=(",", ":")) write.
const CANON_A = ASCII('{"model_a":"');
const CANON_B = ASCII('","model_b":"');
const CANON_W = ASCII('","winner":"');
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

function bytesEqual(buf: Uint8Array, s: number, e: number, lit: Uint8Array): boolean {
  if (e - s !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[s + i] !== lit[i]) return false;
  return true;
}

export interface BattleReaderOptions {
  /** File name for errors. */
  file?: string;
  /** Called for every battle in file order (model ids from the aggregator, outcome code). */
  onBattle?: (ia: number, ib: number, o: Outcome) => void;
}

/**
 * Parses battle JSONL bytes (fed in chunks of any size) straight into a BattleAggregator. Lines
 * are split as readline does (\n, \r\n, lone \r) and blank lines skipped. The common shape —
 * one flat object of plain strings (no escapes) — is read by a byte scanner that interns model
 * names by their bytes; any other line (escapes, other value types, unknown winner, self-battle,
 * malformed JSON) goes through JSON.parse and parseBattle, so errors and results match
 * `readJsonl` + `parseBattle` exactly, with file:line and field.
 */
export class BattleJsonlReader {
  readonly aggregator: BattleAggregator;
  private readonly file: string | undefined;
  private readonly onBattle: BattleReaderOptions["onBattle"];
  private readonly utf8 = new TextDecoder();
  /** Lines consumed so far (the last line number seen). */
  line = 0;
  /** Bytes of the pending (unterminated) line, in pieces. */
  private carry: Uint8Array[] = [];
  // Byte-keyed intern table of model names: open addressing over (hash, pool offset, length, id).
  private slots = new Int32Array(256).fill(-1);
  private hashes = new Int32Array(64);
  private offsets = new Int32Array(64);
  private lengths = new Int32Array(64);
  private ids = new Int32Array(64);
  private entries = 0;
  private pool = new Uint8Array(4096);
  private poolUsed = 0;

  constructor(aggregator = new BattleAggregator(), opts: BattleReaderOptions = {}) {
    this.aggregator = aggregator;
    this.file = opts.file;
    this.onBattle = opts.onBattle;
  }

  /** Feeds the next chunk of bytes; lines may span chunks. */
  push(chunk: Uint8Array): void {
    // A plain Uint8Array view (not a Buffer subclass) keeps the scanner's element accesses monomorphic.
    if (Object.getPrototypeOf(chunk) !== Uint8Array.prototype)
      chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    if (this.carry.length > 0) {
      const nl = chunk.indexOf(Ch.LF);
      if (nl < 0) {
        this.carry.push(chunk.slice());
        return;
      }
      // Finish the pending line (a lone \r in it is split by the slow path, as readline does).
      this.carry.push(chunk.subarray(0, nl + 1));
      const joined = concat(this.carry);
      this.carry = [];
      this.scan(joined, 0, joined.length);
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(Ch.LF);
    if (last < start) {
      if (start < chunk.length) this.carry.push(chunk.slice(start));
      return;
    }
    this.scan(chunk, start, last + 1);
    if (last + 1 < chunk.length) this.carry.push(chunk.slice(last + 1));
  }

  /** Processes a final line without a newline. */
  end(): void {
    if (this.carry.length > 0) {
      const rest = concat(this.carry);
      this.carry = [];
      this.scan(rest, 0, rest.length);
    }
  }

  /** Lines [s, e) of buf; e is the buffer end or just after a \n. */
  private scan(buf: Uint8Array, s: number, e: number): void {
    const agg = this.aggregator;
    const onBattle = this.onBattle;
    let p = s;
    while (p < e) {
      const lineStart = p;
      this.line++;
      const next = this.canonical(buf, p, e);
      if (next >= 0) {
        p = next;
        continue;
      }
      // --- fast path: { "k": "v" (, "k": "v")* } with plain strings, any key order and spacing ---
      let aS = -1;
      let aE = -1;
      let aH = 0;
      let bS = -1;
      let bE = -1;
      let bH = 0;
      let win = -1;
      let ok = false;
      let c = buf[p];
      while ((c === Ch.Space || c === Ch.Tab) && p < e) c = buf[++p];
      if (p >= e || c === Ch.LF || (c === Ch.CR && p + 1 < e && buf[p + 1] === Ch.LF)) {
        // Blank line.
        p = p >= e ? e : c === Ch.LF ? p + 1 : p + 2;
        continue;
      }
      if (c === Ch.LBrace) {
        p++;
        for (;;) {
          c = buf[p];
          while ((c === Ch.Space || c === Ch.Tab) && p < e) c = buf[++p];
          if (c !== Ch.Quote || p >= e) break;
          const kS = ++p;
          c = buf[p];
          while (p < e && c !== Ch.Quote && c !== Ch.Backslash && c >= 0x20) c = buf[++p];
          if (c !== Ch.Quote || p >= e) break;
          const kE = p++;
          c = buf[p];
          while ((c === Ch.Space || c === Ch.Tab) && p < e) c = buf[++p];
          if (c !== Ch.Colon || p >= e) break;
          c = buf[++p];
          while ((c === Ch.Space || c === Ch.Tab) && p < e) c = buf[++p];
          if (c !== Ch.Quote || p >= e) break;
          const vS = ++p;
          let h = FNV_OFFSET;
          c = buf[p];
          while (p < e && c !== Ch.Quote && c !== Ch.Backslash && c >= 0x20) {
            h = Math.imul(h ^ c, FNV_PRIME);
            c = buf[++p];
          }
          if (c !== Ch.Quote || p >= e) break;
          const vE = p++;
          const kLen = kE - kS;
          if (kLen === 7 && buf[kS] === 109 /* m */ && bytesEqual(buf, kS, kE - 1, MODEL_)) {
            const last = buf[kE - 1];
            if (last === 97 /* a */) {
              aS = vS;
              aE = vE;
              aH = h;
            } else if (last === 98 /* b */) {
              bS = vS;
              bE = vE;
              bH = h;
            }
          } else if (kLen === 6 && bytesEqual(buf, kS, kE, KEY_W)) {
            win = winnerCode(buf, vS, vE);
          }
          c = buf[p];
          while ((c === Ch.Space || c === Ch.Tab) && p < e) c = buf[++p];
          if (p >= e) break;
          if (c === Ch.Comma) {
            p++;
            continue;
          }
          if (c !== Ch.RBrace) break;
          c = buf[++p];
          while ((c === Ch.Space || c === Ch.Tab) && p < e) c = buf[++p];
          if (p >= e) ok = true;
          else if (c === Ch.LF) {
            p++;
            ok = true;
          } else if (c === Ch.CR && p + 1 < e && buf[p + 1] === Ch.LF) {
            p += 2;
            ok = true;
          }
          break;
        }
      }
      if (ok && win >= 0 && aE > aS && bE > bS) {
        const ia = this.intern(buf, aS, aE, aH);
        const ib = this.intern(buf, bS, bE, bH);
        if (ia !== ib) {
          agg.addIds(ia, ib, win as Outcome);
          if (onBattle) onBattle(ia, ib, win as Outcome);
          continue;
        }
      }
      // --- slow path: the whole line through JSON.parse + parseBattle ---
      this.line--;
      let nl = buf.indexOf(Ch.LF, lineStart);
      if (nl < 0 || nl >= e) nl = e;
      let ce = nl;
      if (ce > lineStart && buf[ce - 1] === Ch.CR) ce--;
      this.slowLine(buf, lineStart, ce);
      p = nl < e ? nl + 1 : e;
    }
  }

  /**
   * The exact layout `{"model_a":"A","model_b":"B","winner":"W"}` + line end: adds the battle and
   * returns the next line's start, or −1 to let the general paths handle the line.
   */
  private canonical(buf: Uint8Array, p: number, e: number): number {
    for (let i = 0; i < 12; i++) if (buf[p + i] !== CANON_A[i]) return -1;
    p += 12;
    const aS = p;
    let aH = FNV_OFFSET;
    let c = buf[p];
    while (p < e && c !== Ch.Quote && c !== Ch.Backslash && c >= 0x20) {
      aH = Math.imul(aH ^ c, FNV_PRIME);
      c = buf[++p];
    }
    const aE = p;
    for (let i = 0; i < 13; i++) if (buf[p + i] !== CANON_B[i]) return -1;
    p += 13;
    const bS = p;
    let bH = FNV_OFFSET;
    c = buf[p];
    while (p < e && c !== Ch.Quote && c !== Ch.Backslash && c >= 0x20) {
      bH = Math.imul(bH ^ c, FNV_PRIME);
      c = buf[++p];
    }
    const bE = p;
    for (let i = 0; i < 12; i++) if (buf[p + i] !== CANON_W[i]) return -1;
    p += 12;
    const wS = p;
    c = buf[p];
    while (p < e && c !== Ch.Quote && c !== Ch.Backslash && c >= 0x20) c = buf[++p];
    const wE = p;
    if (p + 1 >= e || c !== Ch.Quote || buf[p + 1] !== Ch.RBrace) return -1;
    p += 2;
    if (p < e) {
      c = buf[p];
      if (c === Ch.LF) p++;
      else if (c === Ch.CR && p + 1 < e && buf[p + 1] === Ch.LF) p += 2;
      else return -1;
    }
    const win = winnerCode(buf, wS, wE);
    if (win < 0 || aE === aS || bE === bS) return -1;
    const ia = this.intern(buf, aS, aE, aH);
    const ib = this.intern(buf, bS, bE, bH);
    if (ia === ib) return -1;
    this.aggregator.addIds(ia, ib, win as Outcome);
    if (this.onBattle) this.onBattle(ia, ib, win as Outcome);
    return p;
  }

  /** One line without its terminator; lone \r split it further, as in readline. */
  private slowLine(buf: Uint8Array, s: number, e: number): void {
    let from = s;
    for (;;) {
      let cr = buf.indexOf(Ch.CR, from);
      if (cr < 0 || cr >= e) cr = e;
      this.line++;
      this.slowRecord(this.utf8.decode(buf.subarray(from, cr)));
      if (cr >= e) return;
      from = cr + 1;
    }
  }

  private slowRecord(text: string): void {
    if (!text.trim()) return;
    const where = { file: this.file, line: this.line };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new UserError(`malformed JSON: ${(err as Error).message}`, {
        ...where,
        expected: "one JSON object per line",
      });
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new UserError("line is not a JSON object", { ...where, expected: "one JSON object per line" });
    }
    const b = parseBattle(value, where);
    const agg = this.aggregator;
    const ia = agg.modelId(b.model_a);
    const ib = agg.modelId(b.model_b);
    const o: Outcome = b.winner === "model_a" ? 0 : b.winner === "model_b" ? 2 : 1;
    agg.addIds(ia, ib, o);
    if (this.onBattle) this.onBattle(ia, ib, o);
  }

  /** Model id of the name bytes [s, e) with FNV-1a hash h. */
  private intern(buf: Uint8Array, s: number, e: number, h: number): number {
    const len = e - s;
    const slots = this.slots;
    const mask = slots.length - 1;
    let slot = h & mask;
    for (;;) {
      const k = slots[slot];
      if (k < 0) return this.internNew(buf, s, e, h, slot);
      if (this.hashes[k] === h && this.lengths[k] === len) {
        const off = this.offsets[k] - s;
        const pool = this.pool;
        let i = s;
        while (i < e && pool[off + i] === buf[i]) i++;
        if (i === e) return this.ids[k];
      }
      slot = (slot + 1) & mask;
    }
  }

  private internNew(buf: Uint8Array, s: number, e: number, h: number, slot: number): number {
    const len = e - s;
    // New byte string: decode it like JSON.parse would see it and take the aggregator's id.
    const id = this.aggregator.modelId(this.utf8.decode(buf.subarray(s, e)));
    const k = this.entries++;
    if (k >= this.ids.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.hashes = grow(this.hashes);
      this.offsets = grow(this.offsets);
      this.lengths = grow(this.lengths);
      this.ids = grow(this.ids);
    }
    if (this.poolUsed + len > this.pool.length) {
      const pool = new Uint8Array(Math.max(this.pool.length * 2, this.poolUsed + len));
      pool.set(this.pool.subarray(0, this.poolUsed));
      this.pool = pool;
    }
    this.pool.set(buf.subarray(s, e), this.poolUsed);
    this.hashes[k] = h;
    this.offsets[k] = this.poolUsed;
    this.lengths[k] = len;
    this.ids[k] = id;
    this.poolUsed += len;
    if (this.entries * 2 > this.slots.length) this.rehash();
    else this.slots[slot] = k;
    return id;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 4).fill(-1);
    const mask = slots.length - 1;
    for (let k = 0; k < this.entries; k++) {
      let slot = this.hashes[k] & mask;
      while (slots[slot] >= 0) slot = (slot + 1) & mask;
      slots[slot] = k;
    }
    this.slots = slots;
  }
}

function winnerCode(buf: Uint8Array, s: number, e: number): number {
  const len = e - s;
  if (len === 7) {
    if (bytesEqual(buf, s, e - 1, MODEL_)) {
      const last = buf[e - 1];
      return last === 97 ? 0 : last === 98 ? 2 : -1;
    }
    return -1;
  }
  if (len === 3) return buf[s] === 116 && buf[s + 1] === 105 && buf[s + 2] === 101 ? 1 : -1;
  if (len === 13) return bytesEqual(buf, s, e, TIE_BOTHBAD) ? 1 : -1;
  return -1;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const x of parts) n += x.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const x of parts) {
    out.set(x, n);
    n += x.length;
  }
  return out;
}

/** Aggregates battles into unique rows with count weights. */
export function aggregateBattles(battles: Iterable<Battle>): Matchups {
  const agg = new BattleAggregator();
  for (const b of battles) agg.add(b);
  return agg.matchups();
}

/**
 * Builds matchups from explicit rows `[i, j, y, w]` (indices into `models`), as in one bootstrap
 * replicate. Validates indices, y ∈ [0, 1] and w ≥ 0.
 */
export function matchupsFromRows(models: string[], rows: readonly (readonly number[])[]): Matchups {
  const n = rows.length;
  const out: Matchups = {
    models: [...models],
    a: new Int32Array(n),
    b: new Int32Array(n),
    y: new Float64Array(n),
    w: new Float64Array(n),
  };
  rows.forEach((r, k) => {
    const [i, j, y, w] = r;
    const ok =
      r.length === 4 &&
      Number.isInteger(i) &&
      Number.isInteger(j) &&
      i >= 0 &&
      j >= 0 &&
      i < models.length &&
      j < models.length &&
      i !== j &&
      y >= 0 &&
      y <= 1 &&
      w >= 0 &&
      Number.isFinite(w);
    if (!ok) {
      throw new UserError(`invalid matchup row ${JSON.stringify(r)}`, {
        field: `matchups[${k}]`,
        expected: "[i, j, y, w] with distinct model indices, 0 <= y <= 1, finite w >= 0",
      });
    }
    out.a[k] = i;
    out.b[k] = j;
    out.y[k] = y;
    out.w[k] = w;
  });
  return out;
}
