import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DataError } from '../errors.ts';
import type { Plan } from '../grid/types.ts';

/**
 * Refuses a plan whose runs name a `data.root` folder that is not there, before any backend or
 * worker starts: otherwise every run of the grid fails in its worker, one after the other (exit 1,
 * several lines each). Relative roots resolve from `cwd`, as the workers resolve them. Trains
 * nothing and never imports tfjs.
 */
export function checkDataRoots(plans: readonly Plan[], cwd: string = process.cwd()): void {
  const seen = new Set<string>();
  for (const plan of plans) {
    for (const run of plan.runs) {
      const root = run.config.data.root;
      if (root === null || root === undefined || seen.has(root)) continue;
      seen.add(root);
      const abs = resolve(cwd, root);
      if (!existsSync(abs)) {
        throw new DataError(`${plan.file}: run '${run.name}': data.root '${root}' does not exist (${abs}); put the dataset there (shared archives: bnn-ablate data unpack <folder>) or set data.root`);
      }
      if (!statSync(abs).isDirectory()) throw new DataError(`${plan.file}: run '${run.name}': data.root '${root}' is not a folder (${abs})`);
    }
  }
}
