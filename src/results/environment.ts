import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';

/** Where and with what a run executed: recorded in every meta.json so results can be traced. */
export interface RunEnvironment {
  host: string;
  /**
   * The CPU model and core count (e.g. "AMD EPYC x 2"): results and speeds differ between vendors.
   * Absent in runs recorded before it was.
   */
  cpu?: string;
  pid: number;
  node: string;
  bnnAblate: string;
  git: { commit: string; dirty: boolean } | null;
}

let cachedGit: RunEnvironment['git'] | undefined;
let cachedVersion: string | undefined;

/** The package's own root: git and the version are read from here, not from the user's cwd. */
const PACKAGE_ROOT = new URL('../../', import.meta.url);

export function runEnvironment(): RunEnvironment {
  return { host: hostname(), cpu: cpuModel(), pid: process.pid, node: process.version, bnnAblate: packageVersion(), git: gitState() };
}

function cpuModel(): string {
  const list = cpus();
  return `${list[0]?.model?.trim() || 'unknown CPU'} x ${list.length}`;
}

function packageVersion(): string {
  cachedVersion ??= (JSON.parse(readFileSync(new URL('package.json', PACKAGE_ROOT), 'utf8')) as { version: string }).version;
  return cachedVersion;
}

function gitState(): RunEnvironment['git'] {
  if (cachedGit !== undefined) return cachedGit;
  try {
    const cwd = PACKAGE_ROOT.pathname;
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() !== '';
    cachedGit = { commit, dirty };
  } catch {
    cachedGit = null;
  }
  return cachedGit;
}
