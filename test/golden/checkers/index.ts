import type { CheckerModule } from "../types.js";
import { module as agreement } from "./agreement.js";
import { module as metricsSacrebleu } from "./metrics_sacrebleu.js";
import { module as metricsText } from "./metrics_text.js";
import { module as models } from "./models.js";
import { module as ranking } from "./ranking.js";
import { module as stats } from "./stats.js";

/** Every checker, keyed by case kind. Dispatch is by the case's content, not its folder or file name. */
export const allModules: CheckerModule[] = [metricsSacrebleu, metricsText, stats, agreement, ranking, models];
