import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binarizationStages, lambdaAt, learningRateAt, stageAt } from '../../src/train/schedules.ts';

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
