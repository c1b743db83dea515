import type { CheckerModule } from "../types.js";

/** Golden checkers for ../shared/golden/metrics: BLEU, chrF, TER (see its README). */
export const module: CheckerModule = { checkers: {} };
