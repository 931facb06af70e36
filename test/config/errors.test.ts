/** Every config error: its one-line message and its file:line:col. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeError } from '../../src/errors.ts';
import { loadPlan } from '../../src/grid/index.ts';
import { throwsConfig, tree } from './fixture.ts';

const BASE = `
  task: pose
  model:
    activation: prelu
`;

/** Plans `exp.yaml` (with base.yaml beside it) in a fresh temp dir. */
function plan(exp: string, extra: Record<string, string> = {}) {
  const cwd = tree({ 'base.yaml': BASE, 'exp.yaml': exp, ...extra });
  return () => loadPlan('exp.yaml', { cwd });
}

describe('config errors', () => {
  it('reports YAML syntax errors at their position', () => {
    throwsConfig(plan('name: x\ngrid:\n  model.stacks: [1, 2\n'), /^exp\.yaml:\d+:\d+: YAML syntax error: Flow sequence/);
    throwsConfig(plan('name: x\nname: y\n'), 'exp.yaml:2:1: YAML syntax error: Map keys must be unique');
  });

  it('suggests the nearest key for unknown keys, nested or dotted', () => {
    throwsConfig(plan('name: x\nset:\n  model:\n    activaton: relu\n'), "exp.yaml:4:5: unknown key 'model.activaton' (did you mean 'model.activation'?)");
    throwsConfig(plan('name: x\nset:\n  model.activaton: relu\n'), "exp.yaml:3:3: unknown key 'model.activaton' (did you mean 'model.activation'?)");
    throwsConfig(plan('name: x\nset:\n  model.lr: 0.1\n'), "exp.yaml:3:3: unknown key 'model.lr' (did you mean 'train.lr'?)");
    throwsConfig(plan('name: x\nset:\n  zzz: 1\n'), "exp.yaml:3:3: unknown key 'zzz'");
    throwsConfig(plan('name: x\ngrid:\n  model.stack: [1, 2]\n'), "exp.yaml:3:3: grid: unknown key 'model.stack' (did you mean 'model.stacks'?)");
  });

  it('rejects unknown top-level keys, and run-config keys outside set', () => {
    throwsConfig(plan('name: x\ngrdi:\n  model.stacks: [1]\n'), "exp.yaml:2:1: unknown key 'grdi' (did you mean 'grid'?)");
    throwsConfig(plan('name: x\ntrain.lr: 0.1\n'), "exp.yaml:2:1: 'train.lr' is a run-config key: put it under 'set:'");
    throwsConfig(plan('name: x\nmodel:\n  stacks: 2\n'), "exp.yaml:2:1: 'model' is a run-config key: put it under 'set:'");
  });

  it('rejects wrong types, values outside choices and bounds', () => {
    throwsConfig(plan('name: x\nset:\n  train.lr: fast\n'), "exp.yaml:3:13: train.lr: expected a number, got string 'fast'");
    throwsConfig(plan('name: x\nset:\n  model.stacks: 1.5\n'), 'exp.yaml:3:17: model.stacks: expected an integer, got number 1.5');
    throwsConfig(plan('name: x\nset:\n  model.binary: yes\n'), "exp.yaml:3:17: model.binary: expected a boolean (true or false), got string 'yes'");
    throwsConfig(plan('name: x\nset:\n  train.lr_milestones: [0.5, x]\n'), 'exp.yaml:3:24: train.lr_milestones: expected a list of numbers, got list [0.5,"x"]');
    throwsConfig(plan('name: x\nset:\n  train.steps: null\n'), 'exp.yaml:3:16: train.steps: expected an integer, got null');
    throwsConfig(plan('name: x\ngrid:\n  model.activation: [relu, prelu2]\n'),
      "exp.yaml:3:28: model.activation: 'prelu2' is not one of none, relu, leaky_relu, prelu (did you mean 'prelu'?)");
    throwsConfig(plan('name: x\nset:\n  model.stacks: 9\n'), 'exp.yaml:3:17: model.stacks: 9 is above the maximum 8');
    throwsConfig(plan('name: x\nset:\n  train.lr: -1\n'), 'exp.yaml:3:13: train.lr: -1 must be greater than 0');
    throwsConfig(plan('name: x\nset:\n  train.lr: 0\n'), 'exp.yaml:3:13: train.lr: 0 must be greater than 0');
    throwsConfig(plan('name: x\nset:\n  model: 3\n'), 'exp.yaml:3:10: section \'model\' must be a mapping, got integer 3');
  });

  it('rejects a key set twice through different spellings', () => {
    throwsConfig(plan('name: x\nset:\n  train:\n    lr: 0.1\n  train.lr: 0.2\n'), "exp.yaml:5:3: 'train.lr' is set twice (first at line 4)");
  });

  it('rejects empty grids, empty lists and repeated values', () => {
    throwsConfig(plan('name: x\ngrid: {}\n'), 'exp.yaml:2:7: grid: empty (give at least one key and its list of values)');
    throwsConfig(plan('name: x\ngrid:\n'), 'exp.yaml:2:6: grid: empty (give at least one key and its list of values)');
    throwsConfig(plan('name: x\ngrid:\n  model.stacks: []\n'), "exp.yaml:3:17: grid 'model.stacks': empty list of values");
    throwsConfig(plan('name: x\ngrid:\n  model.stacks: 2\n'), "exp.yaml:3:17: grid 'model.stacks' must be a list, got integer 2");
    throwsConfig(plan('name: x\ngrid:\n  model.stacks: [1, 1]\n'), "exp.yaml:3:21: grid 'model.stacks': value 1 is listed twice");
    throwsConfig(plan('name: x\ngrid:\n  seed: [1, 2]\n'), "exp.yaml:3:3: grid cannot vary 'seed': list seeds under 'seeds:'");
  });

  it('rejects zip lists of unequal length and keys varied twice', () => {
    throwsConfig(plan('name: x\nzip:\n  - model.stacks: [1, 2]\n    train.lr: [0.1]\n'),
      "exp.yaml:4:5: zip lists differ in length: 'model.stacks' has 2 values, 'train.lr' has 1");
    throwsConfig(plan('name: x\ngrid:\n  model.stacks: [1, 2]\nzip:\n  - model.stacks: [1, 2]\n    train.lr: [0.1, 0.2]\n'),
      "exp.yaml:5:5: 'model.stacks' is varied twice (first at line 3)");
  });

  it('rejects exclude entries naming keys or values not in the grid', () => {
    const grid = 'name: x\ngrid:\n  model.stacks: [1, 2]\n';
    throwsConfig(plan(`${grid}exclude:\n  - {model.activation: relu}\n`),
      "exp.yaml:5:6: exclude names 'model.activation', which is not in grid or zip (varied: model.stacks)");
    throwsConfig(plan(`${grid}exclude:\n  - {model.stacks: 3}\n`), "exp.yaml:5:20: exclude: 3 is not one of the values of 'model.stacks'");
    throwsConfig(plan(`${grid}exclude:\n  - {model.stacks: 1}\n  - {model.stacks: 2}\n`), 'exp.yaml:5:5: exclude drops every point of the grid: nothing to run');
  });

  it('reports a missing extends file and extends cycles where extends is written', () => {
    throwsConfig(plan('name: x\nextends: nope.yaml\n'), "exp.yaml:2:10: extends 'nope.yaml': no such file");
    throwsConfig(plan('name: x\nextends: a.yaml\n', { 'a.yaml': 'extends: b.yaml\n', 'b.yaml': 'extends: a.yaml\n' }),
      'b.yaml:1:10: extends cycle: a.yaml -> b.yaml -> a.yaml');
    throwsConfig(plan('name: x\nextends: self.yaml\n', { 'self.yaml': 'extends: ./self.yaml\n' }), 'self.yaml:1:10: extends cycle: self.yaml -> self.yaml');
    throwsConfig(plan('name: x\nextends: e2.yaml\n', { 'e2.yaml': 'name: y\ngrid:\n  model.stacks: [1]\n' }),
      "e2.yaml:1:1: 'name' belongs in an experiment file, not in a run config");
  });

  it('errors in an extended file point into that file', () => {
    throwsConfig(plan('name: x\nextends: base2.yaml\n', { 'base2.yaml': 'extends: base.yaml\ntrain:\n  optimiser: adam\n' }),
      "base2.yaml:3:3: unknown key 'train.optimiser' (did you mean 'train.optimizer'?)");
  });

  it('validates teacher mappings, seeds, include, report and name', () => {
    throwsConfig(plan('name: x\nset:\n  distill.teacher: {seed: 3}\n'), "exp.yaml:3:21: distill.teacher cannot set 'seed': the teacher always uses the student's seed");
    throwsConfig(plan('name: x\nset:\n  distill.teacher: {model.binry: false}\n'), "exp.yaml:3:21: unknown key 'model.binry' (did you mean 'model.binary'?)");
    throwsConfig(plan('name: x\nset:\n  distill.teacher: 3\n'), 'exp.yaml:3:20: distill.teacher: expected null, a run directory or a mapping of keys, got 3');
    throwsConfig(plan('name: x\nseeds: [0, -1]\n'), 'exp.yaml:2:12: seeds: expected a non-negative integer, got -1');
    throwsConfig(plan('name: x\nseeds: [0, 0]\n'), 'exp.yaml:2:12: seeds: 0 is listed twice');
    throwsConfig(plan('name: x\nseeds: []\n'), 'exp.yaml:2:8: seeds: empty list');
    throwsConfig(plan('name: x\ninclude:\n  - {seed: 1}\n'), "exp.yaml:3:6: include cannot set 'seed': list seeds under 'seeds:'");
    throwsConfig(plan('name: x\nreport: [1]\n'), 'exp.yaml:2:9: report must be a mapping, got a list');
    throwsConfig(plan('name: a/b\n'), "exp.yaml:1:7: name 'a/b' must be letters, digits, '.', '_' or '-' (it names the results folder)");
  });

  it('rejects resolved configs whose keys contradict each other', () => {
    throwsConfig(plan('name: x\nset:\n  task: classification\n'),
      "exp.yaml: run 'seed=0': task 'classification' needs model.arch alexnet or resnet18, got 'hourglass'");
  });

  it('maps to exit code 2 and a single line without a stack', () => {
    let err: unknown;
    try { plan('name: x\nset:\n  train.lr: fast\n')(); } catch (e) { err = e; }
    const { code, message, internal } = describeError(err);
    assert.equal(code, 2);
    assert.equal(internal, false);
    assert.equal(message, "exp.yaml:3:13: train.lr: expected a number, got string 'fast'");
  });
});
