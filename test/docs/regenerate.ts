/** Shared by the docs tests: what `bnn-ablate report` makes now of a docs folder's committed records. */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runReport } from '../../src/report/run.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** The report of docs/<name>/results, regenerated in a copy laid out like the repository (same relative plot links). */
export async function regeneratedReport(name: string): Promise<string> {
  const tmp = mkdtempSync(path.join(tmpdir(), `${name}-doc-`));
  cpSync(path.join(ROOT, 'docs', name, 'results'), path.join(tmp, 'docs', name, 'results'), { recursive: true });
  const { markdown } = await runReport({ targets: [`docs/${name}/results`], out: `docs/${name}`, png: false, cwd: tmp });
  return markdown;
}
