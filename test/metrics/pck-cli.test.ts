import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pckReport } from '../../src/cli/pck.ts';
import { DataError } from '../../src/errors.ts';
import { LSP_JOINTS } from '../../src/data/keypoints.ts';

let dir: string;
const K = 14;
/** Person at horizontal offset dx: joint j at (dx + 4 j, 2 j); l_shoulder (9) at (dx, 0), r_hip (2) at (dx + 30, 40): torso 50. */
function joints(dx: number): number[][] {
  const p = Array.from({ length: K }, (_, j) => [dx + 4 * j, 2 * j]);
  p[9] = [dx, 0];
  p[2] = [dx + 30, 40];
  return p;
}
const flat = (p: number[][], third: number) => p.flatMap(([x, y]) => [x, y, third]);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bnn-pck-'));
  const gt = {
    images: [{ id: 1, file_name: 'a.jpg' }, { id: 2, file_name: 'b.jpg' }],
    categories: [{ id: 1, name: 'person', keypoints: LSP_JOINTS, skeleton: [] }],
    annotations: [
      { id: 1, image_id: 1, category_id: 1, keypoints: flat(joints(0), 2), bbox: [0, 0, 60, 40] },
      { id: 2, image_id: 1, category_id: 1, keypoints: flat(joints(200), 2), bbox: [200, 0, 60, 40] },
      { id: 3, image_id: 2, category_id: 1, keypoints: flat(joints(0), 2).map((v, i) => (Math.floor(i / 3) === 2 && i % 3 === 2 ? 0 : v)), bbox: [0, 0, 60, 40] },
    ],
  };
  writeFileSync(join(dir, 'gt.json'), JSON.stringify(gt));
  // Predictions listed in the other order for image 1: matching must pair them by position.
  // Person 2's prediction is exact; person 1's is 8 px off on every joint (inside 0.2 x 50 = 10).
  // Image 2's person has no r_hip: left out of torso PCK. One extra far prediction on image 1.
  const pred = [
    { image_id: 1, category_id: 1, keypoints: flat(joints(200), 1), score: 1 },
    { image_id: 1, category_id: 1, keypoints: flat(joints(0).map(([x, y]) => [x + 8, y]), 1), score: 1 },
    { image_id: 1, category_id: 1, keypoints: flat(joints(900), 1), score: 0.1 },
    { image_id: 2, category_id: 1, keypoints: flat(joints(0), 1), score: 1 },
  ];
  writeFileSync(join(dir, 'pred.json'), JSON.stringify(pred));
  writeFileSync(join(dir, 'short.json'), JSON.stringify([{ image_id: 1, category_id: 1, keypoints: [1, 2, 3] }]));
});
after(() => rmSync(dir, { recursive: true, force: true }));


test('pck --json: matches persons within an image, leaves out persons without torso keypoints, names the variant', async () => {
  const out = JSON.parse(await pckReport({ gt: join(dir, 'gt.json'), pred: join(dir, 'pred.json'), normalizer: 'torso', json: true }));
  assert.equal(out.variant, 'PCK@0.2 torso (l_shoulder-r_hip), count-weighted mean over 14 lsp-14 joints, err <= t');
  assert.deepEqual([out.persons, out.scored, out.left_out, out.unmatched_persons, out.unused_predictions], [3, 2, 1, 0, 1]);
  assert.equal(out.mean, 100);
  assert.deepEqual(Object.keys(out.columns), ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean']);
  assert.equal(Object.keys(out.joints).length, 14);
  // At alpha 0.15 (7.5 px) person 1's 8 px errors miss: 14 of 28 joints correct.
  const tight = JSON.parse(await pckReport({ gt: join(dir, 'gt.json'), pred: join(dir, 'pred.json'), normalizer: 'torso', alpha: 0.15, json: true }));
  assert.equal(tight.mean, 50);
  // bbox (60 px, alpha 0.1 = 6 px): nobody is left out; person 1's 8 px errors miss, person 2 and
  // image 2's person (13 labelled joints) hit: r_hip 1 of 2, every other joint 2 of 3.
  const bbox = JSON.parse(await pckReport({ gt: join(dir, 'gt.json'), pred: join(dir, 'pred.json'), normalizer: 'bbox', alpha: 0.1, json: true }));
  assert.deepEqual([bbox.scored, bbox.left_out], [3, 0]);
  assert.equal(bbox.joints.r_hip, 50);
  assert.ok(Math.abs(bbox.joints.r_ankle - 200 / 3) < 1e-9);
  assert.ok(Math.abs(bbox.mean - (100 * 27) / 41) < 1e-9);
});

test('pck table output and bad input', async () => {
  const table = await pckReport({ gt: join(dir, 'gt.json'), pred: join(dir, 'pred.json'), normalizer: 'torso' });
  assert.match(table, /^PCK@0\.2 torso/);
  assert.match(table, /left out 1/);
  await assert.rejects(pckReport({ gt: join(dir, 'gt.json'), pred: join(dir, 'short.json'), normalizer: 'torso' }), (e: unknown) => e instanceof DataError && /short\.json: record 0: 'keypoints' must hold 42 numbers/.test(e.message));
  await assert.rejects(pckReport({ gt: join(dir, 'gt.json'), pred: join(dir, 'pred.json'), normalizer: 'torso', alpha: -1 }), /--alpha must be a number >= 0/);
  await assert.rejects(pckReport({ gt: join(dir, 'nope.json'), pred: join(dir, 'pred.json'), normalizer: 'torso' }), /nope\.json: cannot read \(ENOENT\)/);
});
