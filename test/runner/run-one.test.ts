import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config/schema.ts';
import { acquireRunLock } from '../../src/results/lock.ts';
import { ResultsStore } from '../../src/results/store.ts';
import { runOne } from '../../src/runner/run-one.ts';

function tinyRun() {
  const config = defaultConfig();
  Object.assign(config.model, { channels: 4, depth: 1 });
  Object.assign(config.data, { input_size: 16, heatmap_size: 4, train_size: 8, val_size: 4 });
  Object.assign(config.train, { batch_size: 2, steps: 4, eval_every: 2, checkpoint_every: 1000 });
  config.eval.batch_size = 4;
  const store = new ResultsStore(mkdtempSync(join(tmpdir(), 'bnn-run-one-')), 'study');
  store.prepare({ id: 'r1', name: 'r1', seed: 0, params: {}, config });
  return { store, dir: store.runDir('r1') };
}

test('a run restarted from step 0 (killed before its first checkpoint) logs each evaluation once', async () => {
  const { store, dir } = tinyRun();
  // What a killed first attempt left: two evaluations, no checkpoint.
  writeFileSync(join(dir, 'metrics.jsonl'), `${JSON.stringify({ step: 2, loss: 9 })}\n${JSON.stringify({ step: 4, loss: 9 })}\n`);
  await runOne(dir, { backend: 'cpu', report: () => {} });
  const lines = store.readMetrics<{ step: number; loss: number }>('r1');
  assert.deepEqual(lines.map((l) => l.step), [2, 4]);
  assert.ok(lines.every((l) => l.loss !== 9), 'the killed attempt\'s lines are gone');
});

test('a run another live process holds is refused before anything is written', async () => {
  const { store, dir } = tinyRun();
  const held = acquireRunLock(dir);
  assert.ok(held.acquired);
  await assert.rejects(runOne(dir, { backend: 'cpu', report: () => {} }), /being trained by pid \d+ on this host/);
  assert.equal(store.readMeta('r1')?.status, 'pending');
  if (held.acquired) held.lock.release();
});

test('an unexpected worker failure keeps its original stack: in stderr (worker.log) and as the cause', async () => {
  const { store, dir } = tinyRun();
  const config = store.readConfig('r1') as { train: { optimizer: string } };
  config.train.optimizer = 'bogus'; // createOptimizer throws a plain Error: not a typed one
  writeFileSync(join(dir, 'config.yaml'), (await import('yaml')).stringify(config));
  const written: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => { written.push(String(chunk)); return true; }) as typeof process.stderr.write;
  let caught: unknown;
  try {
    await runOne(dir, { backend: 'cpu', report: () => {} });
  } catch (err) {
    caught = err;
  } finally {
    process.stderr.write = write;
  }
  assert.match(String((caught as Error).message), /^run r1 failed: unknown optimizer 'bogus'$/);
  assert.match(String(((caught as Error).cause as Error).stack), /createOptimizer/);
  assert.match(written.join(''), /run r1: Error: unknown optimizer 'bogus'\n\s+at createOptimizer/);
  assert.equal(store.readMeta('r1')?.status, 'failed');
});
