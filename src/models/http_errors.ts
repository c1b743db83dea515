/** How HTTP providers classify failures that happen before a status code arrives. */
import { ProviderError } from "./types.js";

/** undici errors that mean a bug or a closed client, not a transient network problem. */
const NETWORK_NON_RETRYABLE = new Set(["UND_ERR_INVALID_ARG", "UND_ERR_DESTROYED", "UND_ERR_CLOSED"]);

/**
 * A ProviderError for a request that got no response: aborts and timeouts (the scheduler's signal) and
 * connection failures are retryable; client misuse is not. `provider` prefixes the message (`openai`).
 */
export function networkError(provider: string, url: string, e: unknown, signal: AbortSignal): ProviderError {
  if (signal.aborted) {
    const reason = signal.reason as { name?: string; message?: string } | undefined;
    const why =
      reason?.name === "TimeoutError"
        ? "timed out"
        : `aborted${reason?.message ? ` (${reason.message})` : ""}`;
    return new ProviderError(`${provider} ${url}: request ${why}`, { retryable: true });
  }
  const err = e as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = err?.code ?? err?.cause?.code;
  const detail = [code, err?.cause?.message ?? err?.message].filter(Boolean).join(": ");
  if (code !== undefined && NETWORK_NON_RETRYABLE.has(code))
    return new ProviderError(`${provider} ${url}: ${detail}`, { retryable: false });
  return new ProviderError(`${provider}: cannot reach ${url} (${detail || String(e)})`, { retryable: true });
}
