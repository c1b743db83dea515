/**
 * A deterministic judge at the paid-API boundary: a scripted ModelProvider served over HTTP by assay's
 * own OpenAI-compatible server (or the loopback Messages API server), so the judge side runs the real
 * openai/anthropic providers, scheduler, cache, prompts, parsing, retries and position swapping.
 */
import type {
  ChatMessage,
  GenerationParams,
  ModelProvider,
  ProviderResult,
  Request,
} from "../../src/models/types.js";
import { ProviderError } from "../../src/models/types.js";
import { startOpenAIServer } from "../../src/server/openai_server.js";
import { type AnthropicServer, startAnthropicServer } from "../helpers/anthropic_server.js";

export interface JudgeCall {
  system: string;
  user: string;
  params: GenerationParams;
  sampleIndex?: number;
}

/** Returns the judgment text, or throws a ProviderError (e.g. a 429) to fail the request. */
export type JudgeScript = (call: JudgeCall, index: number) => string;

export interface JudgeServer {
  url: string;
  /** `openai:<name>@<url>` for the judge side. */
  spec: string;
  calls: JudgeCall[];
  close(): Promise<void>;
}

function scriptedProvider(script: JudgeScript, calls: JudgeCall[]): ModelProvider {
  return {
    id: "scripted-judge",
    spec: "scripted-judge",
    capabilities: new Set(["generate_until"]),
    async serve(request: Request): Promise<ProviderResult> {
      if (request.kind !== "generate_until") throw new ProviderError("generation only", { retryable: false });
      const msgs: ChatMessage[] =
        typeof request.prompt === "string" ? [{ role: "user", content: request.prompt }] : request.prompt;
      const call: JudgeCall = {
        system: msgs
          .filter((m) => m.role === "system")
          .map((m) => m.content)
          .join("\n"),
        user: msgs
          .filter((m) => m.role === "user")
          .map((m) => m.content)
          .join("\n"),
        params: request.params,
        ...(request.sampleIndex !== undefined ? { sampleIndex: request.sampleIndex } : {}),
      };
      const index = calls.length;
      calls.push(call);
      const text = script(call, index);
      return { response: { kind: "generate_until", text }, usage: { inputTokens: 10, outputTokens: 5 } };
    },
  };
}

/** OpenAI-compatible loopback judge named `name`. */
export async function startJudgeServer(script: JudgeScript, name = "judge"): Promise<JudgeServer> {
  const calls: JudgeCall[] = [];
  const server = await startOpenAIServer(scriptedProvider(script, calls), { modelName: name });
  return { url: server.url, spec: `openai:${name}@${server.url}`, calls, close: () => server.close() };
}

/** Anthropic-protocol loopback judge. */
export async function startAnthropicJudge(
  script: JudgeScript,
  name = "claude-judge",
): Promise<JudgeServer & { server: AnthropicServer }> {
  const calls: JudgeCall[] = [];
  const server = await startAnthropicServer({ provider: scriptedProvider(script, calls) });
  return {
    url: server.url,
    spec: `anthropic:${name}@${server.url}`,
    calls,
    server,
    close: () => server.close(),
  };
}

/** The two answers shown in a pairwise prompt (assay-pair-v1, FastChat pair-v2 and multi-turn formats). */
export function shownAnswers(user: string): { a: string; b: string } {
  const grab = (re: RegExp) => {
    const m = re.exec(user);
    if (!m) throw new Error(`answer not found in prompt:\n${user.slice(0, 400)}`);
    return m[1];
  };
  if (user.includes("[Answer A]"))
    return {
      a: grab(/\[Answer A\]\n([\s\S]*?)\n\[End of Answer A\]/),
      b: grab(/\[Answer B\]\n([\s\S]*?)\n\[End of Answer B\]/),
    };
  if (user.includes("<|The Start of Assistant A's Answer|>"))
    return {
      a: grab(/<\|The Start of Assistant A's Answer\|>\n([\s\S]*?)\n<\|The End of Assistant A's Answer\|>/),
      b: grab(/<\|The Start of Assistant B's Answer\|>\n([\s\S]*?)\n<\|The End of Assistant B's Answer\|>/),
    };
  if (user.includes("<|The Start of Assistant A's Conversation with User|>")) {
    // Multi-turn: the second assistant turn of each conversation.
    const a = grab(
      /### Assistant A:\n[\s\S]*?### Assistant A:\n([\s\S]*?)\n\n<\|The End of Assistant A's Conversation/,
    );
    const b = grab(
      /### Assistant B:\n[\s\S]*?### Assistant B:\n([\s\S]*?)\n\n<\|The End of Assistant B's Conversation/,
    );
    return { a, b };
  }
  return {
    a: grab(/\[The Start of Assistant A's Answer\]\n([\s\S]*?)\n\[The End of Assistant A's Answer\]/),
    b: grab(/\[The Start of Assistant B's Answer\]\n([\s\S]*?)\n\[The End of Assistant B's Answer\]/),
  };
}

/** The graded answer of a single-answer prompt (FastChat single-v1, single-math-v1 and multi-turn). */
export function gradedAnswer(user: string): string {
  const m =
    /\[The Start of Assistant's Answer\]\n([\s\S]*?)\n\[The End of Assistant's Answer\]/.exec(user) ??
    /### Assistant A:\n[\s\S]*?### Assistant A:\n([\s\S]*?)\n\n<\|The End of Assistant A's Conversation/.exec(
      user,
    ) ??
    /\[Answer\]\n([\s\S]*?)\n\[End of Answer\]/.exec(user);
  if (!m) throw new Error(`answer not found in prompt:\n${user.slice(0, 400)}`);
  return m[1];
}

export const retryLater = () =>
  new ProviderError("slow down", { retryable: true, status: 429, retryAfterMs: 1 });
