import type { Command } from "commander";
import { createProvider } from "../../models/registry.js";
import { startOpenAIServer } from "../../server/openai_server.js";
import { cacheDirFor, intOption, storeFrom, withStoreOption } from "../context.js";

export function register(program: Command): void {
  withStoreOption(
    program
      .command("serve-model")
      .description("serve a local model as an OpenAI-compatible server on loopback")
      .argument("<spec>", "model spec, e.g. ngram:corpus.txt or llamacpp:model.gguf")
      .option("--host <host>", "address to listen on", "127.0.0.1")
      .option("--port <port>", "port (0 picks a free one)", intOption("--port", 0), 8000)
      .option("--name <name>", "model name reported by /v1/models"),
  ).action(async (spec: string, opts: { host: string; port: number; name?: string; store?: string }) => {
    const store = storeFrom(opts);
    const cacheDir = cacheDirFor(store);
    await store.close();
    const provider = await createProvider(spec, { cacheDir });
    const server = await startOpenAIServer(provider, {
      host: opts.host,
      port: opts.port,
      modelName: opts.name,
    });
    process.stdout.write(`serving ${spec} at ${server.url}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await server.close();
    await provider.close?.();
  });
}
