/**
 * Exact resume: for each optimizer, a short run stopped after EVERY step and resumed from that
 * checkpoint ends with the straight run's metrics and losses, bit for bit. Resuming at one step
 * only is not enough: Adam's β-power accumulators, recomputed with pow on restore, differed from
 * the trained product at steps 2 and 5 but not at 4.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../src/backend/index.ts';
import { defaultConfig, type RunConfig } from '../../src/config/schema.ts';
import { train, type EvalRecord } from '../../src/train/trainer.ts';

before(async () => {
  await selectBackend('cpu');
});

const STEPS = 6;

/** The smallest pose run: 16×16 inputs, C = 4, one HourGlass level, batches of 2, a step lr schedule. */
function tiny(optimizer: string, momentum: number): RunConfig {
  const c = defaultConfig();
  Object.assign(c.model, { channels: 4, depth: 1 });
  Object.assign(c.data, { input_size: 16, heatmap_size: 4, train_size: 8, val_size: 4 });
  Object.assign(c.train, { optimizer, momentum, lr: optimizer === 'sgd' ? 0.05 : 1e-2, batch_size: 2, steps: STEPS,
    eval_every: 2, checkpoint_every: 1000, lr_milestones: [0.5] });
  c.eval.batch_size = 4;
  return c;
}

/** Trains in `dir` (aborting after step `stopAt` when given) and returns the outcome and eval lines. */
async function run(config: RunConfig, dir: string, stopAt?: number) {
  const evals: EvalRecord[] = [];
  const abort = new AbortController();
  const outcome = await train({ config, runDir: dir, signal: abort.signal, hooks: {
    onEval: (r) => evals.push(r),
    onProgress: (p) => { if (p.step === stopAt) abort.abort(); },
  } });
  return { outcome, evals: evals.map((e) => [e.step, e.loss, e.pckh]) };
}

for (const [optimizer, momentum] of [['adam', 0], ['rmsprop', 0], ['sgd', 0.9], ['sgd', 0]] as const) {
  test(`${optimizer}${optimizer === 'sgd' ? ` (momentum ${momentum})` : ''}: resuming after any step ends bit for bit as the straight run`, async () => {
    const config = tiny(optimizer, momentum);
    const root = mkdtempSync(join(tmpdir(), 'bnn-resume-'));
    try {
      const straight = await run(config, join(root, 'straight'));
      assert.equal(straight.outcome.status, 'done');
      for (let k = 1; k < STEPS; k++) {
        const dir = join(root, `stop-${k}`);
        const first = await run(config, dir, k);
        assert.deepEqual(first.outcome, { status: 'interrupted', step: k });
        const second = await run(config, dir);
        assert.deepEqual(second.outcome.status === 'done' && second.outcome.final.metrics,
          straight.outcome.status === 'done' && straight.outcome.final.metrics, `resumed after step ${k}: final metrics`);
        assert.deepEqual([...first.evals, ...second.evals], straight.evals, `resumed after step ${k}: eval lines`);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test('a torn checkpoint is set aside and the run trains from step 0, ending as the straight run', async () => {
  const config = tiny('adam', 0);
  const root = mkdtempSync(join(tmpdir(), 'bnn-resume-'));
  try {
    const straight = await run(config, join(root, 'straight'));
    const dir = join(root, 'torn');
    await run(config, dir, 3);
    const folder = join(dir, 'checkpoints', 'step-3');
    writeFileSync(join(folder, 'optimizer.bin'), readFileSync(join(folder, 'optimizer.bin')).subarray(0, 10));
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
    let again;
    try {
      again = await run(config, dir);
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(again.evals, straight.evals, 'trained from step 0');
    assert.match(written.join(''), /step-3: unreadable checkpoint .*; moved to .*checkpoints\.corrupt-\d+, training from step 0/);
    assert.ok(readdirSync(dir).some((n) => n.startsWith('checkpoints.corrupt-')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
