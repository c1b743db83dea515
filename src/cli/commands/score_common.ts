/** What `assay score`'s modes share: shape checks of JSON values and back-pressured writes. */
import type { WriteStream } from "node:fs";
import type { Options } from "../../metrics/registry_text.js";

export const isObject = (v: unknown): v is Options =>
  v !== null && typeof v === "object" && !Array.isArray(v);
export const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string");

/** Writes `text`, waiting for the stream to drain when its buffer is full. */
export function writeText(out: WriteStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.write(text)) resolve();
    else out.once("drain", resolve).once("error", reject);
  });
}
