/** Layering: defaults < extends chain < set < preset (then its per_task) < point < --set. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPlan } from '../../src/grid/index.ts';
import { throwsBadInput, tree } from '../config/fixture.ts';

const FILES = {
  'configs/presets/small.yaml': [
    'train.steps: 50', 'model.channels: 16', 'model.stacks: 3', 'train.lr: 0.5',
    'per_task:', '  pose: {data.train_size: 100}', '  classification: {data.train_size: 200, model.arch: alexnet}', '',
  ].join('\n'),
  'root.yaml': 'train.steps: 1\ntrain.lr: 0.1\nmodel.depth: 2\ntrain.batch_size: 4\n',
  'base.yaml': 'extends: root.yaml\ntrain.steps: 2\ntrain.lr: 0.2\n',
  'exp.yaml': 'extends: base.yaml\nset:\n  train.steps: 3\n  train.lr: 0.3\n  model.depth: 4\ngrid:\n  model.stacks: [1, 2]\n',
};

function plan(opts: { preset?: string; sets?: string[] } = {}, files: Record<string, string> = FILES) {
  return loadPlan('exp.yaml', { cwd: tree(files), ...opts });
}

describe('precedence', () => {
  it('extends chain < set', () => {
    const c = plan().runs[0]!.config;
    assert.deepEqual([c.train.steps, c.train.lr, c.model.depth, c.train.batch_size], [3, 0.3, 4, 4]);
  });

  it('set < preset < grid: a preset shrinks what set fixed but never a grid key', () => {
    const runs = plan({ preset: 'small' }).runs;
    assert.deepEqual(runs.map((r) => [r.config.train.steps, r.config.model.channels, r.config.model.stacks, r.config.train.lr]),
      [[50, 16, 1, 0.5], [50, 16, 2, 0.5]]);
    assert.deepEqual(runs.map((r) => r.name), ['stacks=1,seed=0', 'stacks=2,seed=0']);
  });

  it('applies only the per_task section of the run\'s task', () => {
    assert.equal(plan({ preset: 'small' }).runs[0]!.config.data.train_size, 100);
    const cls = plan({ preset: 'small', sets: ['task=classification', 'data.name=mnist'] }).runs[0]!.config;
    assert.deepEqual([cls.data.train_size, cls.model.arch], [200, 'alexnet']);
  });

  it('--set beats everything, grid keys and seeds included', () => {
    const runs = plan({ preset: 'small', sets: ['train.steps=9', 'model.stacks=2', 'train.lr=0.7'] }).runs;
    assert.equal(runs.length, 1);
    assert.deepEqual([runs[0]!.config.train.steps, runs[0]!.config.model.stacks, runs[0]!.config.train.lr], [9, 2, 0.7]);
  });

  it('a preset\'s seeds replace the experiment\'s', () => {
    const files = { ...FILES, 'configs/presets/one.yaml': 'seeds: [9]\n', 'exp.yaml': `${FILES['exp.yaml']}seeds: [0, 1, 2]\n` };
    assert.deepEqual(plan({ preset: 'one' }, files).runs.map((r) => r.seed), [9, 9]);
    assert.deepEqual(plan({}, files).runs.map((r) => r.seed), [0, 0, 1, 1, 2, 2]);
  });

  it('bad --set and --preset values are one-line errors', () => {
    throwsBadInput(() => plan({ sets: ['model.stacks=many'] }), "--set 'model.stacks=many': model.stacks: expected an integer, got string 'many'");
    throwsBadInput(() => plan({ preset: 'large' }), /^--preset 'large': no configs\/presets\/large\.yaml \(available: .*small.*\)$/);
  });
});
