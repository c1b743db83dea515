/**
 * Jinja templates as lm-evaluation-harness renders them: jinja2 with StrictUndefined,
 * keep_trailing_newline=True, no block trimming, plus the `regex_replace` filter and the
 * Python list methods lm-eval task templates use (`.index`, `.count`).
 */
import { Environment, Interpreter, parse, tokenize } from "@huggingface/jinja";
import { UserError } from "../util/errors.js";

type Program = ReturnType<typeof parse>;
type Node = { type: string; [k: string]: any };

// The runtime value classes are not exported; reach them through values the environment creates.
const probeEnv = new Environment();
const ArrayValueProto = Object.getPrototypeOf(probeEnv.set("a", []));
const StringValueClass = probeEnv.set("s", "").constructor as new (v: string) => any;

const baseBuiltins = Object.getOwnPropertyDescriptor(ArrayValueProto, "builtins")!.get!;
Object.defineProperty(ArrayValueProto, "builtins", {
  get() {
    const map: Map<string, unknown> = baseBuiltins.call(this);
    if (!map.has("index")) {
      const items = (this as { value: Array<{ value: unknown }> }).value;
      const env = new Environment();
      map.set(
        "index",
        env.set("f", (x: unknown) => {
          const i = items.findIndex((v) => v.value === x);
          if (i < 0) throw new Error(`${JSON.stringify(x)} is not in list`);
          return i;
        }),
      );
      map.set(
        "count",
        env.set("g", (x: unknown) => items.filter((v) => v.value === x).length),
      );
    }
    return map;
  },
});

/**
 * Python accepts escapes of any punctuation (`\,`, `\-`, `\#`); JS's unicode mode only those of syntax
 * characters (and `\-` in a class). The others become the plain character.
 */
function unescapeIdentity(p: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "\\" && i + 1 < p.length) {
      const n = p[i + 1];
      i++;
      if (/[A-Za-z0-9]/.test(n) || "^$\\.*+?()[]{}|/".includes(n) || (n === "-" && inClass)) out += c + n;
      else out += n;
      continue;
    }
    if (c === "[" && !inClass) inClass = true;
    else if (c === "]" && inClass) inClass = false;
    out += c;
  }
  return out;
}

/** Converts a Python `re` pattern to a JS RegExp for the common subset lm-eval tasks use. */
export function pythonRegex(pattern: string, flags = ""): RegExp {
  let p = pattern;
  let f = flags;
  const inline = /^\(\?([aiLmsux]+)\)/.exec(p);
  if (inline) {
    p = p.slice(inline[0].length);
    for (const ch of inline[1]) if ("ims".includes(ch) && !f.includes(ch)) f += ch;
  }
  p = unescapeIdentity(p)
    .replace(/\(\?P<(\w+)>/g, "(?<$1>")
    .replace(/\(\?P=(\w+)\)/g, "\\k<$1>")
    .replace(/\\Z/g, "$(?![\\s\\S])");
  return new RegExp(p, f.includes("u") ? f : `${f}u`);
}

// The published typings lack the Interpreter's methods; type the base loosely.
const InterpreterBase = Interpreter as unknown as new (
  env: Environment,
) => { run(p: Program): { value: unknown } };

class LmEvalInterpreter extends InterpreterBase {
  applyFilter(operand: any, filterNode: any, environment: Environment): any {
    if (filterNode.type === "CallExpression" && filterNode.callee?.value === "regex_replace") {
      const args = filterNode.args.map((a: any) => (this as any).evaluate(a, environment).value);
      const [pattern, replacement] = args as [string, string];
      return new StringValueClass(
        String(operand.value).replace(pythonRegex(pattern, "g"), replacement.replace(/\\(\d)/g, "$$$1")),
      );
    }
    return (Interpreter.prototype as any).applyFilter.call(this, operand, filterNode, environment);
  }
}

const GLOBALS = new Set(["true", "false", "none", "True", "False", "None", "range", "loop", "namespace"]);

/** Top-level names a template reads from its context (loop and `set` variables excluded). */
export function templateVariables(program: Program): Set<string> {
  const found = new Set<string>();
  // Names read only inside a conditional branch are not required (jinja2 reads them only when taken).
  let conditional = 0;
  const branch = (nodes: unknown[], locals: Set<string>) => {
    conditional++;
    for (const n of nodes) walk(n, locals);
    conditional--;
  };
  const walk = (node: unknown, locals: Set<string>): void => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const n of node) walk(n, locals);
      return;
    }
    const n = node as Node;
    switch (n.type) {
      case "Identifier":
        if (!conditional && !locals.has(n.value) && !GLOBALS.has(n.value)) found.add(n.value);
        return;
      case "Ternary":
        walk(n.condition, locals);
        branch([n.trueExpr, n.falseExpr], locals);
        return;
      case "If":
        walk(n.test, locals);
        branch([n.body, n.alternate], locals);
        return;
      case "MemberExpression":
        walk(n.object, locals);
        if (n.computed) walk(n.property, locals);
        return;
      case "FilterExpression":
        walk(n.operand, locals);
        if (n.filter?.type === "CallExpression") walk(n.filter.args, locals);
        return;
      case "TestExpression":
        if (n.test?.value !== "defined" && n.test?.value !== "undefined") walk(n.operand, locals);
        return;
      case "KeywordArgumentExpression":
        walk(n.value, locals);
        return;
      case "For": {
        walk(n.iterable, locals);
        const inner = new Set(locals);
        const vars = n.loopvar.type === "Identifier" ? [n.loopvar] : n.loopvar.value;
        for (const v of vars) inner.add(v.value);
        walk(n.body, inner);
        walk(n.defaultBlock, locals);
        return;
      }
      case "Set": // @huggingface/jinja's node type for {% set %}
      case "SetStatement":
        if (n.assignee?.type === "Identifier") locals.add(n.assignee.value);
        walk(n.value, locals);
        walk(n.body, locals);
        return;
      case "Macro":
        locals.add(n.name.value);
        return;
      default:
        for (const [k, v] of Object.entries(n)) if (k !== "type") walk(v, locals);
    }
  };
  walk(program.body, new Set());
  return found;
}

/** A compiled template; `render` throws a UserError when the doc lacks a field the template uses. */
export interface CompiledTemplate {
  source: string;
  variables: Set<string>;
  render(doc: Record<string, unknown>): string;
}

const cache = new Map<string, CompiledTemplate>();

/** Compiles (and caches) a Jinja template. `where` locates it for error messages. */
export function compileTemplate(
  source: string,
  where: { file?: string; field?: string } = {},
): CompiledTemplate {
  const hit = cache.get(source);
  if (hit) return hit;
  let program: Program;
  try {
    // A sentinel keeps the trailing newline that the tokenizer would otherwise drop.
    program = parse(tokenize(`${source}\u0000`, { lstrip_blocks: false, trim_blocks: false }));
  } catch (e) {
    throw new UserError(`invalid Jinja template: ${(e as Error).message}`, {
      ...where,
      expected: "a Jinja template",
    });
  }
  const variables = templateVariables(program);
  const compiled: CompiledTemplate = {
    source,
    variables,
    render(doc) {
      for (const v of variables) {
        if (!(v in doc)) {
          throw new UserError(`template references missing field '${v}'`, {
            ...where,
            expected: `one of the document's fields: ${Object.keys(doc).join(", ")}`,
          });
        }
      }
      const env = new Environment();
      for (const [k, v] of [
        ["true", true],
        ["false", false],
        ["none", null],
        ["True", true],
        ["False", false],
        ["None", null],
      ] as const)
        env.set(k, v);
      for (const [k, v] of Object.entries(doc)) env.set(k, v);
      let out: string;
      try {
        out = new LmEvalInterpreter(env).run(program).value as string;
      } catch (e) {
        throw new UserError(`template failed: ${(e as Error).message}`, where);
      }
      return out.endsWith("\u0000") ? out.slice(0, -1) : out;
    },
  };
  cache.set(source, compiled);
  return compiled;
}
