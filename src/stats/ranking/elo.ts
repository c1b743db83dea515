/** Online Elo exactly as Chatbot Arena's FastChat `compute_elo` (order-dependent). */
import type { Battle } from "./battles.js";

export interface EloOptions {
  /** Update step (default 4). */
  K?: number;
  /** Rating points per factor BASE in odds (default 400). */
  SCALE?: number;
  /** Odds base (default 10). */
  BASE?: number;
  /** Rating of a model on first appearance (default 1000). */
  INIT?: number;
}

/**
 * Processes battles strictly in order; both tie strings score ½. Returns `{model: rating}`
 * with models in order of first appearance.
 */
export function computeElo(battles: Iterable<Battle>, opts: EloOptions = {}): Record<string, number> {
  const elo = new OnlineElo(opts);
  for (const b of battles) elo.update(b);
  return elo.ratings();
}

/** Incremental form of computeElo, for streams of battles. */
export class OnlineElo {
  private readonly K: number;
  private readonly SCALE: number;
  private readonly BASE: number;
  private readonly INIT: number;
  private readonly index = new Map<string, number>();
  private readonly names: string[] = [];
  private r: number[] = [];

  constructor(opts: EloOptions = {}) {
    this.K = opts.K ?? 4;
    this.SCALE = opts.SCALE ?? 400;
    this.BASE = opts.BASE ?? 10;
    this.INIT = opts.INIT ?? 1000;
  }

  private id(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.index.set(name, i);
      this.names.push(name);
      this.r.push(this.INIT);
    }
    return i;
  }

  update(b: Battle): void {
    const ia = this.id(b.model_a);
    const ib = this.id(b.model_b);
    const ra = this.r[ia];
    const rb = this.r[ib];
    // Both expectations from the pre-update ratings, as in the pre-2024-09 FastChat loop.
    const ea = 1 / (1 + this.BASE ** ((rb - ra) / this.SCALE));
    const eb = 1 / (1 + this.BASE ** ((ra - rb) / this.SCALE));
    const sa = b.winner === "model_a" ? 1 : b.winner === "model_b" ? 0 : 0.5;
    this.r[ia] = ra + this.K * (sa - ea);
    this.r[ib] = rb + this.K * (1 - sa - eb);
  }

  ratings(): Record<string, number> {
    return Object.fromEntries(this.names.map((m, i) => [m, this.r[i]]));
  }
}
