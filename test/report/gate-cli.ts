/** Shared by the CI-gate tests: the CLI run in a working directory, with its exit code and output. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'bnn-ablate.js');

export function cli(args: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, GITHUB_STEP_SUMMARY: '' } });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}
