import { linkSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TEMP_SUFFIX, writeFileAtomic } from './atomic.ts';

/**
 * One trainer per run: `<run-dir>/.lock` names the process that owns the run (pid, host, a random
 * token). It is created atomically (a complete temp file hard-linked to the name, which fails if
 * the name exists), so of two processes racing for a run exactly one wins, and a reader never sees
 * a half-written lock. The owner touches it every HEARTBEAT_MS.
 *
 * A lock is stale, and may be taken over, when its process is gone: on this host, when the pid no
 * longer exists; on another host (a shared results folder), when its heartbeat is older than
 * STALE_AFTER_MS. Take-over renames the stale lock aside first, which only one process can do.
 *
 * Hidden (leading dot), so run listings skip it; not a `.tmp` file, so temp clean-up keeps it.
 */

export const LOCK_FILE = '.lock';
const HEARTBEAT_MS = 30_000;
const STALE_AFTER_MS = 10 * 60_000;

export interface LockInfo {
  pid: number;
  host: string;
  token: string;
  since: string;
  /** The worker training under its parent's lock: the lock stands while either process lives (an orphaned worker still trains). */
  workerPid?: number;
}

export interface RunLock {
  readonly info: LockInfo;
  readonly path: string;
  /** Removes the lock if this process still owns it. Idempotent. */
  release(): void;
}

export type LockAttempt = { acquired: true; lock: RunLock } | { acquired: false; holder: LockInfo };

export function readLock(runDir: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(runDir, LOCK_FILE), 'utf8')) as LockInfo;
    return typeof info.pid === 'number' && typeof info.host === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the lock's owner is gone (see the file comment). */
export function isStale(runDir: string, info: LockInfo, now = Date.now()): boolean {
  if (info.host === hostname()) return !processAlive(info.pid) && !(info.workerPid !== undefined && processAlive(info.workerPid));
  try {
    return now - statSync(join(runDir, LOCK_FILE)).mtimeMs > STALE_AFTER_MS;
  } catch {
    return true;
  }
}

/** The live owner of the run other than this process, if any. */
export function liveHolder(runDir: string): LockInfo | undefined {
  const info = readLock(runDir);
  if (!info || isStale(runDir, info)) return undefined;
  if (info.pid === process.pid && info.host === hostname()) return undefined;
  return info;
}

/** Takes the run's lock, taking over a stale one; the folder must exist. */
export function acquireRunLock(runDir: string): LockAttempt {
  const path = join(runDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    const info: LockInfo = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
    if (createExclusive(path, JSON.stringify(info))) return { acquired: true, lock: heldLock(path, info) };
    const holder = readLock(runDir);
    // A lock is complete once linked, so an unreadable one is garbage (a foreign write): stale.
    if (holder && !isStale(runDir, holder)) return { acquired: false, holder };
    moveAside(path, holder);
  }
  const holder = readLock(runDir);
  if (holder) return { acquired: false, holder };
  throw new Error(`${path}: could not be created`);
}

function createExclusive(path: string, text: string): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
  writeFileSync(temp, text);
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    // ENOENT: the lock holder's prepare() cleared temp files, ours included; the lock exists.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOENT') return false;
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Moves a stale lock out of the way. If another process replaced it with a fresh lock between
 * our read and the rename, the fresh one is put back (link fails if a third already took the
 * name, in which case that one stands).
 */
function moveAside(path: string, stale: LockInfo | undefined): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else moved it first
  }
  let moved: LockInfo | undefined;
  try { moved = JSON.parse(readFileSync(aside, 'utf8')) as LockInfo; } catch { moved = undefined; }
  if (stale && moved && moved.token !== stale.token) {
    try { linkSync(aside, path); } catch { /* a newer lock stands */ }
  }
  rmSync(aside, { force: true });
}

function heldLock(path: string, info: LockInfo): RunLock {
  const beat = setInterval(() => {
    try { const now = new Date(); utimesSync(path, now, now); } catch { /* released or removed */ }
  }, HEARTBEAT_MS);
  beat.unref();
  let released = false;
  return {
    info,
    path,
    release() {
      if (released) return;
      released = true;
      clearInterval(beat);
      try {
        const current = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
        if (current.token === info.token) rmSync(path, { force: true });
      } catch { /* already gone */ }
    },
  };
}

/**
 * Records this process as the worker of the lock its parent holds (token `token`), so that the
 * lock outlives a parent killed while this worker trains. Returns false if the lock is not that one.
 */
export function joinParentLock(runDir: string, token: string): boolean {
  const info = readLock(runDir);
  if (!info || info.token !== token) return false;
  writeFileAtomic(join(runDir, LOCK_FILE), JSON.stringify({ ...info, workerPid: process.pid }));
  return true;
}

export function describeHolder(holder: LockInfo): string {
  return `pid ${holder.pid} on ${holder.host === hostname() ? 'this host' : holder.host} since ${holder.since}`;
}

/** Whether a process with this pid exists on this host (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
