import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ResultsError } from '../errors.ts';

/**
 * Checks on the folders and files a command will write or read, made before any work starts so a
 * bad path is one line naming it (exit 2) instead of a crash after training, or a hang.
 *
 * Folders are created one component at a time: Node's recursive mkdir spins forever where mkdir
 * answers ENOENT for a parent that exists (/proc, /sys and other special file systems).
 */

function errno(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${describeCode(e.code)}` : String((err as Error)?.message ?? err);
}

function describeCode(code: string): string {
  switch (code) {
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EROFS': return 'read-only file system';
    case 'ENOSPC': return 'no space left on the device';
    case 'ENOTDIR': return 'a path component is a file';
    case 'ENOENT': return 'the file system refuses to create it';
    case 'EEXIST': return 'exists and is not a folder';
    default: return 'cannot be written';
  }
}

function kindOf(path: string): 'folder' | 'file' | 'special' | 'absent' {
  try {
    const s = statSync(path);
    return s.isDirectory() ? 'folder' : s.isFile() ? 'file' : 'special';
  } catch {
    return 'absent';
  }
}

/** `path` as a folder, created (with its parents) when absent; `what` names it in errors ("--results"). */
export function ensureFolder(path: string, what: string): string {
  const abs = resolve(path);
  const missing: string[] = [];
  let cur = abs;
  while (kindOf(cur) === 'absent' && dirname(cur) !== cur) {
    missing.unshift(cur);
    cur = dirname(cur);
  }
  const kind = kindOf(cur);
  if (kind !== 'folder') throw new ResultsError(`${what} ${path}: ${cur} is ${kind === 'file' ? 'a file' : 'a special file'}, not a folder`);
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (err) {
      if (kindOf(dir) === 'folder') continue; // another process made it meanwhile
      throw new ResultsError(`${what} ${path}: cannot create ${dir} (${errno(err)})`);
    }
  }
  return abs;
}

/** ensureFolder, then proves a file can be written and removed there. */
export function ensureWritableFolder(path: string, what: string): string {
  const abs = ensureFolder(path, what);
  const probe = join(abs, `.write-probe.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    throw new ResultsError(`${what} ${path}: cannot write there (${errno(err)})`);
  }
  return abs;
}

/** An existing folder to read, or one line saying what the path is instead. */
export function requireFolder(path: string, what: string): string {
  const kind = kindOf(path);
  if (kind === 'folder') return resolve(path);
  const is = kind === 'absent' ? 'does not exist' : kind === 'file' ? 'is a file, not a folder' : 'is not a folder';
  throw new ResultsError(`${what} ${path}: ${is}`);
}

/** A file the command will write at the end: its folder must exist and take files; it must not be a folder. */
export function requireWritableFile(path: string, what: string): string {
  const abs = resolve(path);
  const kind = kindOf(abs);
  if (kind === 'folder' || kind === 'special') throw new ResultsError(`${what} ${path}: is ${kind === 'folder' ? 'a folder' : 'not a regular file'}; give a file path`);
  const parent = dirname(abs);
  if (kindOf(parent) !== 'folder') throw new ResultsError(`${what} ${path}: ${parent} is not an existing folder`);
  ensureWritableFolder(parent, what);
  return abs;
}

/** Whether `path` is a regular file: reading a FIFO or a device would block or never end. */
export function isRegularFile(path: string): boolean {
  return kindOf(path) === 'file';
}
