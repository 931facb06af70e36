import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DataError } from '../../src/errors.ts';
import { MpiiDataset, type MpiiOptions } from '../../src/data/mpii.ts';
import { decodeHeatmaps } from '../../src/data/heatmaps.ts';
import { applyAffine, invertAffine, IMAGENET_MEAN, IMAGENET_STD, type Affine } from '../../src/data/image-io.ts';
import { MPII_JOINTS, type PoseBatch } from '../../src/data/types.ts';

const W = 160, H = 120, J = 16;
const R_WRIST = 10, L_WRIST = 15;
let root: string;

/** 1-based MPII joints of person k: a spread around (80, 60), distinct per person. */
function joints(k: number): number[][] {
  return Array.from({ length: J }, (_, j) => [50 + ((j * 7 + k * 3) % 60), 30 + ((j * 11 + k * 5) % 60)]);
}

/** A dark JPEG with a red square at r_wrist and a green one at l_wrist (1-based positions). */
async function writeImage(file: string, k: number): Promise<void> {
  const raw = Buffer.alloc(W * H * 3, 20);
  const mark = ([x, y]: number[], rgb: number[]) => {
    for (let v = Math.round(y) - 4; v <= Math.round(y) + 2; v++) {
      for (let u = Math.round(x) - 4; u <= Math.round(x) + 2; u++) raw.set(rgb, (v * W + u) * 3);
    }
  };
  mark(joints(k)[R_WRIST], [230, 20, 20]);
  mark(joints(k)[L_WRIST], [20, 230, 20]);
  await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toFile(file);
}

const vis = (k: number) => Array.from({ length: J }, (_, j) => (k === 1 && j === 0 ? 0 : 1));
const hrnet = (k: number) => ({ image: `im${k}.jpg`, center: [80, 54], scale: 0.4, joints: joints(k), joints_vis: vis(k) });
const box = (k: number) => [[70 + k, 20], [90 + k, 44]];

function layout(name: string, files: Record<string, unknown>, images = [0, 1, 2, 3]): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'annot'), { recursive: true });
  mkdirSync(join(dir, 'images'), { recursive: true });
  for (const k of images) writeFileSync(join(dir, 'images', `im${k}.jpg`), readFileSync(join(root, 'src', `im${k}.jpg`)));
  for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), typeof v === 'string' ? v : JSON.stringify(v));
  return dir;
}

const opts = (dir: string, extra: Partial<MpiiOptions> = {}): MpiiOptions => ({
  root: dir, inputSize: 64, heatmapSize: 16, sigma: 1, augment: true, skipBadRecords: false, ...extra,
});

async function all(ds: MpiiDataset, split: 'train' | 'val', epoch = 0, batchSize = 2): Promise<PoseBatch[]> {
  const out: PoseBatch[] = [];
  for await (const b of ds.batches(split, { batchSize, seed: 7, epoch, shuffle: split === 'train', dropLast: false })) out.push(b);
  return out;
}

/** Un-normalised RGB (0–255) of a batch image at input pixel (x, y). */
function rgb(b: PoseBatch, i: number, x: number, y: number): number[] {
  const S = 64, p = ((i * S + Math.round(y)) * S + Math.round(x)) * 3;
  return [0, 1, 2].map((c) => (b.images[p + c] * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255);
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bnn-mpii-'));
  mkdirSync(join(root, 'src'));
  for (const k of [0, 1, 2, 3]) await writeImage(join(root, 'src', `im${k}.jpg`), k);
  layout('hrnet', {
    'annot/train.json': [hrnet(0), hrnet(1), hrnet(2)],
    'annot/valid.json': [hrnet(3), hrnet(1)],
    'annot/head_boxes_valid.json': [box(3), box(1)],
  });
});
after(() => rmSync(root, { recursive: true, force: true }));

test('HRNet layout, val: shapes, original-coordinate joints, head boxes, targets that decode back', async () => {
  const ds = await MpiiDataset.open(opts(join(root, 'hrnet')));
  assert.equal(ds.format, 'hrnet');
  assert.deepEqual([ds.size('train'), ds.size('val')], [3, 2]);
  assert.deepEqual(ds.inputShape, [64, 64, 3]);
  const [b] = await all(ds, 'val');
  assert.equal(b.size, 2);
  assert.equal(b.images.length, 2 * 64 * 64 * 3);
  assert.equal(b.heatmaps.length, 2 * 16 * 16 * J);
  // Sample 1 is record 1 of valid.json (person 1): 0-based joints, r_ankle unlabelled.
  assert.deepEqual(Array.from(b.joints.subarray(J * 2, J * 2 + 4)), [joints(1)[0][0] - 1, joints(1)[0][1] - 1, joints(1)[1][0] - 1, joints(1)[1][1] - 1]);
  assert.equal(b.visible[J], 0);
  assert.equal(b.weights[J], 0);
  assert.deepEqual(Array.from(b.headBoxes.subarray(0, 4)), [72, 19, 92, 43]);
  const decoded = decodeHeatmaps(b.heatmaps, { inputSize: 64, heatmapSize: 16, toOriginal: b.toOriginal });
  for (let k = 0; k < 2 * J; k++) {
    if (!b.weights[k]) continue;
    const err = Math.hypot(decoded[2 * k] - b.joints[2 * k], decoded[2 * k + 1] - b.joints[2 * k + 1]);
    assert.ok(err < 3.2, `joint ${k}: decoded target is ${err.toFixed(2)} px off`); // half a cell = 3.1 px
  }
  // The red marker of r_wrist is where toOriginal says it is.
  const toInput = invertAffine(Array.from(b.toOriginal.subarray(0, 6)) as Affine);
  const [x, y] = applyAffine(toInput, b.joints[2 * R_WRIST], b.joints[2 * R_WRIST + 1]);
  const [r, g] = rgb(b, 0, x, y);
  assert.ok(r > 150 && g < 100, `red marker, got ${r.toFixed(0)}, ${g.toFixed(0)}`);
});

test('train: seeded augmentation, flips swap left and right consistently', async () => {
  const ds = await MpiiDataset.open(opts(join(root, 'hrnet')));
  let flips = 0, unflipped = 0, checked = 0;
  for (let epoch = 0; epoch < 6; epoch++) {
    for (const b of await all(ds, 'train', epoch, 3)) {
      for (let i = 0; i < b.size; i++) {
        const m = Array.from(b.toOriginal.subarray(i * 6, i * 6 + 6)) as Affine;
        const flipped = m[0] * m[4] - m[1] * m[3] < 0;
        if (flipped) flips++; else unflipped++;
        const toInput = invertAffine(m);
        for (const j of [R_WRIST, L_WRIST]) {
          const [x, y] = applyAffine(toInput, b.joints[(i * J + j) * 2], b.joints[(i * J + j) * 2 + 1]);
          if (x < 3 || y < 3 || x > 60 || y > 60) continue;
          checked++;
          const [r, g] = rgb(b, i, x, y);
          // Label r_wrist of a mirrored sample is the person's left wrist: the green marker.
          const red = (j === R_WRIST) !== flipped;
          assert.ok(red ? r > g + 60 : g > r + 60, `${MPII_JOINTS[j]} flipped=${flipped}: rgb ${r.toFixed(0)},${g.toFixed(0)}`);
        }
      }
    }
  }
  assert.ok(flips > 0 && unflipped > 0, `${flips} flipped, ${unflipped} not`);
  assert.ok(checked > 20, `only ${checked} markers inside the crops`);
  const again = await all(ds, 'train', 3, 3), once = await all(ds, 'train', 3, 3);
  assert.deepEqual(again[0].toOriginal, once[0].toOriginal);
  assert.deepEqual(again[0].images, once[0].images);
  assert.notDeepEqual((await all(ds, 'train', 4, 3))[0].toOriginal, once[0].toOriginal);
});

test('bearpaw layout gives the same records', async () => {
  const bp = (k: number, val: number) => ({
    dataset: 'MPI', isValidation: val, img_paths: `im${k}.jpg`, img_width: W, img_height: H, objpos: [80, 54], scale_provided: 0.4,
    joint_self: joints(k).map(([x, y], j) => (vis(k)[j] ? [x, y, 1] : [0, 0, 0])),
  });
  const dir = layout('bearpaw', {
    'mpii_annotations.json': [bp(0, 0), bp(3, 1), bp(1, 0), bp(1, 1), bp(2, 0)],
    'head_boxes_valid.json': [box(3), box(1)],
  });
  const ds = await MpiiDataset.open(opts(dir, { augment: false }));
  assert.equal(ds.format, 'bearpaw');
  assert.deepEqual([ds.size('train'), ds.size('val')], [3, 2]);
  const ref = await all(await MpiiDataset.open(opts(join(root, 'hrnet'))), 'val');
  const got = await all(ds, 'val');
  const labelled = (b: PoseBatch) => Array.from(b.joints).filter((_, k) => b.visible[k >> 1]);
  assert.deepEqual(labelled(got[0]), labelled(ref[0])); // unlabelled ones are zero-padded in bearpaw's file
  assert.deepEqual(got[0].visible, ref[0].visible);
  assert.deepEqual(got[0].headBoxes, ref[0].headBoxes);
  assert.deepEqual(got[0].images, ref[0].images);
});

test('caps, unshuffled order, prefetch depth 0 and partial batches', async () => {
  const ds = await MpiiDataset.open(opts(join(root, 'hrnet'), { trainSize: 2, valSize: 1, prefetch: 0 }));
  assert.deepEqual([ds.size('train'), ds.size('val')], [2, 1]);
  const batches = await all(ds, 'val', 0, 4);
  assert.equal(batches.length, 1);
  assert.equal(batches[0].size, 1);
});

async function openError(name: string, files: Record<string, unknown>, images?: number[], extra: Partial<MpiiOptions> = {}): Promise<string> {
  try {
    await MpiiDataset.open(opts(layout(name, files, images), extra));
  } catch (e) {
    assert.ok(e instanceof DataError, String(e));
    return e.message;
  }
  return '';
}

test('bad records are DataErrors naming the record, or skipped and counted', async () => {
  const nan = { ...hrnet(2), joints: [[null, 3], ...joints(2).slice(1)] };
  const far = { ...hrnet(2), joints: [...joints(2).slice(0, 5), [5000, 40], ...joints(2).slice(6)] };
  const base = { 'annot/valid.json': [hrnet(3)], 'annot/head_boxes_valid.json': [box(3)] };
  assert.match(await openError('nan', { ...base, 'annot/train.json': [hrnet(0), nan] }), /train\.json record 1: joint 0 has a non-numeric or NaN value/);
  assert.match(await openError('far', { ...base, 'annot/train.json': [far] }), /train\.json record 0 \(im2\.jpg\): joint 5 \(5000, 40\) lies far outside/);
  assert.match(await openError('missing', { ...base, 'annot/train.json': [hrnet(0), hrnet(2)] }, [0, 3]), /train\.json record 1 \(im2\.jpg\): image file is missing/);
  assert.match(await openError('scale', { ...base, 'annot/train.json': [{ ...hrnet(0), scale: -1 }] }), /record 0: scale -1 is not a positive number/);
  assert.match(await openError('vis', { ...base, 'annot/train.json': [{ ...hrnet(0), joints_vis: vis(0).slice(1) }] }), /record 0: joints_vis must have 16 entries/);
  assert.match(await openError('nobox', { 'annot/train.json': [hrnet(0)], 'annot/valid.json': [hrnet(3)] }), /validation record 0 .* has no head box/);
  assert.match(await openError('badbox', { ...base, 'annot/train.json': [hrnet(0)], 'annot/head_boxes_valid.json': [[[1, 1], [1, 1]]] }), /head_boxes_valid\.json entry 0: head box is degenerate/);
  assert.match(await openError('empty', {}), /no annotations under/);
  assert.match(await openError('json', { 'annot/train.json': '[{', 'annot/valid.json': [] }), /train\.json is not valid JSON/);

  const dir = layout('skip', { ...base, 'annot/train.json': [hrnet(0), nan, far, hrnet(2), hrnet(1)] }, [0, 1, 3]);
  const ds = await MpiiDataset.open(opts(dir, { skipBadRecords: true }));
  assert.equal(ds.size('train'), 2); // nan (annotation), far (range), hrnet(2) (missing image) skipped
  assert.deepEqual(ds.skipped.map((s) => s.index).sort(), [1, 2, 3]);
});

test('a corrupt JPEG fails when decoded, or is dropped from its batch and counted', async () => {
  const good = readFileSync(join(root, 'src', 'im2.jpg'));
  const files = { 'annot/train.json': [hrnet(0), hrnet(2)], 'annot/valid.json': [hrnet(3)], 'annot/head_boxes_valid.json': [box(3)] };
  for (const skip of [false, true]) {
    const dir = layout(`corrupt-${skip}`, files, [0, 3]);
    writeFileSync(join(dir, 'images', 'im2.jpg'), good.subarray(0, 700)); // header intact, data cut
    const ds = await MpiiDataset.open(opts(dir, { skipBadRecords: skip }));
    if (!skip) {
      await assert.rejects(all(ds, 'train', 0, 2), (e: unknown) => e instanceof DataError && /train\.json record 1 \(im2\.jpg\): corrupt or unreadable image/.test(e.message));
    } else {
      const batches = await all(ds, 'train', 0, 2);
      assert.deepEqual(batches.map((b) => b.size), [1]);
      assert.equal(ds.skipped.length, 1);
      await all(ds, 'train', 1, 2);
      assert.equal(ds.skipped.length, 1); // counted once, not per epoch
    }
  }
});
