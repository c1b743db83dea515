import type { Usage } from "./types.js";

/** USD per 1M tokens. */
export interface Price {
  input: number;
  output: number;
}

/** Prices by model name. A key also matches dated variants: `gpt-4o` prices `gpt-4o-2024-08-06`. */
export type PriceTable = Readonly<Record<string, Price>>;

/**
 * Small default table (OpenAI list prices, USD per 1M tokens, 2025). Prices change: override them in
 * config rather than trusting these for billing.
 */
export const DEFAULT_PRICES: PriceTable = {
  "gpt-4.1": { input: 2, output: 8 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4 },
  "gpt-4o": { input: 2.5, output: 10 },
  "gpt-4o-mini": { input: 0.15, output: 0.6 },
  "gpt-4-turbo": { input: 10, output: 30 },
  "gpt-4": { input: 30, output: 60 },
  "gpt-3.5-turbo": { input: 0.5, output: 1.5 },
  "gpt-3.5-turbo-instruct": { input: 1.5, output: 2 },
  o1: { input: 15, output: 60 },
  o3: { input: 2, output: 8 },
  "o3-mini": { input: 1.1, output: 4.4 },
  "o4-mini": { input: 1.1, output: 4.4 },
  "davinci-002": { input: 2, output: 2 },
  "babbage-002": { input: 0.4, output: 0.4 },
};

/** `override` wins; pass `null` for a model to drop it (so its cost becomes unknown). */
export function mergePrices(base: PriceTable, override?: Record<string, Price | null>): PriceTable {
  if (!override) return base;
  const out: Record<string, Price> = { ...base };
  for (const [name, price] of Object.entries(override)) {
    if (price === null) delete out[name];
    else out[name] = price;
  }
  return out;
}

/** The table's entry for `model`: exact name first, else the longest key that prefixes it at a `-`. */
export function findPrice(model: string, table: PriceTable = DEFAULT_PRICES): Price | undefined {
  if (Object.hasOwn(table, model)) return table[model];
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    // Dated or suffixed variants only: `gpt-4o-2024-08-06` → `gpt-4o`, but `gpt-4o` must not match `gpt-4`.
    if (model.startsWith(`${key}-`) && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : table[best];
}

/** Cost in USD of `usage` for `model`, or undefined when the table has no price for it (unknown, not free). */
export function priceFor(
  model: string,
  usage: Usage,
  table: PriceTable = DEFAULT_PRICES,
): number | undefined {
  const price = findPrice(model, table);
  if (!price) return undefined;
  return (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
}
