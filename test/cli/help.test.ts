import { BACKEND_NAMES } from '../../src/backend/names.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commands } from '../../src/cli/commands.ts';
import { helpWidth } from '../../src/cli/main.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/bnn-ablate.js');
const require = createRequire(import.meta.url);

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

/** The text with every run of whitespace as one space: a word cut by a wrap no longer matches. */
const flat = (s: string) => s.replace(/\s+/g, ' ');

test('help wraps to 100 columns off a terminal, at word boundaries only', () => {
  const r = cli(['--help']);
  assert.equal(r.status, 0, r.stderr);
  const widest = Math.max(...r.stdout.split('\n').map((l) => l.length));
  assert.ok(widest <= 100 && widest > 80, `widest line ${widest}`);
  for (const c of commands) {
    if (typeof c.describe === 'string') assert.ok(flat(r.stdout).includes(flat(c.describe)), `description of ${String(c.command)} cut mid-word`);
  }
  assert.doesNotMatch(r.stdout, /nothing\s+\)/);
});

test('help follows the terminal width (80 columns through a pseudo-terminal)', (t) => {
  if (spawnSync('script', ['--version']).status !== 0) return t.skip('util-linux script(1) is not installed');
  const r = spawnSync('script', ['-qec', `stty cols 80; "${process.execPath}" "${BIN}" run --help`, '/dev/null'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.replace(/\r/g, '').split('\n');
  assert.ok(Math.max(...lines.map((l) => l.length)) <= 80, lines.find((l) => l.length > 80));
  assert.match(flat(r.stdout), /apply configs\/presets\/NAME\.yaml \(smoke, ci, cpu, paper\) or a preset file; grid values still win/);
  assert.equal(helpWidth({ isTTY: true, columns: 132 }), 132);
  assert.equal(helpWidth({ isTTY: false, columns: 132 }), 100);
});

test('completion prints yargs scripts for bash and zsh, and the script\'s queries answer', () => {
  const bash = cli(['completion', 'bash'], { SHELL: '/bin/zsh' });
  assert.equal(bash.status, 0, bash.stderr);
  assert.match(bash.stdout, /complete -o bashdefault -o default -F _bnn-ablate_yargs_completions bnn-ablate/);
  const zsh = cli(['completion', 'zsh'], { SHELL: '/bin/bash' });
  assert.match(zsh.stdout, /^#compdef bnn-ablate/);
  assert.match(zsh.stdout, /compdef _bnn-ablate_yargs_completions bnn-ablate/);
  const byShell = cli(['completion'], { SHELL: '/usr/bin/zsh' });
  assert.match(byShell.stdout, /^#compdef bnn-ablate/);
  const commandsList = cli(['--get-yargs-completions', 'bnn-ablate', 'r']).stdout.split('\n');
  for (const name of ['run', 'run-one', 'report', 'completion']) assert.ok(commandsList.includes(name), name);
  const flags = cli(['--get-yargs-completions', 'bnn-ablate', 'run', '--pre']).stdout.split('\n');
  assert.ok(flags.includes('--preset'), flags.join(' '));
});

test('--version names the tool, tfjs and every backend package', () => {
  const r = cli(['--version']);
  assert.equal(r.status, 0, r.stderr);
  const esc = (v: string) => v.replace(/\./g, '\\.');
  const version = (path: string) => esc((JSON.parse(readFileSync(require.resolve(path), 'utf8')) as { version: string }).version);
  assert.match(r.stdout, new RegExp(`^bnn-ablate ${version('../../package.json')}\\b`));
  assert.match(r.stdout, new RegExp(`^tfjs ${version('@tensorflow/tfjs/package.json')}$`, 'm'));
  // Every backend name, in auto's order, with a version or "(not installed)"; wasm and cpu ship with the package.
  const entries = BACKEND_NAMES.map((n) => (n === 'wasm' || n === 'cpu' ? `${n} \\S+` : `${n} (\\S+|\\(not installed\\))`));
  assert.match(r.stdout, new RegExp(`^backends: ${entries.join(', ')}$`, 'm'));
  assert.match(r.stdout, new RegExp(`wasm ${version('@tensorflow/tfjs-backend-wasm/package.json')},`));
});
