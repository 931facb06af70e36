import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccuracyMeter, classificationAccuracy, labelRank, topKAccuracy, topKCorrect } from '../../src/metrics/accuracy.ts';

// 4 rows, 6 classes.
const logits = Float32Array.from([
  /* row 0, label 2 */ 0.1, 0.2, 0.9, 0.0, 0.3, 0.4, // rank 0
  /* row 1, label 0 */ 0.1, 0.9, 0.8, 0.7, 0.6, 0.5, // rank 5: 5 larger logits
  /* row 2, label 3 */ 0.5, 0.5, 0.1, 0.5, 0.0, 0.0, // tie at 0.5 with classes 0, 1: rank 2
  /* row 3, label 4 */ 0.9, 0.8, 0.7, 0.6, 0.5, 0.1, // rank 4
]);
const labels = Int32Array.from([2, 0, 3, 4]);

test('label ranks, ties broken by class index', () => {
  assert.deepEqual([0, 1, 2, 3].map((i) => labelRank(logits, 6, i, labels[i])), [0, 5, 2, 4]);
  // Equal logits: the lower class index outranks.
  assert.equal(labelRank([1, 1, 1], 3, 0, 0), 0);
  assert.equal(labelRank([1, 1, 1], 3, 0, 2), 2);
});

test('top-1 and top-5 of hand-made logits', () => {
  assert.equal(topKCorrect(logits, labels, 6, 1), 1);
  assert.equal(topKAccuracy(logits, labels, 6, 1), 0.25);
  assert.equal(topKAccuracy(logits, labels, 6, 3), 0.5);
  assert.equal(topKAccuracy(logits, labels, 6, 5), 0.75);
  assert.equal(topKAccuracy(logits, labels, 6, 6), 1);
  assert.deepEqual(classificationAccuracy(logits, labels, 6), { top1: 0.25, top5: 0.75, count: 4 });
});

test('NaN logits: a NaN label logit is a miss, other NaNs never outrank', () => {
  assert.equal(topKAccuracy([Number.NaN, 1, 2], [0], 3, 3), 0);
  assert.equal(topKAccuracy([Number.NaN, Number.NaN, 0], [2], 3, 1), 1);
});

test('fewer than 5 classes: top-5 is 1; empty batch is NaN', () => {
  assert.equal(classificationAccuracy([0, 1, 0, 1], [0, 0], 2).top5, 1);
  assert.ok(Number.isNaN(topKAccuracy([], [], 3, 1)));
});

test('meter pools exact counts over batches', () => {
  const m = new AccuracyMeter();
  m.add(logits.subarray(0, 12), labels.subarray(0, 2), 6);
  m.add(logits.subarray(12), labels.subarray(2), 6);
  assert.deepEqual(m.result(), { top1: 0.25, top5: 0.75, count: 4 });
  assert.ok(Number.isNaN(new AccuracyMeter().result().top1));
});

test('bad shapes and labels throw', () => {
  assert.throws(() => topKAccuracy([1, 2, 3], [0], 2, 1), RangeError);
  assert.throws(() => topKAccuracy([1, 2], [2], 2, 1), RangeError);
  assert.throws(() => topKAccuracy([1, 2], [0.5], 2, 1), RangeError);
});
