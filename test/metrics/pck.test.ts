import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataError } from '../../src/errors.ts';
import { LSP_JOINTS, makeKeypointSet, type KeypointSet } from '../../src/data/keypoints.ts';
import { PckAccumulator, computePck, pckColumns, type PckInput, type PckNormalizer } from '../../src/metrics/pck.ts';
import { Rng } from '../../src/data/random.ts';

const LSP = makeKeypointSet('lsp-14', LSP_JOINTS, []);
const COCO = makeKeypointSet('coco-17', ['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle'], []);
const L_SHO = 9, R_HIP = 2, NECK = 12, HEAD = 13;

/** One LSP person: every joint at (10 j, 0) except l_shoulder (0, 0) and r_hip (30, 40) → torso 50. */
function person(): { gt: number[]; vis: number[] } {
  const gt: number[] = [];
  for (let j = 0; j < 14; j++) gt.push(10 * j, 0);
  gt[2 * L_SHO] = 0; gt[2 * L_SHO + 1] = 0;
  gt[2 * R_HIP] = 30; gt[2 * R_HIP + 1] = 40;
  gt[2 * NECK] = 100; gt[2 * NECK + 1] = 0;
  gt[2 * HEAD] = 100; gt[2 * HEAD + 1] = 20; // head size 20
  return { gt, vis: new Array(14).fill(1) };
}

test('torso PCK@0.2 by hand: threshold 10 px of a 50 px torso, <= counts, per-joint and LSP columns', () => {
  const { gt, vis } = person();
  const pred = [...gt];
  // Errors: r_ankle 10 (on the threshold: correct), r_knee 10.5 (miss), l_wrist 3 (hit), neck NaN (miss).
  pred[0] += 10;
  pred[2] += 10.5;
  pred[2 * 11 + 1] += 3;
  pred[2 * NECK] = Number.NaN;
  const r = computePck(LSP, { pred, gt, visible: vis }, { normalizer: 'torso', alpha: 0.2 });
  assert.equal(r.joints.r_ankle, 100);
  assert.equal(r.joints.r_knee, 0);
  assert.equal(r.joints.l_wrist, 100);
  assert.equal(r.joints.neck, 0);
  assert.deepEqual(Object.keys(r.columns), ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean']);
  assert.equal(r.columns.Head, 50); // neck missed, head_top hit
  assert.equal(r.columns.Knee, 50);
  assert.equal(r.columns.Ankle, 100);
  assert.ok(Math.abs(r.columns.Mean - (100 * 12) / 14) < 1e-9);
  assert.match(r.variant, /^PCK@0\.2 torso \(l_shoulder-r_hip\), count-weighted mean over 14 lsp-14 joints, err <= t$/);
  assert.equal(computePck(LSP, { pred, gt, visible: vis }, { normalizer: 'torso', alpha: 0.2, comparison: 'lt' }).joints.r_ankle, 0);
});

test('head and bbox normalisers by hand', () => {
  const { gt, vis } = person();
  const pred = [...gt];
  pred[0] += 10; // 10 px: 0.5 head sizes (20 px), 0.1 of a 100 px bbox
  const head = computePck(LSP, { pred, gt, visible: vis }, { normalizer: 'head', alpha: 0.5 });
  assert.equal(head.joints.r_ankle, 100);
  assert.equal(computePck(LSP, { pred, gt, visible: vis }, { normalizer: 'head', alpha: 0.49 }).joints.r_ankle, 0);
  const bboxes = [0, 0, 60, 100];
  assert.equal(computePck(LSP, { pred, gt, visible: vis, bboxes }, { normalizer: 'bbox', alpha: 0.1 }).joints.r_ankle, 100);
  assert.equal(computePck(LSP, { pred, gt, visible: vis, bboxes }, { normalizer: 'bbox', alpha: 0.099 }).joints.r_ankle, 0);
  assert.throws(() => computePck(LSP, { pred, gt, visible: vis }, { normalizer: 'bbox', alpha: 0.1 }), DataError);
});

test('persons without reference keypoints are left out and counted; unlabelled joints never count', () => {
  const a = person(), b = person();
  b.vis[R_HIP] = 0; // no torso for b
  a.vis[0] = 0; // r_ankle of a unlabelled
  const pred = [...a.gt, ...b.gt].map((v, i) => (i % 2 === 0 ? v + 100 : v)); // every prediction far off
  const r = computePck(LSP, { pred, gt: [...a.gt, ...b.gt], visible: [...a.vis, ...b.vis] }, { normalizer: 'torso', alpha: 0.2 });
  assert.equal(r.samples, 2);
  assert.equal(r.leftOut, 1);
  assert.equal(r.scored, 1);
  assert.equal(r.counts.visible[0], 0);
  assert.ok(Number.isNaN(r.joints.r_ankle));
  assert.equal(r.counts.visible.reduce((x, y) => x + y, 0), 13);
  // head normaliser: b has neck and head_top, so nobody is left out.
  assert.equal(computePck(LSP, { pred, gt: [...a.gt, ...b.gt], visible: [...a.vis, ...b.vis] }, { normalizer: 'head', alpha: 0.5 }).leftOut, 0);
});

test('sets without the reference keypoints say so; COCO columns group eyes, ears and nose as Head', () => {
  const noTorso = makeKeypointSet('x', ['a', 'b'], []);
  assert.throws(() => new PckAccumulator(noTorso, 'torso'), /left shoulder and a right hip/);
  assert.throws(() => new PckAccumulator(COCO, 'head'), /neck and head_top/);
  assert.deepEqual(pckColumns(COCO).map(([c, ids]) => `${c}:${ids.join(',')}`), ['Head:0,1,2,3,4', 'Shoulder:5,6', 'Elbow:7,8', 'Wrist:9,10', 'Hip:11,12', 'Knee:13,14', 'Ankle:15,16']);
});

/** An independent PCK: per person, per joint, straight from the definition, in float64. */
function referencePck(set: KeypointSet, input: PckInput, normalizer: PckNormalizer, alpha: number): { perJoint: number[]; mean: number; leftOut: number } {
  const K = set.names.length, n = input.visible.length / K;
  const idx = (name: string) => set.names.indexOf(name);
  const hit = new Array(K).fill(0), cnt = new Array(K).fill(0);
  let leftOut = 0;
  for (let i = 0; i < n; i++) {
    const g = (j: number) => [input.gt[(i * K + j) * 2]!, input.gt[(i * K + j) * 2 + 1]!];
    let ref: number;
    if (normalizer === 'bbox') ref = Math.max(input.bboxes![4 * i + 2]!, input.bboxes![4 * i + 3]!);
    else {
      const [a, b] = normalizer === 'torso' ? [idx('l_shoulder'), idx('r_hip')] : [idx('neck'), idx('head_top')];
      ref = input.visible[i * K + a] && input.visible[i * K + b] ? Math.sqrt((g(a)[0]! - g(b)[0]!) ** 2 + (g(a)[1]! - g(b)[1]!) ** 2) : 0;
    }
    if (!(ref > 0)) { leftOut++; continue; }
    for (let j = 0; j < K; j++) {
      if (!input.visible[i * K + j]) continue;
      cnt[j]++;
      const dx = input.pred[(i * K + j) * 2]! - g(j)[0]!, dy = input.pred[(i * K + j) * 2 + 1]! - g(j)[1]!;
      if (Math.sqrt(dx * dx + dy * dy) <= alpha * ref) hit[j]++;
    }
  }
  const total = cnt.reduce((a, b) => a + b, 0);
  return { perJoint: hit.map((h, j) => (cnt[j] ? (100 * h) / cnt[j] : Number.NaN)), mean: (100 * hit.reduce((a, b) => a + b, 0)) / total, leftOut };
}

test('every normaliser agrees with an independent implementation on random persons, batched or not', () => {
  const rng = new Rng(11);
  const K = 14, n = 300;
  const gt = new Float64Array(n * K * 2), pred = new Float64Array(n * K * 2), visible = new Uint8Array(n * K), bboxes = new Float64Array(n * 4);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < K; j++) {
      const k = i * K + j;
      gt[2 * k] = rng.uniform(0, 128); gt[2 * k + 1] = rng.uniform(0, 128);
      pred[2 * k] = gt[2 * k] + rng.uniform(-12, 12); pred[2 * k + 1] = gt[2 * k + 1] + rng.uniform(-12, 12);
      visible[k] = rng.float() < 0.85 ? 1 : 0;
    }
    bboxes.set([0, 0, rng.uniform(20, 100), rng.uniform(20, 100)], 4 * i);
  }
  for (const [normalizer, alpha] of [['torso', 0.2], ['head', 0.5], ['bbox', 0.1]] as const) {
    const want = referencePck(LSP, { pred, gt, visible, bboxes }, normalizer, alpha);
    const acc = new PckAccumulator(LSP, normalizer);
    for (let s = 0; s < n; s += 64) {
      const e = Math.min(n, s + 64);
      acc.add({ pred: pred.subarray(s * K * 2, e * K * 2), gt: gt.subarray(s * K * 2, e * K * 2), visible: visible.subarray(s * K, e * K), bboxes: bboxes.subarray(s * 4, e * 4) });
    }
    const got = acc.result({ normalizer, alpha });
    assert.equal(got.leftOut, want.leftOut, normalizer);
    if (normalizer !== 'bbox') assert.ok(want.leftOut > 10, `${normalizer}: the random data should leave some persons out`);
    LSP.names.forEach((name, j) => assert.ok(Math.abs(got.joints[name]! - want.perJoint[j]!) < 1e-9, `${normalizer} ${name}`));
    assert.ok(Math.abs(got.columns.Mean! - want.mean) < 1e-9, normalizer);
    assert.ok(got.columns.Mean! > 5 && got.columns.Mean! < 95, `${normalizer}: a non-trivial score (${got.columns.Mean})`);
  }
});
