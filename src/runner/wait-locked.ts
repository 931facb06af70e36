/**
 * `run --wait`: runs that another live process holds (its lock) are waited for instead of left to
 * it. After a pass over the grid, the runner polls those runs' locks; once they are free it passes
 * again, which skips what the other process finished and trains what it left (its lock stale).
 */
import { join } from 'node:path';
import type { Plan } from '../grid/index.ts';
import { isStale, readLock } from '../results/lock.ts';
import { runLocal, type GridSummary, type LocalRunOptions } from './local.ts';
import type { ProgressDisplay } from './progress.ts';

export interface WaitOptions {
  /** Each pass gets a fresh display (a bar display cannot restart after stop()). */
  makeDisplay: () => ProgressDisplay;
  pollMs?: number;
}

export async function runLocalWaiting(plans: Plan[], options: Omit<LocalRunOptions, 'display'>, wait: WaitOptions): Promise<GridSummary> {
  let total = await runLocal(plans, { ...options, display: wait.makeDisplay() });
  while (total.locked.length > 0 && !options.stopSignal?.aborted) {
    const display = wait.makeDisplay();
    display.note?.(`waiting for ${total.locked.length} run(s) that other processes are training (--wait) ...`);
    await waitUntilFree(total.locked.map((r) => join(options.resultsRoot, r.experiment, r.id)), wait.pollMs ?? 5000, options.stopSignal);
    if (options.stopSignal?.aborted) break;
    // Another pass over what was locked and what waited on it only: failures of this pass are not retried.
    const keys = new Set([...total.locked, ...total.notStarted].map((r) => r.key));
    const rest = plans.map((p) => ({ ...p, runs: p.runs.filter((r) => keys.has(`${p.experiment}/${r.id}`)) })).filter((p) => p.runs.length > 0);
    const next = await runLocal(rest, { ...options, display });
    total = {
      ...total,
      // Runs the other process finished count as skipped (done elsewhere).
      skipped: total.skipped + next.skipped,
      done: [...total.done, ...next.done],
      failed: [...total.failed, ...next.failed],
      interrupted: [...total.interrupted, ...next.interrupted],
      notStarted: next.notStarted,
      locked: next.locked,
    };
  }
  return total;
}

function waitUntilFree(dirs: string[], pollMs: number, stop?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      const free = (d: string) => { const info = readLock(d); return !info || isStale(d, info); };
      if (stop?.aborted || dirs.every(free)) { clearInterval(timer); resolve(); }
    };
    const timer = setInterval(check, pollMs);
    check();
  });
}
