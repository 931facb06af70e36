/**
 * The experiment file's `executor:` section: how to run the grid on a cluster, as opposed to what
 * each run computes. It lives outside the run config on purpose: run ids hash the resolved run
 * config, and moving a study from a laptop to a cluster must not change them.
 *
 *   executor:
 *     slurm:
 *       partition: gpu            # sbatch --partition
 *       account: my-lab           # sbatch --account
 *       time: "04:00:00"          # sbatch --time (minutes, or [D-]HH:MM[:SS]); at the limit
 *                                 #   Slurm sends SIGTERM and run-one checkpoints (rerun resumes)
 *       cpus_per_task: 4          # sbatch --cpus-per-task (also the run's thread count)
 *       mem: 16G                  # sbatch --mem
 *       gres: gpu:1               # sbatch --gres
 *       sbatch: [--qos=normal]    # extra sbatch options, one per line of the script
 *       setup: |                  # shell run before each task (modules, venv, PATH)
 *         module load nodejs/20
 *       node: node                # the Node.js the task runs bin/bnn-ablate.js with
 *
 * Command-line flags (`--slurm-partition`, ...) override these key by key.
 */
import type { Node } from 'yaml';
import { ConfigError, type SourcePosition } from '../errors.ts';
import { nearest } from './keys.ts';
import { mapEntries, seqItems, toJS, describeValue, type Entry, type YamlSource } from './source.ts';

export interface SlurmSettings {
  partition?: string;
  account?: string;
  time?: string;
  cpusPerTask?: number;
  mem?: string;
  gres?: string;
  /** Extra sbatch options, each written as `#SBATCH <line>`. */
  sbatch: string[];
  /** Shell lines run before the task. */
  setup?: string;
  /** The Node.js executable on the compute node (default `node`, found through PATH after `setup`). */
  node?: string;
}

export interface ExecutorSettings {
  slurm?: SlurmSettings;
}

/** File keys (snake_case, like the run config) and the settings field each fills. */
const SLURM_KEYS = {
  partition: 'partition', account: 'account', time: 'time', cpus_per_task: 'cpusPerTask', mem: 'mem',
  gres: 'gres', sbatch: 'sbatch', setup: 'setup', node: 'node',
} as const satisfies Record<string, keyof SlurmSettings>;

const WORD = /^[^\s#'"`$\\;|&<>()]+$/;
const TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|infinite|unlimited)$/i;
const MEM = /^\d+[KMGT]?$/i;

/**
 * Why a Slurm setting is unusable, or undefined when it is fine. Shared by the file reader and the
 * flags, so both refuse the same values. Values end up in `#SBATCH` lines, where shell quoting
 * does not apply: anything with spaces or shell characters would be cut or misread.
 */
export function slurmValueProblem(field: keyof SlurmSettings, value: unknown): string | undefined {
  switch (field) {
    case 'cpusPerTask':
      return Number.isInteger(value) && (value as number) >= 1 ? undefined : `expected a positive integer, got ${describeValue(value)}`;
    case 'time':
      return typeof value === 'string' && TIME.test(value) ? undefined : `expected minutes or [D-]HH:MM[:SS], got ${describeValue(value)}`;
    case 'mem':
      return typeof value === 'string' && MEM.test(value) ? undefined : `expected a size such as 16G or 4000M, got ${describeValue(value)}`;
    case 'sbatch':
      return typeof value === 'string' && /^--?[A-Za-z]/.test(value) && !/[\n\r]/.test(value) ? undefined : `expected an sbatch option such as --qos=normal, got ${describeValue(value)}`;
    case 'setup':
      return typeof value === 'string' ? undefined : `expected shell text, got ${describeValue(value)}`;
    case 'node':
      return typeof value === 'string' && value.trim() !== '' && !/[\n\r]/.test(value) ? undefined : `expected a command or path, got ${describeValue(value)}`;
    default:
      return typeof value === 'string' && WORD.test(value) ? undefined : `expected one word without spaces or shell characters, got ${describeValue(value)}`;
  }
}

/** `--qos=x` and `#SBATCH --qos=x` mean the same extra line. */
export function normalizeSbatchLine(line: string): string {
  return line.trim().replace(/^#SBATCH\s+/, '');
}

/** Reads the `executor:` mapping of an experiment file, checking every key and value in place. */
export function readExecutor(src: YamlSource, entry: Entry | undefined): ExecutorSettings | undefined {
  if (!entry) return undefined;
  const out: ExecutorSettings = {};
  for (const e of mapEntries(src, entry.value, 'executor', entry.valuePos)) {
    if (e.key !== 'slurm') {
      const guess = nearest(e.key, ['slurm']);
      throw new ConfigError(`executor: unknown executor '${e.key}'${guess ? ` (did you mean '${guess}'?)` : ' (known: slurm)'}`, e.keyPos);
    }
    out.slurm = readSlurm(src, e);
  }
  return out;
}

function readSlurm(src: YamlSource, entry: Entry): SlurmSettings {
  const settings: SlurmSettings = { sbatch: [] };
  const known = Object.keys(SLURM_KEYS);
  for (const e of mapEntries(src, entry.value, 'executor.slurm', entry.valuePos)) {
    if (!(e.key in SLURM_KEYS)) {
      const guess = nearest(e.key, known);
      throw new ConfigError(`executor.slurm: unknown key '${e.key}'${guess ? ` (did you mean '${guess}'?)` : ` (known: ${known.join(', ')})`}`, e.keyPos);
    }
    const field = SLURM_KEYS[e.key as keyof typeof SLURM_KEYS];
    if (field === 'sbatch') {
      settings.sbatch = seqItems(src, e.value, 'executor.slurm.sbatch', e.valuePos).map(({ node, pos }) => {
        const line = toJS(src, node);
        check(field, typeof line === 'string' ? normalizeSbatchLine(line) : line, pos, e.key);
        return normalizeSbatchLine(line as string);
      });
      continue;
    }
    let value = toJS(src, e.value as Node | null);
    // `time: 90` (minutes) reads as a number; Slurm takes it as text.
    if (field === 'time' && typeof value === 'number' && Number.isInteger(value)) value = String(value);
    check(field, value, e.valuePos, e.key);
    (settings as unknown as Record<string, unknown>)[field] = value;
  }
  return settings;
}

function check(field: keyof SlurmSettings, value: unknown, pos: SourcePosition, key: string): void {
  const problem = slurmValueProblem(field, value);
  if (problem) throw new ConfigError(`executor.slurm.${key}: ${problem}`, pos);
}
