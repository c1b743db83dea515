import type { CheckerModule } from "../types.js";

/** Golden checkers for ../shared/golden/models (see its README). */
export const module: CheckerModule = { checkers: {} };
