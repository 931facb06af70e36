import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DataError } from '../../src/errors.ts';
import { CocoKeypointsDataset, type CocoKeypointsOptions } from '../../src/data/coco-keypoints.ts';
import { decodeHeatmaps } from '../../src/data/heatmaps.ts';
import { applyAffine, invertAffine, IMAGENET_MEAN, IMAGENET_STD, type Affine } from '../../src/data/image-io.ts';
import type { PoseBatch } from '../../src/data/types.ts';

/** A 6-keypoint set whose wrists are marked in the images (red = right, green = left). */
const NAMES = ['head', 'left_wrist', 'right_wrist', 'left_ankle', 'right_ankle', 'neck'];
const L_WRIST = 1, R_WRIST = 2;
const W = 200, H = 120, K = NAMES.length;
let root: string;

/** Person p of an image: keypoints around centre (cx, 60). */
function kp(cx: number, p: number): number[][] {
  return [[cx, 25], [cx + 18, 60], [cx - 18, 60], [cx + 10, 95], [cx - 10, 95 + p], [cx, 38]];
}

async function writeImage(file: string, people: number[][][]): Promise<void> {
  const raw = Buffer.alloc(W * H * 3, 25);
  const mark = ([x, y]: number[], rgb: number[]) => {
    for (let v = Math.round(y) - 3; v <= Math.round(y) + 3; v++) for (let u = Math.round(x) - 3; u <= Math.round(x) + 3; u++) raw.set(rgb, (v * W + u) * 3);
  };
  for (const k of people) { mark(k[R_WRIST]!, [230, 20, 20]); mark(k[L_WRIST]!, [20, 230, 20]); }
  await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toFile(file);
}

function ann(id: number, imageId: number, k: number[][], v: number[] = new Array(K).fill(2)) {
  const xs = k.map((p) => p[0]!), ys = k.map((p) => p[1]!);
  const bbox = [Math.min(...xs), Math.min(...ys), Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)];
  return { id, image_id: imageId, category_id: 1, iscrowd: 0, num_keypoints: v.filter(Boolean).length, keypoints: k.flatMap((p, j) => (v[j] ? [p[0], p[1], v[j]] : [0, 0, 0])), bbox };
}

const category = { id: 1, name: 'person', keypoints: NAMES, skeleton: [[1, 6], [6, 2], [6, 3]] };
function coco(images: number[], annotations: unknown[]) {
  return { images: images.map((i) => ({ id: i, file_name: `im${i}.jpg`, width: W, height: H })), annotations, categories: [{ id: 2, name: 'other' }, category] };
}

function layout(name: string, train: unknown, val: unknown, extra: Record<string, string | Buffer> = {}): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'annotations'), { recursive: true });
  cpSync(join(root, 'src'), join(dir, 'images'), { recursive: true });
  writeFileSync(join(dir, 'annotations', 'set_train.json'), typeof train === 'string' ? train : JSON.stringify(train));
  writeFileSync(join(dir, 'annotations', 'set_val.json'), typeof val === 'string' ? val : JSON.stringify(val));
  for (const [f, v] of Object.entries(extra)) writeFileSync(join(dir, f), v);
  return dir;
}

const opts = (dir: string, extra: Partial<CocoKeypointsOptions> = {}): CocoKeypointsOptions => ({
  root: dir, trainAnnotations: 'annotations/*_train.json', valAnnotations: 'annotations/*_val.json', images: 'images',
  inputSize: 64, heatmapSize: 16, sigma: 1, bboxMargin: 1.25, flipPairs: [], augment: true, skipBadRecords: false,
  metric: { normalizer: 'bbox', alpha: 0.2 }, ...extra,
});

async function all(ds: CocoKeypointsDataset, split: 'train' | 'val', epoch = 0, batchSize = 2, shuffle = split === 'train'): Promise<PoseBatch[]> {
  const out: PoseBatch[] = [];
  for await (const b of ds.batches(split, { batchSize, seed: 5, epoch, shuffle, dropLast: false })) out.push(b);
  return out;
}

function rgb(b: PoseBatch, i: number, x: number, y: number): number[] {
  const S = 64, p = ((i * S + Math.round(y)) * S + Math.round(x)) * 3;
  return [0, 1, 2].map((c) => (b.images[p + c]! * IMAGENET_STD[c]! + IMAGENET_MEAN[c]!) * 255);
}

const P1 = kp(55, 0), P2 = kp(145, 3), P3 = kp(100, 1);
before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bnn-coco-'));
  mkdirSync(join(root, 'src'));
  await writeImage(join(root, 'src', 'im1.jpg'), [P1, P2]); // two persons
  await writeImage(join(root, 'src', 'im2.jpg'), [P3]);
  writeFileSync(join(root, 'src', 'im3.jpg'), 'not a jpeg');
  const vHidden = new Array(K).fill(2); vHidden[4] = 0; // right_ankle of P3 not labelled
  layout('ok', coco([1, 2], [ann(10, 1, P1), ann(11, 1, P2), ann(12, 2, P3, vHidden), { ...ann(13, 1, P1), iscrowd: 1 }, ann(14, 1, P1, new Array(K).fill(0)), { ...ann(15, 1, P1), category_id: 2 }]),
    coco([2], [ann(20, 2, P3, vHidden)]));
});
after(() => rmSync(root, { recursive: true, force: true }));

test('keypoints, skeleton and flip pairs from the category; one sample per person; crowd and empty persons left out', async () => {
  const ds = await CocoKeypointsDataset.open(opts(join(root, 'ok')));
  assert.equal(ds.numJoints, K);
  assert.deepEqual(ds.keypoints.names, NAMES);
  assert.deepEqual(ds.keypoints.skeleton, [[0, 5], [5, 1], [5, 2]]);
  assert.deepEqual(ds.keypoints.flipPairs, [[1, 2], [3, 4]]);
  assert.deepEqual([ds.size('train'), ds.size('val'), ds.filtered], [3, 1, 3]);
  const [b] = await all(ds, 'val', 0, 4);
  assert.equal(b!.heatmaps.length, 16 * 16 * K);
  assert.equal(b!.weights[4], 0, 'v = 0 keypoint has weight 0');
  assert.equal(b!.visible[4], 0, 'v = 0 keypoint does not count for PCK');
  assert.deepEqual(Array.from(b!.bboxes!), [82, 25, 36, 71]);
});

test('val crops land on the person: projected keypoints inside the crop, marks under them, targets decode back', async () => {
  const ds = await CocoKeypointsDataset.open(opts(join(root, 'ok'), { augment: false }));
  const batches = await all(ds, 'train', 0, 3, false);
  const b = batches[0]!;
  const people = [P1, P2, P3];
  const dec = decodeHeatmaps(b.heatmaps, { inputSize: 64, heatmapSize: 16, toOriginal: b.toOriginal, numJoints: K });
  for (let i = 0; i < b.size; i++) {
    const toInput = invertAffine(Array.from(b.toOriginal.subarray(6 * i, 6 * i + 6)) as Affine);
    for (let j = 0; j < K; j++) {
      if (!b.visible[i * K + j]) continue;
      const [x, y] = [b.joints[(i * K + j) * 2]!, b.joints[(i * K + j) * 2 + 1]!];
      assert.deepEqual([x, y], people[i]![j]);
      const [ix, iy] = applyAffine(toInput, x, y);
      assert.ok(ix > 0 && iy > 0 && ix < 63 && iy < 63, `person ${i} joint ${j} at (${ix}, ${iy}) inside the crop`);
      const e = Math.hypot(dec[(i * K + j) * 2]! - x, dec[(i * K + j) * 2 + 1]! - y);
      assert.ok(e < 4, `person ${i} joint ${j}: heatmap target decodes ${e.toFixed(2)} px from the joint`);
    }
    const wr = applyAffine(toInput, ...(people[i]![R_WRIST] as [number, number])), wl = applyAffine(toInput, ...(people[i]![L_WRIST] as [number, number]));
    assert.ok(rgb(b, i, wr[0], wr[1])[0]! > 150, `person ${i}: red mark under right_wrist`);
    assert.ok(rgb(b, i, wl[0], wl[1])[1]! > 150, `person ${i}: green mark under left_wrist`);
  }
});

test('augmented training: flips swap left and right (marks follow the labels), seeded by epoch, no decoding after the first epoch', async () => {
  const ds = await CocoKeypointsDataset.open(opts(join(root, 'ok')));
  let flipped = 0;
  const first = await all(ds, 'train', 0);
  assert.equal(ds.decodes, 3);
  for (let epoch = 1; epoch < 6; epoch++) {
    for (const b of await all(ds, 'train', epoch)) {
      for (let i = 0; i < b.size; i++) {
        const t = Array.from(b.toOriginal.subarray(6 * i, 6 * i + 6)) as Affine;
        const toInput = invertAffine(t);
        const mirrored = t[0] * t[4] - t[1] * t[3] < 0;
        if (mirrored) flipped++;
        // Mirrored, the person's marked left wrist (green) is the label right_wrist now.
        const [red, green] = [0, 1];
        const at = (j: number) => applyAffine(toInput, b.joints[(i * K + j) * 2]!, b.joints[(i * K + j) * 2 + 1]!);
        const [r, l] = [at(R_WRIST), at(L_WRIST)];
        const inside = (p: number[]) => p.every((v) => v > 2 && v < 61);
        if (inside(r)) assert.ok(rgb(b, i, r[0], r[1])[mirrored ? green : red]! > 120, `mark under right_wrist (mirrored ${mirrored})`);
        if (inside(l)) assert.ok(rgb(b, i, l[0], l[1])[mirrored ? red : green]! > 120, `mark under left_wrist (mirrored ${mirrored})`);
      }
    }
  }
  assert.ok(flipped > 2, `some samples were flipped (${flipped})`);
  assert.equal(ds.decodes, 3, 'later epochs decode nothing');
  const again = await all(ds, 'train', 0);
  assert.deepEqual(again.map((b) => Array.from(b.images.subarray(0, 200))), first.map((b) => Array.from(b.images.subarray(0, 200))));
});

test('data.flip_pairs replaces the derived pairs; bad entries name the file', async () => {
  const ds = await CocoKeypointsDataset.open(opts(join(root, 'ok'), { flipPairs: ['left_wrist:right_wrist'] }));
  assert.deepEqual(ds.keypoints.flipPairs, [[1, 2]]);
  await assert.rejects(CocoKeypointsDataset.open(opts(join(root, 'ok'), { flipPairs: ['left_wrist:nope'] })), /set_train\.json: data\.flip_pairs entry 'left_wrist:nope'/);
});

test('bad input: one line naming file and annotation, or counted skips with skip_bad_records', async () => {
  const good = coco([2], [ann(20, 2, P3)]);
  const cases: Array<[string, unknown, RegExp]> = [
    ['missing-kp', coco([1, 2], [ann(1, 1, P1), { ...ann(2, 2, P3), keypoints: undefined }]), /set_train\.json: annotation 1: 'keypoints' is missing/],
    ['count', coco([1, 2], [ann(1, 1, P1), { ...ann(2, 2, P3), keypoints: [1, 2, 2] }]), /annotation 1: 'keypoints' has 3 values, the category's 6 keypoints need 18/],
    ['image-id', coco([1], [ann(1, 1, P1), ann(2, 9, P3)]), /annotation 1: image_id 9 is not in 'images'/],
    ['bbox', coco([1, 2], [ann(1, 1, P1), { ...ann(2, 2, P3), bbox: [0, 0, 0, 5] }]), /annotation 1: 'bbox' \[0, 0, 0, 5\] has no area/],
    ['v', coco([1, 2], [ann(1, 1, P1), ann(2, 2, P3, [2, 2, 2, 2, 2, 3])]), /annotation 1: keypoint 5 \(neck\) has v = 3/],
    ['missing-image', coco([1, 4], [ann(1, 1, P1), ann(2, 4, P3)]), /annotation 1 \(im4\.jpg\): image file is missing/],
    ['not-image', coco([1, 3], [ann(1, 1, P1), ann(2, 3, P3)]), /annotation 1 \(im3\.jpg\): not a readable image/],
  ];
  for (const [name, train, re] of cases) {
    const dir = layout(name, train, good);
    const err = await CocoKeypointsDataset.open(opts(dir)).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof DataError, `${name}: DataError`);
    assert.match(err.message, re, name);
    assert.ok(!err.message.includes('\n'), `${name}: one line`);
    const ds = await CocoKeypointsDataset.open(opts(dir, { skipBadRecords: true }));
    assert.deepEqual([ds.size('train'), ds.skipped.length], [1, 1], `${name}: skipped and counted`);
  }
  const noKeys = layout('no-cat', { images: [], annotations: [], categories: [{ id: 1, name: 'x' }] }, good);
  await assert.rejects(CocoKeypointsDataset.open(opts(noKeys)), /set_train\.json: no category has a 'keypoints' list/);
  const badJson = layout('bad-json', '{"images": [', good);
  await assert.rejects(CocoKeypointsDataset.open(opts(badJson)), /set_train\.json: invalid JSON/);
  await assert.rejects(CocoKeypointsDataset.open(opts(join(root, 'ok'), { trainAnnotations: 'annotations/*_nope.json' })), /data\.train_annotations: no file matches/);
  const disagree = layout('disagree', coco([1], [ann(1, 1, P1)]), { ...coco([2], [ann(2, 2, P3)]), categories: [{ ...category, keypoints: [...NAMES.slice(0, 5), 'chin'] }] });
  await assert.rejects(CocoKeypointsDataset.open(opts(disagree)), /set_val\.json has keypoints .*chin but .*set_train\.json has/);
});

test('an image that passes the header check but fails to decode is an error, or skipped once', async () => {
  const dir = layout('truncated', coco([1, 2], [ann(1, 1, P1), ann(2, 2, P3)]), coco([2], [ann(20, 2, P3)]));
  const full = readFileSync(join(dir, 'images', 'im2.jpg'));
  writeFileSync(join(dir, 'images', 'im2.jpg'), full.subarray(0, Math.floor(full.length / 3)));
  const ds = await CocoKeypointsDataset.open(opts(dir));
  await assert.rejects(all(ds, 'train', 0, 2), /coco-keypoints: .*set_train\.json annotation 1 \(im2\.jpg\): corrupt or unreadable image/);
  const skip = await CocoKeypointsDataset.open(opts(dir, { skipBadRecords: true }));
  const n = (await all(skip, 'train', 0, 2)).reduce((a, b) => a + b.size, 0);
  assert.equal(n, 1);
  assert.equal((await all(skip, 'train', 1, 2)).reduce((a, b) => a + b.size, 0), 1);
  assert.equal(skip.skipped.length, 1);
});

test('poseJoints: a COCO set\'s joints from its category without decoding images; other sets keep the default; bad files one line', async () => {
  const { poseJoints } = await import('../../src/data/index.ts');
  const { defaultConfig } = await import('../../src/config/schema.ts');
  const config = defaultConfig();
  assert.equal(await poseJoints(config), undefined); // synthetic-pose: the model's default (16)
  config.data.name = 'coco-keypoints';
  config.data.root = join(root, 'ok');
  assert.equal(await poseJoints(config), K);
  config.data.root = layout('joints-bad', '{"images": [', coco([2], []));
  await assert.rejects(poseJoints(config), (e: Error) => e instanceof DataError && /set_train\.json: invalid JSON/.test(e.message));
});
