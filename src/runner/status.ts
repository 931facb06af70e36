/**
 * `bnn-ablate status <results/experiment>`: each run's state, from its folder (the truth about
 * results) merged with what Slurm says of its job (the truth about processes).
 *
 *   done         final.json parses, whatever anything else says
 *   pending      queued in Slurm (with squeue's reason), or prepared and never started
 *   running      Slurm runs its task, or (no Slurm record) its meta says so
 *   failed       the run recorded a failure, with the reason (a student whose teacher failed, too)
 *   interrupted  the run checkpointed after SIGTERM (a time limit, scancel): rerun to resume
 *   lost         Slurm says the job ended, but the folder has neither final.json nor a recorded
 *                failure: killed hard (out of memory, node failure) or died in the set-up
 *   corrupt      a file of the run does not parse, or a done run lacks meta.json or config.yaml:
 *                never counted as done; `run` moves its files to .aside/ and trains it again
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import { EXPERIMENT_FILE, ResultsStore, type RunMeta } from '../results/store.ts';
import { WORKER_LOG } from './local.ts';
import { readSlurmRecord, type SlurmJobRef } from './slurm.ts';
import { execCommand, phaseOf, querySlurm, taskKey, type Exec, type SchedulerView, type TaskState } from './slurm-scheduler.ts';

export type RunState = 'pending' | 'running' | 'done' | 'failed' | 'interrupted' | 'lost' | 'corrupt';
export const RUN_STATES: readonly RunState[] = ['done', 'running', 'pending', 'interrupted', 'failed', 'lost', 'corrupt'];

export interface RunStatusRow {
  id: string;
  name: string;
  state: RunState;
  /** `<array job>_<task>` of the run's latest Slurm job, if it was submitted to Slurm. */
  job: string | null;
  /** Slurm's state word for that task, when the scheduler could be asked and still knows it. */
  slurm: string | null;
  /** The reason, the metric, or what to look at. */
  detail: string;
}

export interface ExperimentStatus {
  experiment: string;
  dir: string;
  /** Which scheduler sources answered, or why none did ('not submitted to Slurm' when there is no slurm.json). */
  scheduler: string;
  counts: Record<RunState, number>;
  runs: RunStatusRow[];
}

export interface StatusOptions {
  /** Ask squeue/sacct (default true); off, only the folders speak. */
  scheduler?: boolean;
  exec?: Exec;
}

/** Reads `<results>/<experiment>` and, where it has a slurm.json, the scheduler. */
export function experimentStatus(dir: string, options: StatusOptions = {}): ExperimentStatus {
  const abs = resolve(dir);
  const store = new ResultsStore(dirname(abs), basename(abs));
  const planned = store.readExperiment()?.runs ?? [];
  const ids = [...planned.map((r) => r.id), ...store.listRunIds().filter((id) => !planned.some((r) => r.id === id))];
  if (!existsSync(join(abs, EXPERIMENT_FILE)) && ids.length === 0) {
    throw new UsageError(`${dir}: not an experiment's results folder (no ${EXPERIMENT_FILE}, no run folders); give results/<experiment>`);
  }
  const record = readSlurmRecord(abs);
  let view: SchedulerView | undefined;
  let scheduler = 'not submitted to Slurm';
  if (record && options.scheduler !== false) {
    view = querySlurm(Object.values(record.runs).map((r) => r.jobId), options.exec ?? execCommand);
    scheduler = view.available ? view.note : `scheduler unavailable: ${view.note}`;
  } else if (record) {
    scheduler = 'scheduler not asked';
  }
  const names = new Map(planned.map((r) => [r.id, r.name]));
  const runs = ids.map((id) => {
    const meta = store.readMeta(id);
    const ref = record?.runs[id];
    const row = mergeRunState({
      done: store.isDone(id),
      hasFolder: existsSync(store.runDir(id)),
      meta,
      folderStatus: store.status(id),
      corruption: store.corruption(id),
      final: store.readFinal(id),
      ref,
      view,
      workerLog: join(store.runDir(id), WORKER_LOG),
    });
    return { id, name: names.get(id) ?? meta?.name ?? '?', ...row };
  });
  const counts = Object.fromEntries(RUN_STATES.map((s) => [s, 0])) as Record<RunState, number>;
  for (const r of runs) counts[r.state]++;
  return { experiment: store.experiment, dir: abs, scheduler, counts, runs };
}

export interface RunEvidence {
  done: boolean;
  hasFolder: boolean;
  meta: RunMeta | undefined;
  /** ResultsStore.status: also turns a `running` meta whose process on this host is gone into `interrupted`. */
  folderStatus: string;
  /** What is unreadable in the folder (ResultsStore.corruption), if anything. */
  corruption?: string;
  final: Record<string, unknown> | undefined;
  ref: SlurmJobRef | undefined;
  /** Undefined when the scheduler was not asked. */
  view: SchedulerView | undefined;
  workerLog: string;
}

/** The merge rule of the table at the top of this file; pure, so each case is tested alone. */
export function mergeRunState(e: RunEvidence): Omit<RunStatusRow, 'id' | 'name'> {
  const job = e.ref ? taskKey(e.ref.jobId, e.ref.task) : null;
  const known: TaskState | undefined = job ? e.view?.tasks.get(job) : undefined;
  const slurm = known?.state ?? null;
  const row = (state: RunState, detail: string) => ({ state, job, slurm, detail });
  if (e.corruption) return row('corrupt', `${e.corruption}; \`bnn-ablate run\` sets its files aside and trains it again`);
  if (e.done) return row('done', finalSummary(e.final));
  // A live task beats the folder: a requeued run may still show the last attempt's outcome.
  if (known && phaseOf(known.state) === 'queued') return row('pending', `queued${known.reason ? ` (${known.reason})` : ''}`);
  const status = e.meta?.status;
  // COMPLETING: the task's process has exited and Slurm is cleaning up; the folder already knows the outcome.
  const settled = known?.state === 'COMPLETING' && (status === 'failed' || status === 'interrupted');
  if (known && phaseOf(known.state) === 'running' && !settled) return row('running', `${known.state.toLowerCase()}; output in ${e.workerLog}`);
  if (status === 'failed') return row('failed', e.meta?.error ?? 'failed (no reason recorded)');
  const ended = known ? describeEnd(known) : undefined;
  if (status === 'interrupted') return row('interrupted', `${e.meta?.error ?? 'interrupted'}${ended ? ` (Slurm: ${ended})` : ''}`);
  // The job ended (or the scheduler has forgotten it) while the folder still says pending/running.
  if (e.ref && e.view?.available) {
    const how = ended ?? 'no longer known to squeue or sacct';
    return row('lost', `job ${job} ended (${how}) without final.json or a recorded failure; see ${e.workerLog} and ${e.ref.log}`);
  }
  if (!e.hasFolder) return row('pending', 'no run folder yet (not prepared by `bnn-ablate run`)');
  const unasked = e.ref ? (e.view ? '; scheduler unavailable' : '; scheduler not asked') : '';
  if (e.folderStatus === 'interrupted') return row('interrupted', `its process is gone; rerun to resume${unasked}`);
  if (status === 'running') return row('running', `on ${e.meta?.host ?? '?'} (pid ${e.meta?.pid ?? '?'})${unasked}`);
  return row('pending', e.ref ? `submitted as job ${job}${unasked}` : 'prepared, not started');
}

function describeEnd(t: TaskState): string {
  return [t.state, t.reason, t.exitCode && t.exitCode !== '0:0' ? `exit ${t.exitCode}` : undefined].filter(Boolean).join(' ');
}

function finalSummary(final: Record<string, unknown> | undefined): string {
  const m = (final?.metrics ?? {}) as Record<string, unknown>;
  const metric = typeof m.pckh === 'number' ? `PCKh ${m.pckh.toFixed(1)}` : typeof m.top1 === 'number' ? `top-1 ${m.top1.toFixed(1)}` : '';
  const wall = typeof final?.wall_s === 'number' ? `${Math.round(final.wall_s)} s` : '';
  return [metric, wall].filter(Boolean).join(', ');
}

/** The human table: one line per run, then the counts. */
export function formatStatus(s: ExperimentStatus): string {
  const rows = [['ID', 'NAME', 'STATE', 'JOB', 'DETAIL'], ...s.runs.map((r) => [r.id, r.name, r.state, r.job ?? '-', r.detail])];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const body = rows.map((r) => r.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd());
  const counts = RUN_STATES.filter((k) => s.counts[k] > 0).map((k) => `${s.counts[k]} ${k}`).join(', ') || 'no runs';
  return [`${s.experiment} (${s.dir}): ${counts}; ${s.scheduler}`, ...body, ''].join('\n');
}
