/**
 * A parser for the Python literals lm-eval passes to `ast.literal_eval` (lists, tuples, dicts,
 * strings, numbers, True/False/None). Throws on anything else, as literal_eval does.
 */
export function pyLiteralEval(src: string): unknown {
  let i = 0;
  const s = src;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const fail = (what: string): never => {
    throw new SyntaxError(`not a Python literal (${what} at offset ${i}): ${s.slice(0, 80)}`);
  };
  const parseString = (): string => {
    let prefixRaw = false;
    if (s[i] === "r" || s[i] === "R") {
      prefixRaw = true;
      i++;
    }
    const q = s[i];
    const triple = s.startsWith(q.repeat(3), i);
    const end = triple ? q.repeat(3) : q;
    i += end.length;
    let out = "";
    while (i < s.length && !s.startsWith(end, i)) {
      const c = s[i];
      if (c === "\\" && !prefixRaw) {
        const n = s[i + 1];
        const simple: Record<string, string> = {
          n: "\n",
          t: "\t",
          r: "\r",
          "\\": "\\",
          "'": "'",
          '"': '"',
          a: "\x07",
          b: "\b",
          f: "\f",
          v: "\v",
          "0": "\0",
          "\n": "",
        };
        if (n in simple) {
          out += simple[n];
          i += 2;
        } else if (n === "x" || n === "u" || n === "U") {
          const len = n === "x" ? 2 : n === "u" ? 4 : 8;
          out += String.fromCodePoint(Number.parseInt(s.slice(i + 2, i + 2 + len), 16));
          i += 2 + len;
        } else {
          out += c;
          i++;
        }
      } else {
        out += c;
        i++;
      }
    }
    if (i >= s.length) fail("unterminated string");
    i += end.length;
    return out;
  };
  const parseSeq = (close: string): unknown[] => {
    const items: unknown[] = [];
    i++;
    ws();
    while (s[i] !== close) {
      items.push(value());
      ws();
      if (s[i] === ",") {
        i++;
        ws();
      } else if (s[i] !== close) fail(`expected ',' or '${close}'`);
    }
    i++;
    return items;
  };
  const value = (): unknown => {
    ws();
    const c = s[i];
    if (c === "[") return parseSeq("]");
    if (c === "(") return parseSeq(")");
    if (c === "{") {
      const obj: Record<string, unknown> = {};
      i++;
      ws();
      while (s[i] !== "}") {
        const k = value();
        ws();
        if (s[i] !== ":") fail("expected ':'");
        i++;
        obj[String(k)] = value();
        ws();
        if (s[i] === ",") {
          i++;
          ws();
        } else if (s[i] !== "}") fail("expected ',' or '}'");
      }
      i++;
      return obj;
    }
    if (c === "'" || c === '"' || ((c === "r" || c === "R") && (s[i + 1] === "'" || s[i + 1] === '"'))) {
      let str = parseString();
      ws();
      // Adjacent string literals concatenate.
      while (s[i] === "'" || s[i] === '"') {
        str += parseString();
        ws();
      }
      return str;
    }
    const word = /^(True|False|None)\b/.exec(s.slice(i));
    if (word) {
      i += word[0].length;
      return word[0] === "True" ? true : word[0] === "False" ? false : null;
    }
    const num = /^[-+]?(\d[\d_]*\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?)/i.exec(s.slice(i));
    if (num) {
      i += num[0].length;
      return Number(num[0].replace(/_/g, ""));
    }
    return fail("unexpected token");
  };
  const v = value();
  ws();
  if (i !== s.length) fail("trailing characters");
  return v;
}
