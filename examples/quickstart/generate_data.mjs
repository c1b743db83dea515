#!/usr/bin/env node
/**
 * Generates the quickstart's data (no copied text): addition facts, a test split and two
 * training corpora — one with correct sums, one where every sum is off by 1–3.
 * An n-gram model trained on each gives two models with a real, measurable difference.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), "data");
mkdirSync(dir, { recursive: true });

// mulberry32: deterministic data on every machine.
let state = 20261122;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rand() * n);

const facts = [];
for (let a = 0; a < 40; a++) for (let b = 0; b < 40; b++) facts.push({ a, b, sum: a + b });
for (let i = facts.length - 1; i > 0; i--) {
  const j = int(i + 1);
  [facts[i], facts[j]] = [facts[j], facts[i]];
}

const wrong = (sum) => sum + (int(2) ? 1 : -1) * (1 + int(3));
// Compact enough that a byte 8-gram sees both operands when it predicts the sum.
const line = (f, sum) => `${f.a}+${f.b}= ${sum}`;

// Corpora: every fact appears in both; only the sums differ.
writeFileSync(path.join(dir, "corpus_correct.txt"), `${facts.map((f) => line(f, f.sum)).join("\n")}\n`);
writeFileSync(
  path.join(dir, "corpus_noisy.txt"),
  `${facts.map((f) => line(f, Math.max(0, wrong(f.sum)))).join("\n")}\n`,
);

const toDoc = (f) => {
  const options = new Set([f.sum]);
  while (options.size < 4) options.add(Math.max(0, f.sum + int(9) - 4));
  const choices = [...options].map(String);
  for (let i = choices.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [choices[i], choices[j]] = [choices[j], choices[i]];
  }
  return {
    question: `${f.a}+${f.b}=`,
    answer: String(f.sum),
    choices,
    label: choices.indexOf(String(f.sum)),
    sentence: line(f, f.sum),
  };
};
const jsonl = (docs) => `${docs.map((d) => JSON.stringify(d)).join("\n")}\n`;
writeFileSync(path.join(dir, "test.jsonl"), jsonl(facts.slice(0, 300).map(toDoc)));
writeFileSync(path.join(dir, "train.jsonl"), jsonl(facts.slice(300, 400).map(toDoc)));
console.log(`quickstart data written to ${dir}`);
