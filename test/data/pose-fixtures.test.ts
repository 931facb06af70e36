// Real-format files: 5 MPII images with HRNet-layout annotations and 4 COCO images with a COCO
// keypoints file (mmpose's test data, ../shared/data/pose-fixtures). Research-use data, read in
// place and never copied into the repository; skipped where ../shared is absent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MpiiDataset } from '../../src/data/mpii.ts';
import { CocoKeypointsDataset } from '../../src/data/coco-keypoints.ts';
import { applyAffine, invertAffine, type Affine } from '../../src/data/image-io.ts';
import { contactSheet } from '../../src/data/preview.ts';
import type { Dataset, PoseBatch } from '../../src/data/types.ts';

const FIXTURES = fileURLToPath(new URL('../../../shared/data/pose-fixtures', import.meta.url));
const skip = existsSync(FIXTURES) ? false : `${FIXTURES} is absent (the shared research data is not on this machine)`;
const tmp = mkdtempSync(join(tmpdir(), 'bnn-fixtures-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function first(ds: Dataset, split: 'train' | 'val'): Promise<PoseBatch> {
  for await (const b of ds.batches(split, { batchSize: 64, seed: 0, epoch: 0, shuffle: false, dropLast: false })) return b as PoseBatch;
  throw new Error('empty split');
}

/** Every labelled joint projects inside the S×S crop (within `slack` pixels). */
function jointsInside(b: PoseBatch, K: number, S: number, slack = 0): { inside: number; labelled: number } {
  let inside = 0, labelled = 0;
  for (let i = 0; i < b.size; i++) {
    const toInput = invertAffine(Array.from(b.toOriginal.subarray(6 * i, 6 * i + 6)) as Affine);
    for (let j = 0; j < K; j++) {
      if (!b.visible[i * K + j]) continue;
      labelled++;
      const [x, y] = applyAffine(toInput, b.joints[(i * K + j) * 2]!, b.joints[(i * K + j) * 2 + 1]!);
      if (x >= -slack && y >= -slack && x <= S - 1 + slack && y <= S - 1 + slack) inside++;
    }
  }
  return { inside, labelled };
}

/** Label tiles differ from plain tiles (joints were drawn) for every sample. */
function previewDraws(b: PoseBatch, ds: Dataset): void {
  const sheet = contactSheet(b, ds.inputShape, { normalization: ds.normalization, keypoints: ds.keypoints, columns: 1, scale: 2 });
  const S = ds.inputShape[0], tile = S * 2;
  for (let i = 0; i < b.size; i++) {
    let differ = 0;
    for (let y = 0; y < tile; y++) {
      for (let x = 0; x < tile; x++) {
        const row = 4 + i * (tile + 4) + y;
        const a = (row * sheet.width + 4 + x) * 3, c = (row * sheet.width + 4 + tile + 2 + x) * 3;
        if (sheet.pixels[a] !== sheet.pixels[c] || sheet.pixels[a + 1] !== sheet.pixels[c + 1]) differ++;
      }
    }
    assert.ok(differ > 50, `sample ${i}: the labelled tile shows joints (${differ} pixels differ)`);
  }
}

test('MPII (HRNet layout, 1280x720 photos): parses, crops land on the person, preview draws them', { skip }, async () => {
  const root = join(tmp, 'mpii');
  mkdirSync(join(root, 'annot'), { recursive: true });
  symlinkSync(join(FIXTURES, 'mpii'), join(root, 'images'));
  symlinkSync(join(FIXTURES, 'mpii', 'test_mpii.json'), join(root, 'annot', 'train.json'));
  writeFileSync(join(root, 'annot', 'valid.json'), '[]');
  const ds = await MpiiDataset.open({ root, inputSize: 64, heatmapSize: 16, sigma: 1, augment: false, skipBadRecords: false });
  assert.equal(ds.size('train'), 5);
  const b = await first(ds, 'train');
  assert.equal(b.size, 5);
  const r = jointsInside(b, 16, 64);
  assert.ok(r.labelled >= 70, `labelled joints: ${r.labelled}`);
  assert.equal(r.inside, r.labelled, 'every labelled joint inside the 64x64 crop');
  previewDraws(b, ds);
});

test('COCO (17 keypoints, several persons per photo): parses, crops land on each person, preview draws them', { skip }, async () => {
  const ds = await CocoKeypointsDataset.open({
    root: join(FIXTURES, 'coco'), trainAnnotations: 'test_coco.json', valAnnotations: 'test_coco.json', images: '.',
    inputSize: 64, heatmapSize: 16, sigma: 1, bboxMargin: 1.25, flipPairs: [], augment: false, skipBadRecords: false,
    metric: { normalizer: 'auto', alpha: 0.2 },
  });
  assert.equal(ds.keypoints.label, 'coco-17');
  assert.equal(ds.keypoints.flipPairs.length, 8);
  assert.equal(ds.keypoints.skeleton.length, 19);
  // 14 annotations of 4 images; 2 have no labelled keypoint and are left out (counted once per
  // file, and the file serves as both splits here).
  assert.deepEqual([ds.size('val'), ds.filtered], [12, 4]);
  const b = await first(ds, 'val');
  const r = jointsInside(b, 17, 64);
  assert.ok(r.labelled > 150, `labelled joints: ${r.labelled}`);
  assert.equal(r.inside, r.labelled, 'every labelled joint inside its person crop');
  previewDraws(b, ds);
  // Ground truth scores 100 against itself, for every normaliser this set has.
  const scorer = ds.createScorer();
  scorer.add(b, b.joints);
  const s = scorer.result();
  assert.equal(s.mean, 100);
  assert.match(s.variant, /^PCK@0\.2 torso \(left_shoulder-right_hip\)/);
});
