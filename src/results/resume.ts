import { join } from 'node:path';
import { ResultsError } from '../errors.ts';
import { FILES, type ResultsStore, type RunIdentity, type RunStatus } from './store.ts';

export type ResumeAction = 'skip' | 'start' | 'restart' | 'replace';

export interface ResumeDecision {
  run: RunIdentity;
  action: ResumeAction;
  /** What the store held before: why the action was chosen. */
  previous: RunStatus | 'absent';
}

/**
 * What a `run` should do with each planned run, given what the results folder already holds:
 * - done (final.json parses)              → skip
 * - absent                                → start
 * - pending/running/failed/interrupted    → restart (training resumes from its last checkpoint)
 * - folder holds a different config       → refuse, or replace with `force`
 * All mismatches are reported together so the user fixes them in one go.
 */
export function decideResume(store: ResultsStore, runs: RunIdentity[], options: { force?: boolean } = {}): ResumeDecision[] {
  const decisions: ResumeDecision[] = [];
  const mismatched: string[] = [];
  for (const run of runs) {
    const previous = store.status(run.id);
    if (previous !== 'absent' && store.storedConfigDiffers(run.id, run.config)) {
      if (options.force) decisions.push({ run, action: 'replace', previous });
      else mismatched.push(`${join(store.runDir(run.id), FILES.config)} (${run.name})`);
      continue;
    }
    const action: ResumeAction = previous === 'done' ? 'skip' : previous === 'absent' ? 'start' : 'restart';
    decisions.push({ run, action, previous });
  }
  if (mismatched.length > 0) {
    const more = mismatched.length > 1 ? ` and ${mismatched.length - 1} more` : '';
    throw new ResultsError(`${mismatched[0]}${more}: stored config differs from the plan's; rerun with --force to discard ${mismatched.length > 1 ? 'them' : 'it'}`);
  }
  return decisions;
}
