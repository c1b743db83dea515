/** Hugging Face `evaluate` exact_match, as lm-evaluation-harness uses it. */
import { pythonRegex } from "../tasks/jinja.js";

export interface ExactMatchOptions {
  ignore_case?: boolean;
  ignore_punctuation?: boolean;
  ignore_numbers?: boolean;
  regexes_to_ignore?: string[];
}

const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

function normalize(s: string, o: ExactMatchOptions, regexes: RegExp[]): string {
  for (const re of regexes) s = s.replace(re, "");
  if (o.ignore_case) s = s.toLowerCase();
  if (o.ignore_punctuation) s = s.replace(PUNCT, "");
  if (o.ignore_numbers) s = s.replace(/[0-9]/g, "");
  return s;
}

/** Returns a scorer: 1 when the normalized prediction equals any normalized reference. */
export function exactMatchScorer(
  o: ExactMatchOptions = {},
): (prediction: string, references: string[]) => number {
  const regexes = (o.regexes_to_ignore ?? []).map((r) => pythonRegex(r, "g"));
  return (prediction, references) => {
    const p = normalize(prediction, o, regexes);
    return references.some((r) => normalize(r, o, regexes) === p) ? 1 : 0;
  };
}
