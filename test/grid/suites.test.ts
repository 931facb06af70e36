/** Suites (`experiments:`) and the repository's own experiment files. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPlan, loadPlans } from '../../src/grid/index.ts';
import { throwsConfig, tree } from '../config/fixture.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('suites', () => {
  const files = {
    'a.yaml': 'name: a\ngrid:\n  model.stacks: [1, 2]\n',
    'sub/b.yaml': 'name: b\n',
    'sub/inner.yaml': 'experiments: [b.yaml]\n',
    'all.yaml': 'name: all\nexperiments:\n  - a.yaml\n  - sub/inner.yaml\n',
  };

  it('plans every listed experiment in order, nested suites flattened', () => {
    const plans = loadPlans('all.yaml', { cwd: tree(files) });
    assert.deepEqual(plans.map((p) => [p.experiment, p.file, p.runs.length]), [['a', 'a.yaml', 2], ['b', 'sub/b.yaml', 1]]);
  });

  it('loadPlans of one experiment is that plan; loadPlan refuses a suite', () => {
    const cwd = tree(files);
    assert.deepEqual(loadPlans('a.yaml', { cwd }), [loadPlan('a.yaml', { cwd })]);
    throwsConfig(() => loadPlan('all.yaml', { cwd }), "all.yaml: 'all' is a suite of 2 experiments: plan it with loadPlans");
  });

  it('rejects cycles, missing files, clashing names and mixed keys', () => {
    throwsConfig(() => loadPlans('s.yaml', { cwd: tree({ 's.yaml': 'experiments: [t.yaml]\n', 't.yaml': 'experiments: [s.yaml]\n' }) }),
      "t.yaml:1:15: experiments: suite cycle: s.yaml -> t.yaml -> s.yaml");
    throwsConfig(() => loadPlans('s.yaml', { cwd: tree({ 's.yaml': 'experiments:\n  - gone.yaml\n' }) }), "s.yaml:2:5: experiment 'gone.yaml': no such file");
    throwsConfig(() => loadPlans('s.yaml', { cwd: tree({ 's.yaml': 'experiments: [x.yaml, y.yaml]\n', 'x.yaml': 'name: same\n', 'y.yaml': 'name: same\n' }) }),
      "y.yaml: two experiments are named 'same' (x.yaml and y.yaml): their results would mix");
    throwsConfig(() => loadPlans('s.yaml', { cwd: tree({ 's.yaml': 'experiments: [x.yaml]\ngrid:\n  model.stacks: [1]\n' }) }),
      "s.yaml:2:1: a suite (a file with 'experiments') cannot also have 'grid'");
  });
});

describe('repository experiments', () => {
  it('every experiment plans cleanly under no preset, smoke, ci and paper', () => {
    // paper.yaml lists every study but the smoke studies, the CI gates and the reproduction and
    // calibration suites (whose studies live in experiments/reproduce/ and experiments/calibrate/),
    // so planning these covers every file.
    const files = readdirSync(`${ROOT}experiments`).filter((f) => f.endsWith('.yaml')).sort();
    const listed = loadPlans('experiments/paper.yaml', { cwd: ROOT }).map((p) => p.file.replace(/^experiments\//, ''));
    const smoke = ['smoke.yaml', 'smoke-cls.yaml', 'smoke-lsp.yaml', 'smoke-cifar10.yaml', 'gate-lsp.yaml', 'gate-cifar10.yaml'];
    assert.deepEqual([...listed, 'paper.yaml', 'reproduce.yaml', 'calibrate.yaml', ...smoke].sort(), files);
    for (const suite of ['reproduce', 'calibrate']) {
      const studies = loadPlans(`experiments/${suite}.yaml`, { cwd: ROOT }).map((p) => p.file.replace(/^experiments\//, ''));
      assert.deepEqual(studies.sort(), readdirSync(`${ROOT}experiments/${suite}`).map((f) => `${suite}/${f}`).sort());
    }
    for (const preset of [undefined, 'smoke', 'ci', 'cpu', 'paper']) {
      for (const f of ['paper.yaml', 'reproduce.yaml', 'calibrate.yaml', ...smoke]) {
        for (const p of loadPlans(`experiments/${f}`, { cwd: ROOT, preset })) {
          assert.ok(p.runs.length > 0, `${p.file} ${preset}`);
          assert.equal(p.warnings, undefined, `${p.file} ${preset}: ${p.warnings}`);
        }
      }
    }
  });

  it('smoke.yaml is a two-run study and paper.yaml covers every other study', () => {
    assert.equal(loadPlan('experiments/smoke.yaml', { cwd: ROOT }).runs.length, 2);
    const names = loadPlans('experiments/paper.yaml', { cwd: ROOT }).map((p) => p.experiment);
    assert.deepEqual(names, ['pose-activation', 'pose-init-order', 'pose-progressive', 'pose-stacks', 'pose-distillation', 'cls-alexnet', 'cls-resnet18']);
  });

  it('reproduce.yaml plans every finding of the paper as a study, 3 seeds, each distinct config trained once', () => {
    const plans = loadPlans('experiments/reproduce.yaml', { cwd: ROOT });
    const rows = (p: (typeof plans)[number]) => [...new Set(p.runs.filter((r) => r.seed === 0).map((r) => r.name.replace(/,?seed=0$/, '')))];
    assert.deepEqual(Object.fromEntries(plans.map((p) => [p.experiment, rows(p)])), {
      'repro-pose-real-binary': ['binary=true', 'binary=false'],
      'repro-cls-real-binary': ['arch=resnet18,binary=true', 'arch=resnet18,binary=false', 'arch=alexnet,binary=true', 'arch=alexnet,binary=false'],
      'repro-pose-activation': ['activation=relu', 'activation=prelu', 'activation=leaky_relu', 'activation=none'],
      'repro-pose-init-order': ['order=real-first,stage_steps=null', 'order=real-first,stage_steps=500', 'order=features-first,stage_steps=null',
        'order=features-first,stage_steps=500', 'order=weights-first,stage_steps=null', 'order=weights-first,stage_steps=500', 'order=joint,stage_steps=null'],
      'repro-pose-progressive': ['progressive=false,function=tanh,gradient=exact', 'progressive=true,function=tanh,gradient=exact',
        'progressive=true,function=sigmoid,gradient=exact', 'progressive=true,function=softsign,gradient=exact',
        'progressive=true,function=tanh,gradient=surrogate', 'progressive=true,function=softsign,gradient=surrogate'],
      'repro-pose-stacks': ['stacks=1', 'stacks=2', 'stacks=3'],
      'repro-pose-distillation': ['teacher=null', 'teacher:binary=false', 'teacher={binary=false}', 'teacher={binary=true}'],
      'repro-cls-activation': ['activation=relu', 'activation=prelu'],
      'repro-cls-init-order': ['order=real-first', 'order=features-first', 'order=joint'],
      'repro-cls-progressive': ['progressive=false', 'progressive=true'],
    });
    // 3 seeds; more where the first run's spread said 3 cannot resolve 1 point (5 for pose activation
    // and progressive, 8 for CIFAR-10's activation, 9 for CIFAR-10's init order).
    const more: Record<string, number> = { 'repro-pose-activation': 5, 'repro-pose-progressive': 5, 'repro-cls-activation': 8, 'repro-cls-init-order': 9 };
    const seeds = (p: (typeof plans)[number]) => [...Array(more[p.experiment] ?? 3).keys()];
    for (const p of plans) assert.deepEqual([...new Set(p.runs.map((r) => r.seed))], seeds(p), p.experiment);
    // The default binary network is one config shared by every pose study that has it as a row.
    const pose = plans.filter((p) => p.experiment.startsWith('repro-pose'));
    const base = pose[0]!.runs.find((r) => r.name === 'binary=true,seed=0')!.id;
    for (const p of pose) assert.ok(p.runs.some((r) => r.id === base), `${p.experiment} lacks the shared binary baseline`);
    const distinct = new Set(plans.flatMap((p) => p.runs.map((r) => r.id)));
    assert.deepEqual([plans.reduce((n, p) => n + p.runs.length, 0), distinct.size], [159, 125]);
  });

  it('the cpu preset is the calibrated CPU size: 32x32 pose for 4,000 steps, CIFAR-10 at 1/8 width for 2,000', () => {
    const [pose] = loadPlan('experiments/reproduce/pose-stacks.yaml', { cwd: ROOT, preset: 'cpu' }).runs;
    const p = pose!.config;
    assert.deepEqual([p.data.name, p.data.input_size, p.data.heatmap_size, p.model.channels, p.model.depth, p.train.steps, p.train.threads],
      ['coco-keypoints', 32, 8, 32, 2, 4000, 1]);
    const [cls] = loadPlan('experiments/reproduce/cls-activation.yaml', { cwd: ROOT, preset: 'cpu' }).runs;
    const c = cls!.config;
    assert.deepEqual([c.data.name, c.data.input_size, c.model.width_multiplier, c.data.train_size, c.train.steps], ['image-folder', 32, 0.125, 10000, 2000]);
  });

  it('presets shape the runs: ci is tiny with three seeds, paper is full size per task', () => {
    const ci = loadPlan('experiments/pose-stacks.yaml', { cwd: ROOT, preset: 'ci' });
    assert.deepEqual(ci.runs.map((r) => r.name), [0, 1, 2].flatMap((seed) => [1, 2, 3].map((stacks) => `stacks=${stacks},seed=${seed}`)));
    assert.ok(ci.runs.every((r) => r.config.train.steps <= 50 && r.config.model.channels <= 8));
    const pose = loadPlan('experiments/pose-stacks.yaml', { cwd: ROOT, preset: 'paper' }).runs[0]!.config;
    assert.deepEqual([pose.data.name, pose.data.input_size, pose.data.heatmap_size, pose.model.channels, pose.model.depth], ['mpii', 256, 64, 256, 4]);
    const cls = loadPlan('experiments/cls-alexnet.yaml', { cwd: ROOT, preset: 'paper' }).runs[0]!.config;
    assert.deepEqual([cls.model.arch, cls.data.name, cls.data.input_size, cls.data.num_classes], ['alexnet', 'imagenet', 224, 1000]);
  });
});
