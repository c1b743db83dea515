import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readJsonlAll } from "../../src/data/jsonl.js";
import { UserError } from "../../src/util/errors.js";

const dir = mkdtempSync(path.join(tmpdir(), "assay-jsonl-"));
const file = (name: string, data: string | Buffer) => {
  const p = path.join(dir, name);
  writeFileSync(p, data);
  return p;
};
const failure = async (p: string): Promise<string> => {
  try {
    await readJsonlAll(p);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as UserError).format();
  }
  throw new Error("expected an error");
};

describe("JSONL reader", () => {
  it("reads plain and gzip files, skipping blank lines, with line numbers", async () => {
    const text = '{"a":1}\n\n{"a":2}\r\n';
    expect(await readJsonlAll(file("a.jsonl", text))).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 3, value: { a: 2 } },
    ]);
    expect((await readJsonlAll(file("a.jsonl.gz", gzipSync(text)))).map((r) => r.value)).toEqual([
      { a: 1 },
      { a: 2 },
    ]);
  });

  it("names the file and line of every kind of failure", async () => {
    expect(await failure(file("bad.jsonl", '{"a":1}\n{"a":\n'))).toMatch(/bad\.jsonl:2: malformed JSON/);
    expect(await failure(file("arr.jsonl", "[1,2]\n"))).toContain("arr.jsonl:1: line is not a JSON object");
    expect(await failure(file("bad.jsonl.gz", "not gzip"))).toContain("bad.jsonl.gz:1: cannot read file");
    expect(await failure(path.join(dir, "missing.jsonl"))).toContain(
      "missing.jsonl: cannot read file: ENOENT",
    );
  });
});
