/** `assay judge pairs`: pairwise grading of answer pairs from a JSONL file, with bias diagnostics. */
import { readJsonlAll } from "../../../data/jsonl.js";
import { type PairwiseDiagnostics, pairwiseDiagnostics } from "../../../judges/bias.js";
import { fastchatPairRecord } from "../../../judges/mtbench_summary.js";
import {
  type PairItem,
  type PairJudgment,
  PairwiseJudge,
  type TieRule,
  winRates,
} from "../../../judges/pairwise.js";
import { panelVerdicts } from "../../../judges/panel.js";
import { UserError } from "../../../util/errors.js";
import { printJson } from "../../context.js";
import {
  type CommonOptions,
  checkFields,
  diagnosticsText,
  finish,
  humanVotes,
  jsonl,
  loadPrompt,
  num,
  requireJudges,
  stringFields,
  winRows,
  withModels,
  writeOutputs,
} from "./shared.js";

export interface PairsOptions extends CommonOptions {
  prompt: string;
  judgePrompts?: string;
  tieRule: TieRule;
  orders: string;
}

export async function pairs(file: string, opts: PairsOptions): Promise<void> {
  const judges = requireJudges(opts);
  const prompt = await loadPrompt(opts.prompt, opts.judgePrompts);
  if (opts.orders !== "1" && opts.orders !== "2")
    throw new UserError(`invalid value '${opts.orders}'`, { field: "--orders", expected: "1 or 2" });
  const items: PairItem[] = [];
  const ids = new Set<string>();
  for (const { line, value } of await readJsonlAll(file)) {
    const where = { file, line };
    const vars = stringFields(value, where, ["question", "answer_1", "answer_2"]);
    const id = value.id === undefined ? String(line) : String(value.id);
    if (ids.has(id))
      throw new UserError(`duplicate id '${id}'`, { ...where, field: "id", expected: "unique ids" });
    ids.add(id);
    const { answer_1, answer_2, model_1, model_2, category, ...shared } = vars;
    checkFields(prompt, shared, where, ["answer_a", "answer_b"]);
    const human = humanVotes(value.human, where);
    items.push({
      id,
      model1: model_1 ?? "model_1",
      model2: model_2 ?? "model_2",
      shared,
      answer1: { "": answer_1 },
      answer2: { "": answer_2 },
      ...(category !== undefined ? { category } : {}),
      ...(human ? { human } : {}),
    });
  }
  if (items.length === 0) throw new UserError("no pairs", { file, expected: "one JSON object per line" });
  await withModels(opts, async (models) => {
    const results: Array<{ judge: string; judgments: PairJudgment[]; diagnostics: PairwiseDiagnostics }> = [];
    for (const spec of judges) {
      const client = await models.judge(spec);
      const judge = new PairwiseJudge(client, prompt, {
        tieRule: opts.tieRule,
        orders: Number(opts.orders) as 1 | 2,
      });
      const judgments = await Promise.all(items.map((it) => judge.judge(it)));
      results.push({ judge: spec, judgments, diagnostics: pairwiseDiagnostics(judgments, spec) });
    }
    const panel =
      judges.length > 1
        ? panelVerdicts(
            judges,
            results.map((r) => r.judgments.map((j) => j.verdict)),
          )
        : undefined;
    const summary = {
      file,
      prompt: prompt.name,
      tieRule: opts.tieRule,
      judges: results.map((r) => ({
        judge: r.judge,
        winRates: winRates(r.judgments),
        diagnostics: r.diagnostics,
      })),
      ...(panel ? { panel: { ...panel.disagreement, verdicts: panel.items.map((i) => i.verdict) } } : {}),
    };
    if (opts.outputDir)
      writeOutputs(opts.outputDir, {
        "judgments.jsonl": jsonl(
          results.flatMap((r) => r.judgments.map((j) => ({ id: j.id, ...fastchatPairRecord(j, r.judge) }))),
        ),
        "summary.json": `${JSON.stringify(summary, null, 2)}\n`,
      });
    if (opts.json) printJson(summary);
    else {
      const out: string[] = [];
      for (const r of results) {
        out.push(`judge ${r.judge}, prompt ${prompt.name}, tie rule ${opts.tieRule}, ${items.length} pairs`);
        out.push(...winRows(winRates(r.judgments)), ...diagnosticsText(r.diagnostics), "");
      }
      if (panel)
        out.push(
          `panel: judges disagree on ${panel.disagreement.itemsDisagreeing} of ${panel.disagreement.itemsCompared} pairs; Fleiss' kappa ${num(panel.disagreement.fleissKappa)}`,
        );
      process.stdout.write(`${out.join("\n").trimEnd()}\n`);
    }
    const failed = results.reduce((a, r) => a + r.diagnostics.parse.failed, 0);
    const total = results.reduce((a, r) => a + r.diagnostics.parse.judgments, 0);
    finish(failed, total);
  });
}
