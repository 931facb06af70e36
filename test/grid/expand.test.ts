/** Grid expansion: cartesian grids, zip, exclude, include, seeds, names and params. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPlan } from '../../src/grid/index.ts';
import { tree } from '../config/fixture.ts';

function plan(exp: string, opts: { preset?: string; sets?: string[] } = {}, extra: Record<string, string> = {}) {
  const cwd = tree({ 'exp.yaml': exp, ...extra });
  return loadPlan('exp.yaml', { cwd, ...opts });
}
const names = (exp: string, opts = {}) => plan(exp, opts).runs.map((r) => r.name);

describe('grid expansion', () => {
  it('a file without grid or zip is one run of the base config', () => {
    const p = plan('name: one\nset: {model.stacks: 2}\n');
    assert.equal(p.runs.length, 1);
    assert.equal(p.runs[0]!.name, 'seed=0');
    assert.deepEqual(p.runs[0]!.params, { seed: 0 });
    assert.equal(p.runs[0]!.config.model.stacks, 2);
    assert.deepEqual(p.runs[0]!.dependsOn, []);
  });

  it('reads an empty set: as no overrides', () => {
    assert.deepEqual(plan('name: x\nset:\n# train.lr: 0.1\n').runs.map((r) => r.name), ['seed=0']);
  });

  it('takes the cartesian product, first key slowest', () => {
    assert.deepEqual(names('grid:\n  model.stacks: [1, 2]\n  model.activation: [relu, prelu]\n'), [
      'stacks=1,activation=relu,seed=0', 'stacks=1,activation=prelu,seed=0',
      'stacks=2,activation=relu,seed=0', 'stacks=2,activation=prelu,seed=0',
    ]);
  });

  it('accepts nested keys in a grid', () => {
    assert.deepEqual(names('grid:\n  model:\n    stacks: [1, 2]\n'), ['stacks=1,seed=0', 'stacks=2,seed=0']);
  });

  it('advances zip lists together and crosses zip groups with the grid', () => {
    const exp = 'grid:\n  model.stacks: [1, 2]\nzip:\n  - progressive.enabled: [false, true, true]\n    progressive.function: [tanh, tanh, sigmoid]\n';
    assert.deepEqual(names(exp), [
      'stacks=1,progressive=false,function=tanh,seed=0', 'stacks=1,progressive=true,function=tanh,seed=0', 'stacks=1,progressive=true,function=sigmoid,seed=0',
      'stacks=2,progressive=false,function=tanh,seed=0', 'stacks=2,progressive=true,function=tanh,seed=0', 'stacks=2,progressive=true,function=sigmoid,seed=0',
    ]);
  });

  it('drops excluded points (partial matches) and appends included ones', () => {
    const exp = [
      'grid:', '  model.stacks: [1, 2]', '  model.activation: [relu, prelu]',
      'exclude:', '  - {model.stacks: 2, model.activation: relu}',
      'include:', '  - {model.stacks: 3, train.lr: 0.01}', '',
    ].join('\n');
    const p = plan(exp);
    assert.deepEqual(p.runs.map((r) => r.name), [
      'stacks=1,activation=relu,lr=0.001,seed=0', 'stacks=1,activation=prelu,lr=0.001,seed=0',
      'stacks=2,activation=prelu,lr=0.001,seed=0', 'stacks=3,activation=prelu,lr=0.01,seed=0',
    ]);
    // Every run carries every varying key, resolved, so the reporter gets full columns.
    assert.deepEqual(p.runs[3]!.params, { 'model.stacks': 3, 'model.activation': 'prelu', 'train.lr': 0.01, seed: 0 });
  });

  it('an exclude entry with one key drops every point that has that value', () => {
    assert.deepEqual(names('grid:\n  model.stacks: [1, 2]\n  model.binary: [true, false]\nexclude:\n  - {model.binary: false}\n'),
      ['stacks=1,seed=0', 'stacks=2,seed=0']);
  });

  it('include adds to the single base point when there is no grid', () => {
    assert.deepEqual(names('include:\n  - {model.stacks: 2}\n'), ['stacks=1,seed=0', 'stacks=2,seed=0']);
  });

  it('repeats every point per seed, seed-major', () => {
    const p = plan('grid:\n  model.stacks: [1, 2]\nseeds: [3, 5]\n');
    assert.deepEqual(p.runs.map((r) => [r.name, r.seed, r.config.seed, r.params.seed]), [
      ['stacks=1,seed=3', 3, 3, 3], ['stacks=2,seed=3', 3, 3, 3], ['stacks=1,seed=5', 5, 5, 5], ['stacks=2,seed=5', 5, 5, 5],
    ]);
  });

  it('without seeds, the seed is the config\'s', () => {
    assert.deepEqual(plan('set: {seed: 7}\n').runs.map((r) => r.seed), [7]);
  });

  it('names keys by their last segment unless two varying keys share it', () => {
    assert.deepEqual(names('grid:\n  train.batch_size: [8, 16]\n  eval.batch_size: [32]\n  train.lr: [0.1]\n'),
      ['batch_size=8,seed=0', 'batch_size=16,seed=0']);
    assert.deepEqual(names('zip:\n  - train.batch_size: [8, 16]\n    eval.batch_size: [32, 64]\n'),
      ['train.batch_size=8,eval.batch_size=32,seed=0', 'train.batch_size=16,eval.batch_size=64,seed=0']);
  });

  it('formats lists and nulls in names', () => {
    assert.deepEqual(names('grid:\n  train.lr_milestones: [[0.5, 0.75], [0.9]]\n  train.epochs: [null, 2]\n'), [
      'lr_milestones=[0.5,0.75],epochs=null,seed=0', 'lr_milestones=[0.5,0.75],epochs=2,seed=0',
      'lr_milestones=[0.9],epochs=null,seed=0', 'lr_milestones=[0.9],epochs=2,seed=0',
    ]);
  });

  it('collapses points that resolve to the same config, with a warning', () => {
    const p = plan('grid:\n  model.activation: [relu, prelu]\ninclude:\n  - {model.activation: relu}\n');
    assert.equal(p.runs.length, 2);
    assert.deepEqual(p.warnings, ['1 point(s) resolved to the same config as an earlier one and were collapsed']);
    const pinned = plan('grid:\n  model.activation: [relu, prelu]\nseeds: [0, 1]\n', { sets: ['model.activation=relu', 'seed=1'] });
    assert.deepEqual(pinned.runs.map((r) => r.name), ['seed=1']);
    assert.deepEqual(pinned.runs[0]!.params, { seed: 1 });
    assert.equal(pinned.warnings?.length, 1);
  });

  it('keeps name, description and report; defaults the name to the file name', () => {
    const p = plan('name: study\ndescription: what it tests\ngrid:\n  model.activation: [relu, prelu]\nreport:\n  baseline: {model.activation: relu}\n  paper_finding: PReLU wins\n');
    assert.equal(p.experiment, 'study');
    assert.equal(p.file, 'exp.yaml');
    assert.equal(p.description, 'what it tests');
    assert.deepEqual(p.report, { baseline: { 'model.activation': 'relu' }, paper_finding: 'PReLU wins' });
    assert.equal(plan('seeds: [0]\n').experiment, 'exp');
  });

  it('plans a plain run config as one run', () => {
    const cwd = tree({ 'base.yaml': 'model.stacks: 2\n', 'run.yaml': 'extends: base.yaml\ntrain.lr: 0.5\n' });
    const p = loadPlan('run.yaml', { cwd });
    assert.equal(p.experiment, 'run');
    assert.deepEqual([p.runs.length, p.runs[0]!.config.model.stacks, p.runs[0]!.config.train.lr], [1, 2, 0.5]);
  });
});
