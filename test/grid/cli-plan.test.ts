/** `bnn-ablate plan`: table and JSON output, shared flags, and the error path through bin/. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { planCommand } from '../../src/cli/plan.ts';
import { tree } from '../config/fixture.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs the plan command in-process with the working directory at `cwd`; returns its stdout. */
async function planCli(args: string[], cwd: string): Promise<{ out: string; err: string }> {
  const write = { out: process.stdout.write, err: process.stderr.write };
  const before = process.cwd();
  let out = '';
  let err = '';
  process.stdout.write = ((chunk: string) => { out += chunk; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => { err += chunk; return true; }) as typeof process.stderr.write;
  try {
    process.chdir(cwd);
    await yargs(args).command(planCommand).strict().fail((msg, e) => { throw e ?? new Error(msg); }).parseAsync();
  } finally {
    process.chdir(before);
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
  return { out, err };
}

const FILES = {
  'exp.yaml': 'name: demo\ndescription: two stacks\ngrid:\n  model.stacks: [1, 2]\n  distill.teacher: [null, {model.binary: false}]\nseeds: [0]\n',
  'configs/presets/tiny.yaml': 'train.steps: 5\n',
};

describe('plan command', () => {
  it('prints a table of id, name, seed and depends-on', async () => {
    const { out } = await planCli(['plan', 'exp.yaml'], tree(FILES));
    const lines = out.trimEnd().split('\n');
    assert.equal(lines[0], 'demo (exp.yaml): 6 runs');
    assert.equal(lines[1], 'two stacks');
    assert.match(lines[3]!, /^id\s+name\s+seed\s+depends-on$/);
    assert.match(lines[4]!, /^[0-9a-f]{10}  teacher:binary=false,stacks=1,seed=0\s+0\s+-$/);
    const student = lines.find((l) => l.includes('stacks=1,teacher={binary=false}'))!;
    assert.equal(student.split(/\s+/)[3], lines[4]!.split(/\s+/)[0]);
  });

  it('prints JSON runs with --json, honouring --preset and repeated --set placed anywhere', async () => {
    const { out } = await planCli(['plan', '--set', 'train.lr=0.5', 'exp.yaml', '--preset', 'tiny', '--set', 'data.val_size=7', '--json'], tree(FILES));
    const runs = JSON.parse(out) as Array<Record<string, any>>;
    assert.equal(runs.length, 6);
    assert.deepEqual(Object.keys(runs[0]!).sort(), ['config', 'dependsOn', 'experiment', 'id', 'name', 'params', 'seed']);
    assert.ok(runs.every((r) => r.config.train.steps === 5 && r.config.train.lr === 0.5 && r.config.data.val_size === 7 && r.experiment === 'demo'));
    assert.deepEqual(runs[0]!.params, { role: 'teacher', 'model.binary': false, 'model.stacks': 1, seed: 0 });
  });

  it('exits 2 with a single file:line:col line and no stack through bin/', () => {
    const cwd = tree({ 'bad.yaml': 'name: bad\nset:\n  model:\n    activaton: relu\n' });
    const r = spawnSync(process.execPath, [`${ROOT}bin/bnn-ablate.js`, 'plan', 'bad.yaml'], { cwd, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "bnn-ablate: bad.yaml:4:5: unknown key 'model.activaton' (did you mean 'model.activation'?)\n");
  });
});
