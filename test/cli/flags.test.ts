/**
 * Flags are checked before any work: a misspelled flag is one line with the nearest known flag,
 * exit 2, and nothing is trained or written (it used to train the whole grid first, or to start
 * a full-size run without the misspelled preset).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagErrorLine } from '../../src/cli/flag-errors.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/bnn-ablate.js');
const cli = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

test('a misspelled flag of run stops before training: one line, did you mean, exit 2, no results folder', () => {
  const results = join(mkdtempSync(join(tmpdir(), 'bnn-flags-')), 'results');
  for (const [flag, guess] of [['--fail-fats', '--fail-fast'], ['--presett=ci', '--preset']] as const) {
    const started = Date.now();
    const r = cli(['run', 'experiments/smoke.yaml', flag, '--results', results]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`unknown option ${flag.replace(/=.*/, '')} \\(did you mean ${guess}\\?\\)`));
    assert.equal(existsSync(results), false, `${flag}: wrote results`);
    assert.ok(Date.now() - started < 20_000);
  }
});

test('an unknown command and a bad choice are one line each, exit 2', () => {
  const cmd = cli(['pln', 'experiments/smoke.yaml']);
  assert.equal(cmd.status, 2);
  assert.equal(cmd.stderr.trim(), "bnn-ablate: unknown command 'pln' (did you mean 'plan'?)");
  const choice = cli(['run', 'experiments/smoke.yaml', '--executor', 'slurmm']);
  assert.equal(choice.status, 2);
  assert.equal(choice.stderr.trim().split('\n').length, 1, choice.stderr);
  assert.match(choice.stderr, /executor.*slurmm/);
});

test('flagErrorLine keeps the typed spelling, names extra unknowns, and folds multi-line messages', () => {
  const ctx = { options: ['help', 'version', 'jobs', 'json', 'fail-fast'], commands: ['plan', 'run'] };
  assert.equal(flagErrorLine({ ...ctx, message: 'Unknown arguments: jsn, jobz, x', argv: ['plan', 'a.yaml', '--jsn', '--jobz=2', 'x'] }),
    "unknown option --jsn (did you mean --json?) (and --jobz, 'x'); see --help");
  assert.equal(flagErrorLine({ ...ctx, message: 'Unknown arguments: zzz-top, zzzTop', argv: ['plan', '--zzz-top'] }), 'unknown option --zzz-top; see --help');
  assert.equal(flagErrorLine({ ...ctx, message: 'Invalid values:\n  Argument: x', argv: [] }), 'Invalid values: Argument: x; see --help');
});

test('a misspelled flag is named even when another complaint (a missing argument) comes first', () => {
  const r = cli(['run', '--fail-fats']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), 'bnn-ablate: unknown option --fail-fats (did you mean --fail-fast?); see --help');
  const check = cli(['check', 'results/x', '--baselin', 'b.json']);
  assert.equal(check.stderr.trim(), 'bnn-ablate: unknown option --baselin (did you mean --baseline?); see --help');
});

test('a flag without its value is bad input (exit 2), not an internal error', () => {
  const r = cli(['plan', 'experiments/smoke.yaml', '--set']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), 'bnn-ablate: Not enough arguments following: set; see --help');
});
