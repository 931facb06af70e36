import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ResultsError } from '../errors.ts';
import { removeStaleTemps, writeFileAtomic } from './atomic.ts';
import { canonicalJson } from '../config/canonical.ts';
import { runEnvironment, type RunEnvironment } from './environment.ts';
import { isRegularFile } from './paths.ts';
import { LOCK_FILE, processAlive } from './lock.ts';

/**
 * One folder per run: `<root>/<experiment>/<run-id>/` holding
 * - `config.yaml`  the resolved config (what the run id hashes),
 * - `meta.json`    status, error, backend, versions, git commit, host, times,
 * - `metrics.jsonl` one line per evaluation,
 * - `final.json`   final metrics; a run is done only when this file exists and parses.
 * Every file is written atomically, so a killed process never leaves a half-written one.
 */

/** `corrupt`: a file of the run is there but unreadable (a torn write by another tool, a full disk), or a done run lacks its meta or config. */
export type RunStatus = 'pending' | 'running' | 'done' | 'failed' | 'interrupted' | 'corrupt';

/** What the store needs to know of a planned run (grid/ produces these). */
export interface RunIdentity {
  id: string;
  name: string;
  seed: number;
  params: Record<string, unknown>;
  config: unknown;
  dependsOn?: string[];
}

export interface BackendInfo {
  name: string;
  version?: string;
  [key: string]: unknown;
}

export interface RunMeta extends RunEnvironment {
  id: string;
  name: string;
  experiment: string;
  seed: number;
  params: Record<string, unknown>;
  dependsOn: string[];
  status: RunStatus;
  error: string | null;
  backend: BackendInfo | null;
  /** How many times a process has started this run (resumes included). */
  attempts: number;
  startedAt: string | null;
  endedAt: string | null;
  /** `experiment/id` whose results these are: the same config trained once for several experiments. */
  sharedFrom?: string;
}

/** `<root>/<experiment>/experiment.json`: what the reporter needs to know of the plan. */
export interface ExperimentRecord {
  experiment: string;
  file: string;
  description?: string;
  task: string;
  /** The experiment's `report:` mapping, verbatim. */
  report?: unknown;
  preset: string | null;
  sets: string[];
  /** Dotted keys that differ between runs (seed excluded). */
  varying: string[];
  runs: Array<Pick<RunIdentity, 'id' | 'name' | 'seed' | 'params'> & { dependsOn: string[] }>;
  plannedAt: string;
}

export const EXPERIMENT_FILE = 'experiment.json';

export const FILES = {
  config: 'config.yaml',
  meta: 'meta.json',
  metrics: 'metrics.jsonl',
  final: 'final.json',
  /** Folder of the trained model (TensorFlow.js format); teachers are loaded from here. */
  model: 'model',
  /** Folder of the latest checkpoint of an unfinished run. */
  checkpoints: 'checkpoints',
} as const;

export class ResultsStore {
  /** `<root>/<experiment>` */
  readonly dir: string;

  constructor(readonly root: string, readonly experiment: string) {
    if (!/^[A-Za-z0-9._-]+$/.test(experiment)) {
      throw new ResultsError(`experiment name '${experiment}' cannot name a results folder (use letters, digits, '.', '_', '-')`);
    }
    this.dir = resolve(root, experiment);
  }

  runDir(id: string): string {
    return join(this.dir, id);
  }

  writeExperiment(record: ExperimentRecord): void {
    writeFileAtomic(join(this.dir, EXPERIMENT_FILE), `${JSON.stringify(record, null, 2)}\n`);
  }

  readExperiment(): ExperimentRecord | undefined {
    return readJson<ExperimentRecord>(join(this.dir, EXPERIMENT_FILE));
  }

  /** Run ids with a folder here, sorted: folders holding a run's files (not plots/, not hidden ones). */
  listRunIds(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((name) => !name.startsWith('.') && statSync(join(this.dir, name)).isDirectory())
      .filter((name) => [FILES.config, FILES.meta, FILES.final].some((f) => existsSync(join(this.dir, name, f))))
      .sort();
  }

  /** The stored resolved config, or undefined when the run has none (or it does not parse). */
  readConfig(id: string): unknown {
    const path = join(this.runDir(id), FILES.config);
    if (!isRegularFile(path)) return undefined;
    try {
      return parseYaml(readFileSync(path, 'utf8'));
    } catch {
      return undefined;
    }
  }

  readMeta(id: string): RunMeta | undefined {
    return readJson<RunMeta>(join(this.runDir(id), FILES.meta));
  }

  /** Final metrics, or undefined while the run is not done. */
  readFinal<T = Record<string, unknown>>(id: string): T | undefined {
    return readJson<T>(join(this.runDir(id), FILES.final));
  }

  /** Every evaluation record; a torn last line (writer killed mid-append) is ignored. */
  readMetrics<T = Record<string, unknown>>(id: string): T[] {
    const path = join(this.runDir(id), FILES.metrics);
    if (!isRegularFile(path)) return [];
    const records: T[] = [];
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line) as T);
      } catch {
        break;
      }
    }
    return records;
  }

  /** Done: final.json parses and the run's meta and config are intact. */
  isDone(id: string): boolean {
    return this.readFinal(id) !== undefined && this.corruption(id) === undefined;
  }

  /**
   * What is wrong with the run's files, or undefined when nothing is: a file that is there but
   * does not parse, or a finished run without the meta or config that say what it is.
   */
  corruption(id: string): string | undefined {
    const dir = this.runDir(id);
    const present = (f: string) => existsSync(join(dir, f));
    const final = present(FILES.final) ? this.readFinal(id) : undefined;
    if (present(FILES.final) && final === undefined) return `${FILES.final} does not parse (a torn or foreign write)`;
    if (present(FILES.meta) && this.readMeta(id) === undefined) return `${FILES.meta} does not parse`;
    if (present(FILES.config) && !isMapping(this.readConfig(id))) return `${FILES.config} does not parse as a config`;
    if (final !== undefined && !present(FILES.meta)) return `${FILES.final} is there but ${FILES.meta} is missing`;
    if (final !== undefined && !present(FILES.config)) return `${FILES.final} is there but ${FILES.config} is missing`;
    if (final === undefined && this.readMeta(id)?.status === 'done') return `${FILES.meta} says done but ${FILES.final} is missing`;
    return undefined;
  }

  /**
   * Moves the run's files (all but its lock) into `<experiment>/.aside/<id>.<reason>.<time>/`, so
   * a corrupt or replaced run is retrained without destroying what was there. Returns the folder.
   */
  setAside(id: string, reason: string): string {
    const dir = this.runDir(id);
    const aside = join(this.dir, ASIDE_DIR, `${id}.${reason}.${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`);
    mkdirSync(aside, { recursive: true });
    for (const name of readdirSync(dir)) if (name !== LOCK_FILE) renameSync(join(dir, name), join(aside, name));
    return aside;
  }

  /**
   * The status a reader should believe: `done` iff final.json parses (whatever meta says), and a
   * `running` run whose process on this host is gone counts as `interrupted`.
   */
  status(id: string): RunStatus | 'absent' {
    if (this.corruption(id)) return 'corrupt';
    if (this.isDone(id)) return 'done';
    const meta = this.readMeta(id);
    if (!meta) return existsSync(this.runDir(id)) ? 'pending' : 'absent';
    if (meta.status === 'running' && meta.host === hostname() && !processAlive(meta.pid)) return 'interrupted';
    return meta.status;
  }

  /**
   * Whether the folder holds a config other than `config` (canonical JSON: key order does not
   * matter). A folder with no readable config holds nothing to protect, so it does not differ.
   */
  storedConfigDiffers(id: string, config: unknown): boolean {
    const stored = this.readConfig(id);
    return stored !== undefined && canonicalJson(stored) !== canonicalJson(config);
  }

  /**
   * Creates (or re-opens) a run folder before training: writes config.yaml and a `pending` meta.
   * A folder whose stored config differs is refused unless `force`, which wipes it first.
   */
  prepare(run: RunIdentity, options: { force?: boolean } = {}): RunMeta & { setAside?: string } {
    const dir = this.runDir(run.id);
    let setAside: string | undefined;
    if (existsSync(dir)) {
      removeStaleTemps(dir);
      if (this.storedConfigDiffers(run.id, run.config)) {
        if (!options.force) {
          throw new ResultsError(`${join(dir, FILES.config)}: stored config differs from the plan's for run ${run.id} (${run.name}); rerun with --force to replace it (the old files are kept in ${ASIDE_DIR}/)`);
        }
        setAside = this.setAside(run.id, 'replaced');
      } else if (this.corruption(run.id)) {
        setAside = this.setAside(run.id, 'corrupt');
      }
    }
    mkdirSync(dir, { recursive: true });
    writeFileAtomic(join(dir, FILES.config), stringifyYaml(run.config));
    const previous = this.readMeta(run.id);
    const meta: RunMeta = {
      ...runEnvironment(),
      id: run.id,
      name: run.name,
      experiment: this.experiment,
      seed: run.seed,
      params: run.params,
      dependsOn: run.dependsOn ?? [],
      status: 'pending',
      error: null,
      backend: previous?.backend ?? null,
      attempts: previous?.attempts ?? 0,
      startedAt: previous?.startedAt ?? null,
      endedAt: null,
    };
    this.writeMeta(meta);
    return setAside ? { ...meta, setAside } : meta;
  }

  /**
   * Makes this (prepared) run a copy of the same run finished in another experiment's folder
   * `fromDir`: its metrics, model and final metrics, with meta.json saying where they came from.
   * final.json is written last, so a copy killed half-way is not done.
   */
  adoptShared(id: string, fromDir: string, from: string): RunMeta {
    const dir = this.runDir(id);
    const source = readJson<Record<string, unknown>>(join(fromDir, FILES.final));
    if (!source) throw new ResultsError(`${join(fromDir, FILES.final)}: missing or unreadable`);
    const metrics = join(fromDir, FILES.metrics);
    writeFileAtomic(join(dir, FILES.metrics), isRegularFile(metrics) ? readFileSync(metrics) : '');
    if (existsSync(join(fromDir, FILES.model))) cpSync(join(fromDir, FILES.model), join(dir, FILES.model), { recursive: true });
    const fromMeta = readJson<RunMeta>(join(fromDir, FILES.meta));
    writeFileAtomic(join(dir, FILES.final), `${JSON.stringify(source, null, 2)}\n`);
    return this.writeMeta({
      ...this.requireMeta(id), status: 'done', error: null, sharedFrom: from, backend: fromMeta?.backend ?? null,
      startedAt: fromMeta?.startedAt ?? null, endedAt: new Date().toISOString(),
    });
  }

  /** Marks a run started by this process (one more attempt). */
  markRunning(id: string, backend: BackendInfo | null): RunMeta {
    const meta = this.requireMeta(id);
    return this.writeMeta({
      ...meta,
      ...runEnvironment(),
      status: 'running',
      error: null,
      backend,
      attempts: meta.attempts + 1,
      startedAt: meta.startedAt ?? new Date().toISOString(),
      endedAt: null,
    });
  }

  /** Appends one evaluation record; the file is rewritten atomically so no line is ever torn. */
  appendMetrics(id: string, record: Record<string, unknown>): void {
    const path = join(this.runDir(id), FILES.metrics);
    const existing = existsSync(path) ? readFileSync(path, 'utf8') : '';
    writeFileAtomic(path, `${existing}${JSON.stringify(record)}\n`);
  }

  /** Keeps only evaluation records up to `step` (a resumed run replays the steps after its checkpoint). */
  truncateMetrics(id: string, step: number): void {
    const kept = this.readMetrics<{ step?: number }>(id).filter((r) => (r.step ?? 0) <= step);
    writeFileAtomic(join(this.runDir(id), FILES.metrics), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  /** Writes final.json (the run is done from this moment), then the meta. */
  finish(id: string, finalMetrics: Record<string, unknown>): RunMeta {
    writeFileAtomic(join(this.runDir(id), FILES.final), `${JSON.stringify(finalMetrics, null, 2)}\n`);
    return this.writeMeta({ ...this.requireMeta(id), status: 'done', error: null, endedAt: new Date().toISOString() });
  }

  fail(id: string, error: string): RunMeta {
    return this.writeMeta({ ...this.requireMeta(id), status: 'failed', error, endedAt: new Date().toISOString() });
  }

  interrupt(id: string, reason = 'interrupted'): RunMeta {
    return this.writeMeta({ ...this.requireMeta(id), status: 'interrupted', error: reason, endedAt: new Date().toISOString() });
  }

  private requireMeta(id: string): RunMeta {
    const meta = this.readMeta(id);
    if (!meta) throw new ResultsError(`${join(this.runDir(id), FILES.meta)}: missing or unreadable; prepare the run first`);
    return meta;
  }

  private writeMeta(meta: RunMeta): RunMeta {
    writeFileAtomic(join(this.runDir(meta.id), FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
    return meta;
  }
}

/** Where corrupt and replaced runs' files are kept (hidden: listings skip it). */
export const ASIDE_DIR = '.aside';

function isMapping(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function readJson<T>(path: string): T | undefined {
  // Not a FIFO or a device: reading one would block.
  if (!isRegularFile(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

