/**
 * Talking to Slurm through its command-line clients (sbatch, squeue, sacct): no library, no REST
 * API, so it works wherever a user can type those commands. Every call goes through `Exec`, which
 * tests replace with canned outputs.
 */
import { spawnSync } from 'node:child_process';

export interface CommandResult {
  /** Exit status; null when the command could not be started (then `error` says why). */
  status: number | null;
  stdout: string;
  stderr: string;
  error?: NodeJS.ErrnoException;
}

export type Exec = (command: string, args: string[]) => CommandResult;

/** Runs a command synchronously (these clients answer in milliseconds) and captures its output. */
export const execCommand: Exec = (command, args) => {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error as NodeJS.ErrnoException | undefined };
};

/** What the scheduler says of one array task (`<array job id>_<task>`) or plain job. */
export interface TaskState {
  /** Slurm's state word: PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, ... */
  state: string;
  /** squeue's reason (Dependency, Resources, NonZeroExitCode, ...), when it gives one. */
  reason?: string;
  /** sacct's `exit:signal`, when accounting is available. */
  exitCode?: string;
  source: 'squeue' | 'sacct';
}

/** What the scheduler knows of a set of jobs. */
export interface SchedulerView {
  /** Whether squeue answered; when false, nothing can be said about the jobs (see `note`). */
  available: boolean;
  /** Which sources answered, or why none did, for the user. */
  note: string;
  tasks: Map<string, TaskState>;
}

/** States in which a job still holds (or waits for) resources: it must not be submitted again. */
const QUEUED = new Set(['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SPECIAL_EXIT']);
const ACTIVE = new Set(['RUNNING', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED']);
/** States after which the job's processes are gone for good. */
const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'REVOKED']);

/**
 * Coarse phase of a Slurm state. An unknown word counts as `running`: a job we do not understand
 * might still write to its run folder, so it is neither resubmitted nor declared lost.
 */
export function phaseOf(state: string): 'queued' | 'running' | 'ended' {
  if (QUEUED.has(state)) return 'queued';
  if (ENDED.has(state)) return 'ended';
  if (ACTIVE.has(state)) return 'running';
  return 'running';
}

/** The key a run's task is known by: `<job>_<task>`. */
export function taskKey(jobId: string, task: number): string {
  return `${jobId}_${task}`;
}

/** Submits a script; returns the job id that `sbatch --parsable` prints (`id` or `id;cluster`). */
export function sbatch(scriptPath: string, exec: Exec = execCommand): string {
  const r = exec('sbatch', ['--parsable', scriptPath]);
  if (r.error) throw new SlurmUnavailable(r.error.code === 'ENOENT' ? 'sbatch not found in PATH' : `sbatch: ${r.error.message}`);
  if (r.status !== 0) throw new SbatchFailed(firstLines(r.stderr || r.stdout) || `exit status ${r.status}`);
  const id = r.stdout.trim().split('\n').pop()?.split(';')[0]?.trim() ?? '';
  if (!/^\d+$/.test(id)) throw new SbatchFailed(`unexpected answer from sbatch --parsable: ${JSON.stringify(r.stdout.trim())}`);
  return id;
}

/** sbatch could not be run at all (not installed, not in PATH). */
export class SlurmUnavailable extends Error {}
/** sbatch ran and refused the script. */
export class SbatchFailed extends Error {}

/**
 * Asks squeue (live jobs and those ended within MinJobAge, one line per array task), then sacct
 * (older jobs, where accounting is enabled) about `jobIds`. A task neither knows is taken to have
 * ended long ago; callers decide what that means.
 */
export function querySlurm(jobIds: string[], exec: Exec = execCommand): SchedulerView {
  const tasks = new Map<string, TaskState>();
  if (jobIds.length === 0) return { available: true, note: 'no jobs to ask about', tasks };
  const ids = [...new Set(jobIds)].join(',');
  const q = exec('squeue', ['--noheader', '--array', '--states=all', `--jobs=${ids}`, '--format=%F|%K|%i|%T|%r']);
  if (q.error) return { available: false, note: q.error.code === 'ENOENT' ? 'squeue not found' : `squeue: ${q.error.message}`, tasks };
  // squeue fails outright when none of the ids is known any more: that only means they all ended.
  if (q.status !== 0 && !/invalid job id/i.test(q.stderr)) return { available: false, note: `squeue failed: ${firstLines(q.stderr) || `exit ${q.status}`}`, tasks };
  if (q.status === 0) for (const [key, state] of parseSqueue(q.stdout)) tasks.set(key, state);
  const notes = ['squeue'];

  const a = exec('sacct', ['--noheader', '--parsable2', '--allocations', `--jobs=${ids}`, '--format=JobID,State,ExitCode']);
  if (!a.error && a.status === 0) {
    for (const [key, state] of parseSacct(a.stdout)) if (!tasks.has(key)) tasks.set(key, state);
    notes.push('sacct');
  } else {
    notes.push(`no sacct (${a.error ? 'not found' : firstLines(a.stderr) || `exit ${a.status}`})`);
  }
  return { available: true, note: notes.join(', '), tasks };
}

/** Lines of `squeue --format=%F|%K|%i|%T|%r`: array job, task (N/A for plain jobs), job, state, reason. */
export function parseSqueue(text: string): Map<string, TaskState> {
  const out = new Map<string, TaskState>();
  for (const line of text.split('\n')) {
    const [arrayJob, task, job, state, reason] = line.trim().split('|');
    if (!arrayJob || !state) continue;
    const entry: TaskState = { state, source: 'squeue', ...(reason && reason !== 'None' ? { reason } : {}) };
    for (const t of expandTasks(task ?? '')) out.set(taskKey(arrayJob, t), entry);
    if (!task || task === 'N/A') out.set(job ?? arrayJob, entry);
  }
  return out;
}

/** Lines of `sacct --parsable2 --format=JobID,State,ExitCode`; states such as `CANCELLED by 0` keep their first word. */
export function parseSacct(text: string): Map<string, TaskState> {
  const out = new Map<string, TaskState>();
  for (const line of text.split('\n')) {
    const [jobId, rawState, exitCode] = line.trim().split('|');
    if (!jobId || !rawState) continue;
    const state = rawState.split(/\s+/)[0]!;
    const entry: TaskState = { state, source: 'sacct', ...(exitCode ? { exitCode } : {}) };
    const m = /^(\d+)_(.+)$/.exec(jobId);
    if (!m) { out.set(jobId, entry); continue; }
    for (const t of expandTasks(m[2]!)) out.set(taskKey(m[1]!, t), entry);
  }
  return out;
}

/** `3`, or a compressed list such as `[0-3,7%2]` (pending tasks not yet split), as numbers. */
function expandTasks(spec: string): number[] {
  const body = spec.replace(/^\[|\]$/g, '').replace(/%\d+$/, '');
  const out: number[] = [];
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let i = from; i <= to && i - from < 100_000; i++) out.push(i);
  }
  return out;
}

function firstLines(text: string): string {
  return text.trim().split('\n').slice(0, 2).join(' / ');
}
