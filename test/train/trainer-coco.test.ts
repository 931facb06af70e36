// A coco-keypoints run end to end: K = 17 heatmaps, PCK@0.2 torso named in the final metrics.
// Uses the real COCO fixture (../shared/data/pose-fixtures/coco); skipped where it is absent.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../../src/backend/index.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { train } from '../../src/train/trainer.ts';

const COCO = fileURLToPath(new URL('../../../shared/data/pose-fixtures/coco', import.meta.url));
const skip = existsSync(COCO) ? false : `${COCO} is absent (the shared research data is not on this machine)`;

before(async () => {
  await selectBackend('cpu');
});

test('coco-keypoints trains with its own K and reports PCK with its variant', { skip }, async () => {
  const c = defaultConfig();
  Object.assign(c.model, { channels: 8, depth: 1 });
  Object.assign(c.data, { name: 'coco-keypoints', root: COCO, train_annotations: 'test_coco.json', val_annotations: 'test_coco.json', images: '.', input_size: 32, heatmap_size: 8, train_size: 12, val_size: 12 });
  Object.assign(c.train, { batch_size: 4, steps: 3, eval_every: 3, checkpoint_every: 3 });
  const outcome = await train({ config: c, runDir: mkdtempSync(join(tmpdir(), 'bnn-train-coco-')) });
  assert.equal(outcome.status, 'done');
  if (outcome.status !== 'done') return;
  const m = outcome.final.metrics as Record<string, unknown>;
  assert.match(String(m.pckh_variant), /^PCK@0\.2 torso \(left_shoulder-right_hip\), count-weighted mean over 17 coco-17 joints/);
  assert.equal(m.pckh_threshold, 0.2);
  assert.ok(typeof m.pckh === 'number' && m.pckh >= 0 && m.pckh <= 100);
  assert.deepEqual(Object.keys(m.pckh_columns as object), ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean']);
  assert.equal(typeof m.pck_left_out, 'number');
});
