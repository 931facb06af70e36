// LSP-extended from data/lspet (research-use data: `bnn-ablate data unpack ../shared/data` makes
// the folder; never committed). Skipped with a reason where it is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CocoKeypointsDataset } from '../../src/data/coco-keypoints.ts';
import { LSP_JOINTS } from '../../src/data/keypoints.ts';
import { applyAffine, invertAffine, type Affine } from '../../src/data/image-io.ts';
import { pckReport } from '../../src/cli/pck.ts';

const ROOT = fileURLToPath(new URL('../../data/lspet', import.meta.url));
const skip = existsSync(join(ROOT, 'images')) ? false : `${ROOT} is absent (run: bnn-ablate data unpack ../shared/data)`;

test('LSPET: persons of 14 LSP joints with their flip pairs; val crops hold their joints', { skip }, async () => {
  const ds = await CocoKeypointsDataset.open({
    root: ROOT, trainAnnotations: 'annotations/*_train.json', valAnnotations: 'annotations/*_val.json', images: 'images',
    inputSize: 64, heatmapSize: 16, sigma: 1, bboxMargin: 1.25, flipPairs: [], augment: false, skipBadRecords: false,
    metric: { normalizer: 'torso', alpha: 0.2 }, trainSize: 500, valSize: 200,
  });
  assert.deepEqual([ds.size('train'), ds.size('val'), ds.skipped.length], [500, 200, 0]);
  assert.deepEqual(ds.keypoints.names, LSP_JOINTS);
  assert.equal(ds.keypoints.label, 'lsp-14');
  assert.equal(ds.keypoints.flipPairs.length, 6);
  let labelled = 0, inside = 0;
  for await (const b of ds.batches('val', { batchSize: 100, seed: 0, epoch: 0, shuffle: false, dropLast: false })) {
    for (let i = 0; i < b.size; i++) {
      const toInput = invertAffine(Array.from(b.toOriginal.subarray(6 * i, 6 * i + 6)) as Affine);
      for (let j = 0; j < 14; j++) {
        if (!b.visible[i * 14 + j]) continue;
        labelled++;
        const [x, y] = applyAffine(toInput, b.joints[(i * 14 + j) * 2]!, b.joints[(i * 14 + j) * 2 + 1]!);
        if (x >= 0 && y >= 0 && x <= 63 && y <= 63) inside++;
      }
    }
  }
  assert.ok(labelled > 2000);
  assert.equal(inside, labelled);
});

test('LSPET val scored against itself: 100, with the persons lacking torso keypoints counted', { skip }, async () => {
  const gt = join(ROOT, 'annotations', 'lspet_val.json');
  // COCO results of the ground truth itself: the keypoints with score 1.
  const { readFileSync, writeFileSync, mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const json = JSON.parse(readFileSync(gt, 'utf8')) as { annotations: Array<{ image_id: number; keypoints: number[] }> };
  const dir = mkdtempSync(join(tmpdir(), 'bnn-lspet-'));
  try {
    const pred = join(dir, 'pred.json');
    writeFileSync(pred, JSON.stringify(json.annotations.map((a) => ({ image_id: a.image_id, category_id: 1, keypoints: a.keypoints, score: 1 }))));
    const torso = JSON.parse(await pckReport({ gt, pred, normalizer: 'torso', json: true }));
    assert.equal(torso.mean, 100);
    assert.equal(torso.persons, 1000);
    assert.ok(torso.left_out > 100 && torso.left_out < 400, `left out ${torso.left_out}`);
    assert.equal(torso.scored + torso.left_out, 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
