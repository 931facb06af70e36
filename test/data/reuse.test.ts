import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultConfig, type RunConfig } from '../../src/config/schema.ts';
import { DatasetCache, reuseKey } from '../../src/data/reuse.ts';

/** A worker's dataset reuse (src/data/reuse.ts): which configs share a dataset, and that one at most is kept. */
const COCO = fileURLToPath(new URL('../../../shared/data/pose-fixtures/coco', import.meta.url));
const skip = existsSync(COCO) ? false : `${COCO} is absent (the shared research data is not on this machine)`;

function coco(over: Partial<RunConfig['data']> = {}, seed = 0): RunConfig {
  const c = defaultConfig();
  Object.assign(c.data, { name: 'coco-keypoints', root: COCO, train_annotations: 'test_coco.json', val_annotations: 'test_coco.json', images: '.', input_size: 32, heatmap_size: 8, train_size: 4, val_size: 4, ...over });
  c.seed = seed;
  return c;
}

test('the reuse key: what a coco-keypoints dataset depends on, not the seed or the model; none for other loaders', async () => {
  const base = await reuseKey(coco());
  assert.equal(typeof base, 'string');
  assert.equal(await reuseKey(coco({}, 7)), base, 'the seed only orders and augments batches, per call');
  const model = coco();
  model.model.binary = !model.model.binary;
  assert.equal(await reuseKey(model), base);
  assert.notEqual(await reuseKey(coco({ input_size: 64 })), base);
  assert.notEqual(await reuseKey(coco({ train_size: 3 })), base);
  const metric = coco();
  metric.eval.pck_alpha = 0.5;
  assert.notEqual(await reuseKey(metric), base, 'the scorer the dataset makes depends on eval');
  assert.equal(await reuseKey(defaultConfig()), undefined, 'synthetic-pose is made fresh for every run');
});

test('the cache hands back the same dataset for the same key, and keeps one at a time', { skip }, async () => {
  const cache = new DatasetCache();
  const first = await cache.open(coco());
  assert.equal(first.reused, false);
  const again = await cache.open(coco({}, 3));
  assert.deepEqual([again.reused, again.dataset === first.dataset], [true, true]);
  const other = await cache.open(coco({ input_size: 16, heatmap_size: 4 }));
  assert.deepEqual([other.reused, other.dataset === first.dataset], [false, false]);
  const back = await cache.open(coco());
  assert.deepEqual([back.reused, back.dataset === first.dataset], [false, false], 'the first was dropped when the second opened');
  const synthetic = await cache.open(defaultConfig());
  assert.equal(synthetic.reused, false);
  assert.equal((await cache.open(coco())).reused, false, 'a dataset that is not reused also drops the kept one');
});

test('a failed open is not kept: the next run tries again', { skip }, async () => {
  const cache = new DatasetCache();
  const missing = coco({ train_annotations: 'nope.json' });
  const failure = (p: Promise<unknown>) => p.then(() => assert.fail('opened a missing file'), (err: unknown) => err);
  const first = await failure(cache.open(missing));
  const second = await failure(cache.open(missing));
  assert.match(String(first), /nope\.json|no file/i);
  assert.match(String(second), /nope\.json|no file/i);
  // A kept (rejected) promise would hand back the first error object itself.
  assert.notEqual(second, first, 'the second open tried again');
});
