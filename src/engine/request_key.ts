import { createHash } from "node:crypto";
import type { Request } from "../models/types.js";

/**
 * Content address of a request for a given model: sha256 over the model identity and the request
 * (which carries its generation parameters and, for sampled requests, the sample index).
 */
export function requestKey(modelId: string, request: Request): string {
  const h = createHash("sha256");
  h.update(modelId);
  h.update("\u0000");
  switch (request.kind) {
    case "loglikelihood":
      h.update(`ll\u0000${request.context}\u0000${request.continuation}`);
      break;
    case "loglikelihood_rolling":
      h.update(`llr\u0000${request.text}`);
      break;
    case "generate_until": {
      const p = request.params;
      h.update(
        `gen\u0000${typeof request.prompt === "string" ? request.prompt : JSON.stringify(request.prompt)}`,
      );
      h.update(
        `\u0000${JSON.stringify([p.until, p.max_gen_toks, p.temperature, p.top_p ?? null, p.seed ?? null])}`,
      );
      if (request.sampleIndex !== undefined) h.update(`\u0000#${request.sampleIndex}`);
      break;
    }
  }
  return h.digest("base64url");
}
