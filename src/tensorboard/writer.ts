/**
 * One run's TensorBoard event files: `<run>/tb/<grid point>/events.out.tfevents.*`.
 *
 * Layout: TensorBoard names a run by the folder holding its event files, relative to --logdir,
 * so `tensorboard --logdir results/<study>` shows `<run-id>/tb/<grid point>`: one run per run
 * folder, readable by its grid point (`binary=true,seed=0`) and filterable by any part of it.
 *
 * Resumes: each process start writes a new file (TensorBoard reads every event file of a folder),
 * after pruning the earlier files to the steps up to the restored checkpoint, so the steps a
 * resumed run replays appear once, not twice. Records are appended with one write each (a file
 * read live cannot be replaced atomically); a record torn by a kill is cut off at the next start.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../results/atomic.ts';
import { decodeEvent, fileVersionEvent, histogramsEvent, scalarsEvent, type Histogram } from './events.ts';
import { frameRecord, readRecords } from './records.ts';

/** Folder of a run's event files, inside its run folder. */
export const TB_DIR = 'tb';

const EVENT_FILE_MARK = 'tfevents';
/** Writers opened by this process: part of the file name, so no two share a file. */
let opened = 0;

/** A folder name for a grid point: path separators and other unsafe characters become '_'. */
export function runLabel(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._=,+\-[\]{}]/g, '_').replace(/^\.+/, '_');
  return (safe || 'run').slice(0, 120);
}

/** Event files in `dir`, in the order TensorBoard reads them (by name). */
export function eventFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir).filter((f) => f.includes(EVENT_FILE_MARK) && !f.startsWith('.')).sort().map((f) => join(dir, f));
}

/**
 * Keeps, in every event file of `dir`, the records up to `step` (the file-version header, at step
 * 0, always), and drops a torn or corrupt tail. A file left with nothing but its header goes.
 */
export function pruneEventFiles(dir: string, step: number): void {
  for (const file of eventFiles(dir)) {
    const buf = readFileSync(file);
    const { records, validBytes } = readRecords(buf);
    const keep = records.map((r) => decodeEvent(r)).map((e) => ({ keep: e.step <= step, header: e.file_version !== undefined }));
    const kept = records.filter((_, i) => keep[i]!.keep);
    const onlyHeader = keep.every((k) => !k.keep || k.header);
    if (onlyHeader) rmSync(file, { force: true });
    else if (kept.length !== records.length || validBytes !== buf.length) {
      writeFileAtomic(file, Buffer.concat(kept.map((r) => frameRecord(r))));
    }
  }
}

export class EventWriter {
  readonly dir: string;
  readonly file: string;
  private fd: number | null;

  /**
   * Opens a new event file in `<runDir>/tb/<label>/` for a process that continues from
   * `resumeStep` (0 for a fresh start), pruning what earlier processes wrote past it.
   */
  constructor(runDir: string, runName: string, resumeStep: number, now = Date.now()) {
    const tb = join(runDir, TB_DIR);
    this.dir = join(tb, runLabel(runName));
    mkdirSync(this.dir, { recursive: true });
    // Every label folder: a run renamed between attempts (its plan grew) must not keep steps either.
    for (const label of readdirSync(tb)) pruneEventFiles(join(tb, label), resumeStep);
    // TensorFlow's name pattern; pid and counter keep two starts within one second apart.
    const seconds = String(Math.floor(now / 1000)).padStart(10, '0');
    this.file = join(this.dir, `events.out.tfevents.${seconds}.${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}.${process.pid}.${opened++}`);
    this.fd = openSync(this.file, 'a');
    this.append([fileVersionEvent(now / 1000)]);
  }

  scalars(step: number, values: Record<string, number>, wallTime = Date.now() / 1000): void {
    const finite = Object.fromEntries(Object.entries(values).filter(([, v]) => Number.isFinite(v)));
    if (Object.keys(finite).length > 0) this.append([scalarsEvent(step, wallTime, finite)]);
  }

  histograms(step: number, values: Record<string, Histogram>, wallTime = Date.now() / 1000): void {
    if (Object.keys(values).length > 0) this.append([histogramsEvent(step, wallTime, values)]);
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }

  /** One write per call, so a reader tailing the file sees whole records or a short tail. */
  private append(events: Uint8Array[]): void {
    if (this.fd === null) throw new Error(`${this.file}: event writer is closed`);
    const bytes = Buffer.concat(events.map((e) => frameRecord(e)));
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset, bytes.length - offset);
  }
}
