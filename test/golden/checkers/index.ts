import type { CheckerModule } from "../types.js";
import { module as agreement } from "./agreement.js";
import { module as metrics } from "./metrics.js";
import { module as models } from "./models.js";
import { module as ranking } from "./ranking.js";
import { module as stats } from "./stats.js";

/** Every checker, keyed by case kind. Dispatch is by the case's content, not its folder or file name. */
export const allModules: CheckerModule[] = [metrics, stats, agreement, ranking, models];
