/**
 * Inputs that used to pass `plan` and fail later (inside every worker, or never): each is now
 * refused at plan time with one line naming the file (and line where there is one).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import path from 'node:path';
import { loadPlan, loadPlans } from '../../src/grid/index.ts';
import { throwsConfig, tree } from '../config/fixture.ts';

const plan = (exp: string) => () => loadPlan('exp.yaml', { cwd: tree({ 'exp.yaml': exp }) });
const pose = (set: string) => plan(`name: x\nset:\n${set}`);

describe('plan-time checks', () => {
  it('refuses HourGlass sizes the model cannot build', () => {
    throwsConfig(pose('  data.input_size: 66\n  data.heatmap_size: 16\n'), /exp\.yaml: run 'seed=0': data\.input_size 66 is not divisible by 4/);
    throwsConfig(pose('  data.input_size: 64\n  data.heatmap_size: 32\n'), /data\.heatmap_size 32 is not data\.input_size \/ 4 = 16/);
    throwsConfig(pose('  data.input_size: 64\n  data.heatmap_size: 16\n  model.depth: 5\n'), /model\.depth 5 halves the 16x16 heatmap 5 times: its side must be divisible by 32/);
  });

  it('refuses classifier input sides outside what AlexNet and ResNet-18 build (28..224)', () => {
    const cls = (side: number) => plan(`name: x\nset:\n  task: classification\n  model.arch: resnet18\n  data.name: mnist\n  data.input_size: ${side}\n`);
    throwsConfig(cls(16), /exp\.yaml: run 'seed=0': data\.input_size: resnet18 takes sides 28\.\.224, got 16/);
    throwsConfig(cls(256), /takes sides 28\.\.224, got 256/);
    cls(32)();
  });

  it('refuses a zero learning rate and milestones outside (0, 1)', () => {
    throwsConfig(pose('  train.lr: 0\n'), 'exp.yaml:3:13: train.lr: 0 must be greater than 0');
    throwsConfig(pose('  train.lr_milestones: [0.5, 1.5]\n'), /train\.lr_milestones: 1\.5 is not a fraction of training in \(0, 1\)/);
    throwsConfig(pose('  train.lr_milestones: [0]\n'), /train\.lr_milestones: 0 is not a fraction/);
  });

  it('checks the report section: known keys, the metric, and selectors that match a run', () => {
    const grid = 'name: x\ngrid:\n  model.activation: [relu, prelu]\n';
    throwsConfig(plan(`${grid}report:\n  baselin: {model.activation: relu}\n`), "exp.yaml:5:3: report: unknown key 'baselin' (did you mean 'baseline'?)");
    throwsConfig(plan(`${grid}report:\n  metric: pckj\n`), "exp.yaml:5:11: report.metric: 'pckj' is not one of pckh, top1");
    throwsConfig(plan(`${grid}report:\n  baseline: {model.activaton: relu}\n`), /exp\.yaml:5:14: report\.baseline: unknown key 'model\.activaton' \(did you mean 'model\.activation'\?\)/);
    throwsConfig(plan(`${grid}report:\n  baseline: {model.activation: relux}\n`),
      'exp.yaml:5:13: report.baseline {"model.activation":"relux"} matches no run of the grid (runs have model.activation in {"relu", "prelu"})');
    assert.equal(plan(`${grid}report:\n  baseline: {model.activation: relu}\n`)().runs.length, 2);
  });

  it('refuses empty, comment-only and multi-document experiment files', () => {
    throwsConfig(plan(''), /exp\.yaml: experiment 'exp\.yaml' is empty/);
    throwsConfig(plan('# nothing here\n\n'), /is empty \(nothing but comments or blank lines\)/);
    throwsConfig(plan('name: a\n---\nname: b\n'), 'exp.yaml:2:1: a second YAML document (---) starts here; a config file holds one');
  });

  it('refuses an alias bomb quickly, and a FIFO without blocking', () => {
    const lines = ['name: bomb', 'x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 9; i++) lines.push(`x${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    const started = Date.now();
    throwsConfig(plan(`${lines.join('\n')}\n`), /exp\.yaml: aliases expand this document to more than 100000 values/);
    assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
    const cwd = tree({});
    try {
      execFileSync('mkfifo', [path.join(cwd, 'exp.yaml')]);
    } catch {
      return; // no mkfifo here
    }
    throwsConfig(() => loadPlan('exp.yaml', { cwd }), "experiment 'exp.yaml': not a regular file");
  });
});

describe('plan size and duplicates', () => {
  it('refuses a grid above the limit from its axis lengths, before expanding it', () => {
    const keys = ['train.lr', 'train.steps', 'train.batch_size', 'model.channels', 'data.train_size', 'data.val_size', 'eval.batch_size'];
    const values = Array.from({ length: 10 }, (_, i) => i + 4).join(', ');
    const exp = `name: big\ngrid:\n${keys.map((k) => `  ${k}: [${values}]`).join('\n')}\nseeds: [0, 1, 2]\n`;
    const started = Date.now();
    throwsConfig(plan(exp), 'exp.yaml:3:3: the grid is 10 × 10 × 10 × 10 × 10 × 10 × 10 × 3 seeds = 30,000,000 runs, above the limit of 10,000; narrow it or raise --max-runs');
    assert.ok(Date.now() - started < 1000);
    const small = `name: s\ngrid:\n  train.lr: [0.1, 0.2, 0.3]\nseeds: [0, 1]\n`;
    throwsConfig(() => loadPlan('exp.yaml', { cwd: tree({ 'exp.yaml': small }), maxRuns: 5 }), /= 6 runs, above the limit of 5/);
    assert.equal(loadPlan('exp.yaml', { cwd: tree({ 'exp.yaml': small }), maxRuns: 6 }).runs.length, 6);
  });

  it('plans a file named twice once (with a warning), and refuses two files with one name', () => {
    const cwd = tree({ 'a.yaml': 'name: same\nseeds: [0]\n', 'b.yaml': 'name: same\nseeds: [1]\n', 'suite.yaml': 'experiments: [a.yaml]\n' });
    const plans = loadPlans(['a.yaml', 'suite.yaml', './a.yaml'], { cwd });
    assert.equal(plans.length, 1);
    assert.match(plans[0]!.warnings!.join(' '), /a\.yaml is named more than once .*; planned once/);
    throwsConfig(() => loadPlans(['a.yaml', 'b.yaml'], { cwd }), "b.yaml: two experiments are named 'same' (a.yaml and b.yaml): their results would mix");
  });
});
