import type { CheckerModule } from "../types.js";

/** Golden checkers for ../shared/golden/metrics: ROUGE, NLTK BLEU, SQuAD (see its README). */
export const module: CheckerModule = { checkers: {} };
