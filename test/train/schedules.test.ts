import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binarizationStages, lambdaAt, learningRateAt, runLength, stageAt, stageLearningRate } from '../../src/train/schedules.ts';

const base = { lr: 0.1, lr_schedule: 'step', lr_milestones: [0.5, 0.75], lr_gamma: 0.1, warmup_steps: 0 };

test('step schedule multiplies by gamma at each milestone', () => {
  assert.equal(learningRateAt(0, 100, base), 0.1);
  assert.equal(learningRateAt(49, 100, base), 0.1);
  assert.ok(Math.abs(learningRateAt(50, 100, base) - 0.01) < 1e-12);
  assert.ok(Math.abs(learningRateAt(75, 100, base) - 0.001) < 1e-12);
});

test('warm-up ramps linearly, then cosine decays to zero', () => {
  const cfg = { ...base, lr_schedule: 'cosine', warmup_steps: 10 };
  assert.ok(Math.abs(learningRateAt(0, 110, cfg) - 0.01) < 1e-12);
  assert.ok(Math.abs(learningRateAt(9, 110, cfg) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRateAt(10, 110, cfg) - 0.1) < 1e-12);
  assert.ok(Math.abs(learningRateAt(60, 110, cfg) - 0.05) < 1e-12);
  assert.ok(learningRateAt(110, 110, cfg) < 1e-12);
});

test('init orders split training into the expected stages', () => {
  assert.deepEqual(binarizationStages('features-first', 0.4, 100, true), [
    { name: 'binary-features', start: 0, end: 40, features: true, weights: false },
    { name: 'binary', start: 40, end: 100, features: true, weights: true },
  ]);
  assert.deepEqual(binarizationStages('real-first', 0.5, 10, true).map((s) => [s.name, s.features, s.weights]),
    [['real', false, false], ['binary', true, true]]);
  assert.deepEqual(binarizationStages('weights-first', 0.5, 10, true)[0], { name: 'binary-weights', start: 0, end: 5, features: false, weights: true });
  assert.deepEqual(binarizationStages('joint', 0.5, 10, true), [{ name: 'binary', start: 0, end: 10, features: true, weights: true }]);
  assert.deepEqual(binarizationStages('features-first', 0.5, 10, false), [{ name: 'real', start: 0, end: 10, features: false, weights: false }]);
  // A split of 0 leaves no empty first stage behind.
  assert.deepEqual(binarizationStages('features-first', 0, 10, true).map((s) => s.name), ['binary']);
  const stages = binarizationStages('features-first', 0.5, 10, true);
  assert.equal(stageAt(stages, 4).name, 'binary-features');
  assert.equal(stageAt(stages, 5).name, 'binary');
  assert.equal(stageAt(stages, 10).name, 'binary');
});

test('lambda schedules start and end where configured', () => {
  for (const schedule of ['linear', 'exponential', 'step']) {
    const cfg = { lambda_start: 1, lambda_end: 100, schedule };
    assert.ok(Math.abs(lambdaAt(0, 0, 101, cfg) - 1) < 1e-9, schedule);
    assert.ok(Math.abs(lambdaAt(100, 0, 101, cfg) - 100) < 1e-9, schedule);
  }
  assert.ok(Math.abs(lambdaAt(50, 0, 101, { lambda_start: 1, lambda_end: 100, schedule: 'exponential' }) - 10) < 1e-9);
  assert.ok(Math.abs(lambdaAt(50, 0, 101, { lambda_start: 1, lambda_end: 101, schedule: 'linear' }) - 51) < 1e-9);
  // Steps of a stage-local schedule clamp outside the span.
  assert.equal(lambdaAt(-5, 0, 10, { lambda_start: 2, lambda_end: 4, schedule: 'linear' }), 2);
  assert.deepEqual([0, 25, 50, 75, 99].map((s) => lambdaAt(s, 0, 100, { lambda_start: 0, lambda_end: 4, schedule: 'step' })), [0, 1, 2, 3, 4]);
});

test('each stage its own budget: the first stage runs stage_steps, then the binary stage the whole budget', () => {
  // Equal total steps (the default): features-first at split 0.5 gives the binary stage half a joint run.
  const shared = binarizationStages('features-first', 0.5, 100, true);
  assert.deepEqual(shared.map((s) => [s.name, s.start, s.end]), [['binary-features', 0, 50], ['binary', 50, 100]]);
  assert.equal(runLength(shared), 100);
  // Own budgets: 60 steps of binary features, then 100 fully binary, as many as a joint run has.
  const own = binarizationStages('features-first', 0.5, 100, true, 60);
  assert.deepEqual(own.map((s) => [s.name, s.start, s.end]), [['binary-features', 0, 60], ['binary', 60, 160]]);
  assert.equal(runLength(own), 160);
  for (const order of ['real-first', 'weights-first']) assert.equal(runLength(binarizationStages(order, 0.5, 100, true, 100)), 200, order);
  // A single-stage run has nothing to budget: joint and real models keep train.steps.
  assert.equal(runLength(binarizationStages('joint', 0.5, 100, true, 60)), 100);
  assert.equal(runLength(binarizationStages('features-first', 0.5, 100, false, 60)), 100);
});

test('with own budgets the learning-rate schedule restarts at each stage', () => {
  const cfg = { lr: 0.1, lr_schedule: 'step', lr_milestones: [0.75], lr_gamma: 0.1, warmup_steps: 0 };
  const own = binarizationStages('features-first', 0.5, 100, true, 40);
  // Stage 1 [0, 40): decay at 30; stage 2 [40, 140): decay at 40 + 75 = 115.
  const at = (step: number) => stageLearningRate(step, own, cfg, true);
  assert.deepEqual([0, 29, 30, 39, 40, 114, 115, 139].map((s) => Number(at(s).toPrecision(3))), [0.1, 0.1, 0.01, 0.01, 0.1, 0.1, 0.01, 0.01]);
  // Equal total steps: one schedule over the run, as before.
  const shared = binarizationStages('features-first', 0.5, 100, true);
  assert.deepEqual([0, 74, 75].map((s) => Number(stageLearningRate(s, shared, cfg, false).toPrecision(3))), [0.1, 0.1, 0.01]);
});
