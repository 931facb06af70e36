import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataError } from '../../src/errors.ts';
import {
  PckhAccumulator, computePckh, countCorrect, curveArea, normalizedErrors, pckhCurve, thresholdRange, type PckhInput,
} from '../../src/metrics/pckh.ts';

const J = 16;

interface Sample {
  box: [number, number, number, number];
  /** (dx, dy) prediction offset per joint; default (0, 0). */
  offsets?: Record<number, [number, number]>;
  invisible?: number[];
}

/** Ground truth at (50, 50) for every joint; predictions shifted by the given offsets. */
function build(samples: Sample[]): PckhInput {
  const n = samples.length;
  const pred = new Float64Array(n * J * 2), gt = new Float64Array(n * J * 2);
  const visible = new Uint8Array(n * J).fill(1), headBoxes = new Float64Array(n * 4);
  samples.forEach((s, i) => {
    headBoxes.set(s.box, i * 4);
    for (let j = 0; j < J; j++) {
      const [dx, dy] = s.offsets?.[j] ?? [0, 0];
      gt[(i * J + j) * 2] = 50; gt[(i * J + j) * 2 + 1] = 50;
      pred[(i * J + j) * 2] = 50 + dx; pred[(i * J + j) * 2 + 1] = 50 + dy;
    }
    for (const j of s.invisible ?? []) visible[i * J + j] = 0;
  });
  return { pred, gt, visible, headBoxes };
}

// Sample A: head box diagonal 50 → head size 0.6·50 = 30 px → 0.5 threshold = 15 px.
//   head_top off by (9, 12) = 15 px exactly (the boundary); l_shoulder off by 16 px (miss);
//   every other joint 3 px off; r_ankle invisible (its wild prediction must not count).
// Sample B: head box diagonal 10 → head size 6 px → 3 px. head_top 3 px off (boundary again);
//   l_wrist 4 px off (miss); the rest exact. l_ankle is invisible in both: never visible.
const A: Sample = {
  box: [0, 0, 30, 40],
  offsets: { ...Object.fromEntries(Array.from({ length: J }, (_, j) => [j, [3, 0]])), 9: [9, 12], 13: [0, 16], 0: [500, 500] },
  invisible: [0, 5],
};
const B: Sample = { box: [10, 10, 16, 18], offsets: { 9: [3, 0], 15: [0, 4] }, invisible: [5] };

test('normalised errors: head size is 0.6 x diagonal, invisible joints are NaN', () => {
  const e = normalizedErrors(build([A, B]));
  assert.equal(e[9], 0.5);
  assert.equal(e[13], 16 / 30);
  assert.equal(e[1], 0.1);
  assert.ok(Number.isNaN(e[0]) && Number.isNaN(e[5]));
  assert.equal(e[J + 9], 0.5);
  assert.equal(e[J + 15], 4 / 6);
});

test('default variant (count-weighted, <=): hand-computed table', () => {
  const r = computePckh(build([A, B]));
  assert.equal(r.variant, 'count-weighted mean, err <= t');
  assert.equal(r.threshold, 0.5);
  assert.equal(r.samples, 2);
  assert.equal(r.joints.head_top, 100); // both exactly at the threshold: <= counts them
  assert.equal(r.joints.l_shoulder, 50);
  assert.equal(r.joints.l_wrist, 50);
  assert.equal(r.joints.r_ankle, 100); // only B counts; A's 700 px error is ignored
  assert.ok(Number.isNaN(r.joints.l_ankle)); // never visible
  assert.deepEqual(r.counts.visible, [1, 2, 2, 2, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
  assert.deepEqual(
    { ...r.columns },
    { Head: 100, Shoulder: 75, Elbow: 100, Wrist: 75, Hip: 100, Knee: 100, Ankle: 100, Mean: 92 },
  );
  // Mean = 23 correct / 25 visible over the 14 joints (pelvis and thorax left out).
});

test('unweighted Mean averages the 13 measured joints; strict < drops boundary hits', () => {
  const unweighted = computePckh(build([A, B]), { mean: 'unweighted' });
  assert.equal(unweighted.variant, 'unweighted mean, err <= t');
  assert.equal(unweighted.columns.Mean, 1200 / 13);
  const strict = computePckh(build([A, B]), { comparison: 'lt' });
  assert.equal(strict.variant, 'count-weighted mean, err < t');
  assert.equal(strict.columns.Head, 0);
  assert.equal(strict.columns.Mean, 84); // 21 / 25
  const bearpaw = computePckh(build([A, B]), { comparison: 'lt', mean: 'unweighted' });
  assert.equal(bearpaw.columns.Mean, 1100 / 13);
});

test('pelvis and thorax never enter the Mean', () => {
  const s: Sample = { box: [0, 0, 30, 40], offsets: { 6: [100, 0], 7: [100, 0] } };
  const r = computePckh(build([s]));
  assert.equal(r.joints.pelvis, 0);
  assert.equal(r.joints.thorax, 0);
  assert.equal(r.columns.Mean, 100);
  assert.equal(computePckh(build([s]), { mean: 'unweighted' }).columns.Mean, 100);
});

test('a column whose joints are never visible is NaN, as is a Mean with nothing visible', () => {
  const r = computePckh(build([{ box: [0, 0, 30, 40], invisible: Array.from({ length: J }, (_, j) => j) }]));
  for (const v of Object.values(r.columns)) assert.ok(Number.isNaN(v));
  const head = computePckh(build([{ box: [0, 0, 30, 40], invisible: [9] }]));
  assert.ok(Number.isNaN(head.columns.Head));
  assert.equal(head.columns.Mean, 100);
});

test('any threshold; non-finite predictions of visible joints are misses', () => {
  const input = build([A, B]);
  assert.equal(computePckh(input, { threshold: 0.1 }).joints.r_knee, 100); // A: exactly 0.1, B: 0
  assert.equal(computePckh(input, { threshold: 0.1, comparison: 'lt' }).joints.r_knee, 50);
  assert.equal(computePckh(input, { threshold: 0 }).joints.r_knee, 50);
  assert.equal(computePckh(input, { threshold: 0, comparison: 'lt' }).joints.r_knee, 0);
  input.pred = Float64Array.from(input.pred);
  (input.pred as Float64Array)[2 * (J + 3)] = Number.NaN; // B l_hip
  assert.equal(computePckh(input).joints.l_hip, 50);
  assert.throws(() => computePckh(input, { threshold: -1 }), DataError);
});

test('degenerate head boxes are errors naming the sample', () => {
  const bad = build([A, { box: [5, 5, 5, 5] }]);
  assert.throws(() => computePckh(bad), (e: unknown) => e instanceof DataError && /sample 1: degenerate head box/.test(e.message));
  const nan = build([{ box: [0, 0, Number.NaN, 4] }]);
  assert.throws(() => computePckh(nan), /sample 0: head box is missing or not finite/);
  const acc = new PckhAccumulator();
  acc.add(build([A]));
  assert.throws(() => acc.add(bad), /sample 2:/); // index counts across batches
});

test('shape mismatches are programming errors', () => {
  const input = build([A]);
  assert.throws(() => computePckh({ ...input, headBoxes: [0, 0, 1] }), RangeError);
});

test('curve and accumulator agree with single evaluations', () => {
  const input = build([A, B]);
  const range = thresholdRange();
  assert.equal(range.length, 51);
  assert.equal(range[50], 0.5);
  assert.equal(range[11], 0.11);
  const curve = pckhCurve(input, range);
  assert.deepEqual(curve[50].columns, computePckh(input).columns);
  assert.deepEqual(curve[10].columns, computePckh(input, { threshold: 0.1 }).columns);
  const acc = new PckhAccumulator();
  acc.add(build([A]));
  acc.add(build([B]));
  assert.equal(acc.size, 2);
  assert.deepEqual(acc.result().columns, computePckh(input).columns);
  assert.deepEqual(acc.result({ mean: 'unweighted', comparison: 'lt' }).columns, computePckh(input, { mean: 'unweighted', comparison: 'lt' }).columns);
  assert.deepEqual(acc.curve([0.2, 0.5]).map((r) => r.columns.Mean), [0.2, 0.5].map((t) => computePckh(input, { threshold: t }).columns.Mean));
  const area = curveArea(curve);
  assert.ok(area > 0 && area < 100);
  const counts = countCorrect(normalizedErrors(input), 0.5);
  assert.equal(counts.correct.reduce((a, b) => a + b), 27); // 23 + pelvis and thorax in both
});
