/**
 * `assay score --run <id>`: the outputs of a stored generation run as items to score, so a finished
 * run can be scored with metrics its task did not list (BERTScore, chrF++, ...) without re-running it.
 */
import type { Doc } from "../../data/dataset.js";
import type { RunRecord, Store } from "../../store/types.js";
import { generationReferences } from "../../tasks/output_types.js";
import { Task } from "../../tasks/task.js";
import { UserError } from "../../util/errors.js";
import { findRun, storedTask } from "../context.js";

/** One output to score against its references. */
export interface ScoreItem {
  id: string | number;
  prediction: string;
  references: string[];
}

export interface StoredRunItems {
  run: RunRecord;
  /** The filter whose first output is scored, once known (after the first item). */
  filter(): string | undefined;
  items: AsyncIterable<ScoreItem>;
}

/**
 * A stored run's samples as score items: each sample's output after `filter` (default: the task's
 * first filter, `none` without a filter_list), against the task's references for its doc.
 */
export async function storedRunItems(store: Store, id: string, filter?: string): Promise<StoredRunItems> {
  const run = await findRun(store, id);
  const task = new Task(storedTask(run));
  if (task.outputType !== "generate_until")
    throw new UserError(`run ${run.id} (${run.task}) is a ${task.outputType} run`, {
      field: "--run",
      expected: "a generate_until run, whose outputs are text",
    });
  let chosen = filter;
  async function* items(): AsyncIterable<ScoreItem> {
    for await (const s of store.iterateSamples(run.id)) {
      const filtered = s.filtered ?? {};
      chosen ??= Object.keys(filtered)[0];
      const outputs = chosen === undefined ? undefined : filtered[chosen];
      if (outputs === undefined)
        throw new UserError(`run ${run.id} has no filter '${chosen}' (sample ${s.docId})`, {
          field: "--filter",
          expected: `one of: ${Object.keys(filtered).join(", ") || "(none stored)"}`,
        });
      yield {
        id: s.docId,
        prediction: outputs[0] ?? "",
        references: generationReferences(task, s.doc as Doc),
      };
    }
  }
  return { run, filter: () => chosen, items: items() };
}
