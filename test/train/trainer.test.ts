import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import { defaultConfig, type RunConfig } from '../../src/config/schema.ts';
import { RunFailedError } from '../../src/errors.ts';
import { train, type EvalRecord, type TrainOutcome } from '../../src/train/trainer.ts';

before(async () => {
  await selectBackend('cpu');
});

/** A pose run small enough for the pure-JS backend: 32×32 inputs, C = 8, one HourGlass level. */
function tinyPose(overrides: (c: RunConfig) => void = () => {}): RunConfig {
  const c = defaultConfig();
  c.model.channels = 8;
  c.model.depth = 1;
  c.data.input_size = 32;
  c.data.heatmap_size = 8;
  c.data.train_size = 24;
  c.data.val_size = 8;
  c.train.batch_size = 4;
  c.train.steps = 6;
  c.train.eval_every = 3;
  c.train.checkpoint_every = 2;
  c.eval.batch_size = 8;
  overrides(c);
  return c;
}

function runDir(): string {
  return mkdtempSync(join(tmpdir(), 'bnn-train-'));
}

async function trainCollect(config: RunConfig, dir = runDir(), extra: Partial<Parameters<typeof train>[0]> = {}) {
  const evals: EvalRecord[] = [];
  const outcome = await train({ config, runDir: dir, ...extra, hooks: { onEval: (r) => evals.push(r), ...extra.hooks } });
  return { outcome, evals, dir };
}

function finalMetrics(outcome: TrainOutcome) {
  assert.equal(outcome.status, 'done');
  return outcome.status === 'done' ? outcome.final.metrics : undefined;
}

test('an interrupted run resumes from its checkpoint and ends with the same metrics', async () => {
  const config = tinyPose();
  const straight = await trainCollect(config);

  const dir = runDir();
  const abort = new AbortController();
  const first = await trainCollect(config, dir, { signal: abort.signal, hooks: { onProgress: (p) => { if (p.step === 4) abort.abort(); } } });
  assert.deepEqual(first.outcome, { status: 'interrupted', step: 4 });
  let resumedAt = -1;
  const second = await trainCollect(config, dir, { hooks: { onResume: (s) => { resumedAt = s; } } });
  assert.equal(resumedAt, 4);
  assert.deepEqual(finalMetrics(second.outcome), finalMetrics(straight.outcome));
  assert.deepEqual(second.evals.map((e) => [e.step, e.loss]), straight.evals.filter((e) => e.step > 4).map((e) => [e.step, e.loss]));
});

test('the same config and seed give the same metrics; another seed does not', async () => {
  const a = await trainCollect(tinyPose());
  const b = await trainCollect(tinyPose());
  const c = await trainCollect(tinyPose((cfg) => { cfg.seed = 1; }));
  assert.deepEqual(finalMetrics(a.outcome), finalMetrics(b.outcome));
  assert.notDeepEqual(a.evals.map((e) => e.loss), c.evals.map((e) => e.loss));
});

test('tensor count stays flat across training steps', async () => {
  const counts: number[] = [];
  await trainCollect(tinyPose((c) => { c.train.eval_every = 100; c.train.checkpoint_every = 100; }), runDir(), {
    hooks: { onProgress: () => counts.push(tf.memory().numTensors) },
  });
  assert.equal(counts.length, 6);
  assert.ok(counts.slice(1).every((n) => n === counts[1]), `tensors per step: ${counts.join(', ')}`);
});

test('features-first trains binary features first, then binarizes the weights too; lambda grows', async () => {
  const { evals } = await trainCollect(tinyPose((c) => {
    c.binarize.order = 'features-first';
    c.binarize.stage_split = 0.5;
    c.progressive.enabled = true;
    c.progressive.schedule = 'linear';
    c.progressive.lambda_start = 1;
    c.progressive.lambda_end = 11;
    c.train.eval_every = 1;
  }));
  assert.deepEqual(evals.map((e) => e.stage), ['binary-features', 'binary-features', 'binary-features', 'binary', 'binary', 'binary']);
  assert.deepEqual(evals.map((e) => e.lambda), [1, 3, 5, 7, 9, 11]);
});

test('binarize.stage_steps gives the first stage its own steps: the run is stage_steps + train.steps long', async () => {
  const { evals, outcome } = await trainCollect(tinyPose((c) => {
    c.binarize.order = 'features-first';
    c.binarize.stage_steps = 2;
    c.train.steps = 4;
    c.train.eval_every = 1;
    c.train.lr_schedule = 'step';
    c.train.lr_milestones = [0.5];
  }));
  assert.equal(outcome.status === 'done' && outcome.final.step, 6);
  assert.deepEqual(evals.map((e) => e.stage), ['binary-features', 'binary-features', 'binary', 'binary', 'binary', 'binary']);
  // Each stage runs the lr schedule from its own start: decay after half of 2, then half of 4 steps.
  assert.deepEqual(evals.map((e) => Number(e.lr.toPrecision(3))), [1e-3, 1e-4, 1e-3, 1e-3, 1e-4, 1e-4]);
});

test('a diverging run fails with the step and the stage', async () => {
  const config = tinyPose((c) => { c.train.optimizer = 'sgd'; c.train.lr = 1e30; c.train.lr_schedule = 'constant'; c.model.binary = false; });
  await assert.rejects(trainCollect(config), (err: unknown) => err instanceof RunFailedError && /training loss is (NaN|Infinity) at step \d+ \(stage real/.test(err.message));
});

test('a student distils from a finished teacher run; a missing teacher model is an error', async () => {
  const teacher = await trainCollect(tinyPose((c) => { c.model.binary = false; }));
  const plain = await trainCollect(tinyPose());
  const student = await trainCollect(tinyPose((c) => { c.distill.teacher = { 'model.binary': false }; c.distill.weight = 0.5; }), runDir(), { teacherDir: teacher.dir });
  assert.notDeepEqual(student.evals.map((e) => e.loss), plain.evals.map((e) => e.loss));
  await assert.rejects(trainCollect(tinyPose(), runDir(), { teacherDir: runDir() }), /no saved model here/);
});

test('classification trains on mnist and reports top-1 and top-5', async () => {
  const config = defaultConfig();
  Object.assign(config, { task: 'classification' });
  Object.assign(config.model, { arch: 'alexnet', width_multiplier: 0.125 });
  Object.assign(config.data, { name: 'mnist', input_size: 28, train_size: 32, val_size: 16 });
  Object.assign(config.train, { steps: 2, batch_size: 8, eval_every: 2 });
  const { outcome } = await trainCollect(config);
  const metrics = finalMetrics(outcome) as { top1: number; top5: number; val_loss: number };
  assert.ok(metrics.top1 >= 0 && metrics.top1 <= 100 && metrics.top5 >= metrics.top1, JSON.stringify(metrics));
  assert.ok(Number.isFinite(metrics.val_loss));
});
