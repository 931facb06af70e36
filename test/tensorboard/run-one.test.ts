import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '../../src/backend/index.ts';
import { defaultConfig, type RunConfig } from '../../src/config/schema.ts';
import { ResultsStore } from '../../src/results/store.ts';
import { runOne } from '../../src/runner/run-one.ts';
import { TB_DIR, eventFiles, runLabel } from '../../src/tensorboard/index.ts';
import { decodeWireEvent, readTfRecords } from './wire.ts';

before(async () => {
  await selectBackend('cpu');
});

function tiny(tensorboard: boolean): RunConfig {
  const c = defaultConfig();
  Object.assign(c.model, { channels: 8, depth: 1 });
  Object.assign(c.data, { input_size: 32, heatmap_size: 8, train_size: 16, val_size: 8 });
  Object.assign(c.train, { batch_size: 4, steps: 4, eval_every: 2, checkpoint_every: 4, tensorboard });
  return c;
}

async function trainRun(config: RunConfig, name: string): Promise<string> {
  const store = new ResultsStore(mkdtempSync(join(tmpdir(), 'bnn-tb-run-')), 'study');
  store.prepare({ id: 'abc123', name, seed: 0, params: {}, config });
  await runOne(store.runDir('abc123'), { backend: 'cpu', report: () => {} });
  return store.runDir('abc123');
}

test('a trained run has event files TensorBoard reads as one run named by its grid point', async () => {
  const dir = await trainRun(tiny(true), 'binary=true,seed=0');
  const files = eventFiles(join(dir, TB_DIR, runLabel('binary=true,seed=0')));
  assert.equal(files.length, 1);
  const events = readTfRecords(files[0]!).map(decodeWireEvent);
  const scalars = events.filter((e) => e.scalars.size > 0);
  assert.deepEqual(scalars.map((e) => e.step), [2, 4]);
  const tags = [...scalars[0]!.scalars.keys()];
  for (const tag of ['train/loss', 'train/lr', 'train/images_per_s', 'val/loss', 'val/pckh', 'val/pckh/Head', 'val/pckh/Mean', 'binary/flip_ratio', 'binary/input_plus_min', 'binary/clipped']) {
    assert.ok(tags.includes(tag), `${tag} missing from ${tags.join(', ')}`);
  }
  assert.ok(tags.some((t) => /^layer_mean_abs_w\/.+$/.test(t)));
  const histograms = events.filter((e) => e.histograms.size > 0);
  assert.deepEqual(histograms.map((e) => e.step), [2, 4]);
  const [tag, h] = [...histograms[0]!.histograms][0]!;
  assert.match(tag, /^latent_weights\//);
  assert.equal(h.counts.reduce((a, b) => a + b, 0), h.num);
});

test('train.tensorboard: false writes no event files', async () => {
  const dir = await trainRun(tiny(false), 'x');
  assert.equal(existsSync(join(dir, TB_DIR)), false);
  assert.ok(existsSync(join(dir, 'final.json')));
});
