/** Model specs (`ngram:...`, `openai:...`, `llamacpp:...`) → providers. */
import path from "node:path";
import { didYouMean, UserError } from "../util/errors.js";
import type { ModelProvider } from "./types.js";

export interface ProviderContext {
  /** Where providers may cache trained or downloaded artifacts (default `.assay/cache`). */
  cacheDir: string;
}

type Factory = (spec: string, ctx: ProviderContext) => Promise<ModelProvider>;

// Providers load lazily so that optional dependencies (node-llama-cpp) are only needed when used.
const FACTORIES: Record<string, Factory> = {
  ngram: async (spec, ctx) =>
    (await import("./ngram/spec.js")).createNgramProvider(spec, {
      cacheDir: path.join(ctx.cacheDir, "ngram"),
    }),
  openai: async (spec) => (await import("./openai.js")).createOpenAIProvider(spec),
  anthropic: async (spec) => (await import("./anthropic.js")).createAnthropicProvider(spec),
  llamacpp: async (spec) => (await import("./llamacpp/provider.js")).createLlamaCppProvider(spec),
  replay: async (spec) => (await import("./replay.js")).createReplayProvider(spec),
};

export const PROVIDER_KINDS = Object.keys(FACTORIES);

export async function createProvider(spec: string, ctx: ProviderContext): Promise<ModelProvider> {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const factory = FACTORIES[kind];
  if (!(kind in FACTORIES) || colon < 0)
    throw new UserError(`unknown model spec '${spec}'`, {
      field: "--model",
      expected:
        "ngram:<text files>, openai:<model>[@<base url>], anthropic:<model>, llamacpp:<file.gguf> or replay:<outputs.jsonl>",
      hint: kind in FACTORIES ? "" : didYouMean(kind, PROVIDER_KINDS),
    });
  return factory(spec, ctx);
}
