/** Hash tables and growable lists for the n-gram model's training counts (lighter than JS Maps and arrays). */
/** 32-bit mix of two integers for the open-addressing tables. */
export function hashPair(a: number, b: number): number {
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
export class PairTable {
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
export class IntList {
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
