import type { CheckerModule } from "../types.js";

/** Golden checkers for ../shared/golden/stats (see its README). */
export const module: CheckerModule = { checkers: {} };
