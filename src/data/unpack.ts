/**
 * `bnn-ablate data unpack <source>`: turns a shared data folder (one subfolder per dataset, e.g.
 * ../shared/data/{lspet,cifar10,fashion-mnist,pose-fixtures}) into ready-to-read folders under
 * `data/` (git-ignored): every `*.tar.gz` / `*.tgz` of a dataset is extracted with `tar`, every
 * other file is copied, keeping subfolders.
 *
 * Atomic and idempotent: a dataset is built in `data/.<name>.unpacking-<pid>` and renamed into
 * place only when complete, with a `.unpacked` stamp listing the source files' names, sizes and
 * modification times. A folder whose stamp matches is left alone (nothing to do); one whose stamp
 * differs is rebuilt and swapped in; leftovers of an interrupted run (the `.unpacking-` folders)
 * are removed, never taken as complete. A folder without a stamp is the user's own copy and is
 * never touched.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { DataError } from '../errors.ts';

export const STAMP = '.unpacked';
const ARCHIVE = /\.(tar\.gz|tgz)$/;

export interface UnpackResult {
  name: string;
  dest: string;
  action: 'unpacked' | 'up to date' | 'left alone (not made by unpack)';
  seconds: number;
}

async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p, base)));
    else if (e.isFile()) out.push(relative(base, p));
  }
  return out.sort();
}

/** What the stamp records: every source file with size and mtime, one per line. */
async function fingerprint(dir: string, files: string[]): Promise<string> {
  const lines = await Promise.all(files.map(async (f) => { const s = await stat(join(dir, f)); return `${f}\t${s.size}\t${Math.round(s.mtimeMs)}`; }));
  return `${lines.join('\n')}\n`;
}

function tar(archive: string, into: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn('tar', ['-xzf', archive, '-C', into, '--no-same-owner'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += String(d); });
    child.on('error', (e) => fail(new DataError(`data unpack: cannot run tar (${e.message})`)));
    child.on('close', (code) => (code === 0 ? done() : fail(new DataError(`data unpack: tar -xzf ${archive} failed (exit ${code}): ${err.trim().split('\n')[0] ?? ''}`))));
  });
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** Unpacks one dataset folder `src` into `dest`. */
async function unpackOne(src: string, dest: string, name: string): Promise<UnpackResult> {
  const t0 = performance.now();
  const files = (await walk(src)).filter((f) => f !== STAMP);
  const stamp = await fingerprint(src, files);
  if (await exists(dest)) {
    const have = await readFile(join(dest, STAMP), 'utf8').catch(() => null);
    if (have === null) return { name, dest, action: 'left alone (not made by unpack)', seconds: 0 };
    if (have === stamp) return { name, dest, action: 'up to date', seconds: (performance.now() - t0) / 1000 };
  }
  const tmp = join(dest, '..', `.${name}.unpacking-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    for (const f of files) {
      const from = join(src, f), to = join(tmp, f);
      if (ARCHIVE.test(f)) {
        await mkdir(join(to, '..'), { recursive: true });
        await tar(from, join(to, '..'));
      } else {
        await mkdir(join(to, '..'), { recursive: true });
        await copyFile(from, to);
      }
    }
    await writeFile(join(tmp, STAMP), stamp);
    // Swap: the old folder (a stale unpack) goes aside first, so `dest` is never half-made.
    const old = `${tmp}.old`;
    if (await exists(dest)) await rename(dest, old);
    await rename(tmp, dest);
    await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return { name, dest, action: 'unpacked', seconds: (performance.now() - t0) / 1000 };
}

/** Unpacks every dataset subfolder of `source` into `destRoot` (default `data`). */
export async function unpackAll(source: string, destRoot = 'data', only?: readonly string[]): Promise<UnpackResult[]> {
  const src = resolve(source), dst = resolve(destRoot);
  const st = await stat(src).catch(() => null);
  if (!st?.isDirectory()) throw new DataError(`data unpack: ${source} is not a folder`);
  await mkdir(dst, { recursive: true });
  // Leftovers of interrupted runs are never complete: remove those whose process is gone.
  for (const e of await readdir(dst)) {
    const m = /^\..+\.unpacking-(\d+)(\.old)?$/.exec(e);
    if (m && !alive(Number(m[1]))) await rm(join(dst, e), { recursive: true, force: true });
  }
  const names = (await readdir(src, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const unknown = (only ?? []).filter((n) => !names.includes(n));
  if (unknown.length) throw new DataError(`data unpack: ${source} has no dataset folder ${unknown.join(', ')} (it has ${names.join(', ')})`);
  const out: UnpackResult[] = [];
  for (const name of names) {
    if (only && only.length && !only.includes(name)) continue;
    out.push(await unpackOne(join(src, name), join(dst, name), name));
  }
  return out;
}
