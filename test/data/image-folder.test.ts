import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DataError } from '../../src/errors.ts';
import { ImagenetDataset, randomResizedCrop, type ImagenetOptions } from '../../src/data/image-folder.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../src/data/image-io.ts';
import { Rng } from '../../src/data/random.ts';
import type { ClassificationBatch } from '../../src/data/types.ts';

let root: string;
/** Class folder names (deliberately not created in sorted order) and their colours. */
const CLASSES: Record<string, number[]> = { n02_cat: [40, 200, 40], n01_ant: [220, 30, 30], n03_dog: [30, 30, 220] };

async function solid(file: string, w: number, h: number, rgb: number[]): Promise<void> {
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).jpeg({ quality: 95 }).toFile(file);
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'bnn-imagenet-'));
  for (const [name, rgb] of Object.entries(CLASSES)) {
    for (const split of ['train', 'val']) mkdirSync(join(root, 'std', split, name), { recursive: true });
    for (let i = 0; i < 3; i++) await solid(join(root, 'std', 'train', name, `img${i}.JPEG`), 40 + 10 * i, 30 + 7 * i, rgb);
    for (let i = 0; i < 2; i++) await solid(join(root, 'std', 'val', name, `v${i}.jpg`), 36, 48, rgb);
    writeFileSync(join(root, 'std', 'train', name, 'notes.txt'), 'not an image');
  }
  // A val image whose left half is black and right half white, to check the centre crop.
  const W = 80, H = 40, raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = W / 2; x < W; x++) raw.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
  mkdirSync(join(root, 'halves', 'train', 'a'), { recursive: true });
  mkdirSync(join(root, 'halves', 'train', 'b'), { recursive: true });
  mkdirSync(join(root, 'halves', 'val', 'a'), { recursive: true });
  await sharp(raw, { raw: { width: W, height: H, channels: 3 } }).png().toFile(join(root, 'halves', 'val', 'a', 'h.png'));
  await solid(join(root, 'halves', 'train', 'a', 'x.jpg'), 10, 10, [0, 0, 0]);
  await solid(join(root, 'halves', 'train', 'b', 'y.jpg'), 10, 10, [0, 0, 0]);
});
after(() => rmSync(root, { recursive: true, force: true }));

const opts = (dir: string, extra: Partial<ImagenetOptions> = {}): ImagenetOptions => ({
  root: join(root, dir), inputSize: 16, augment: true, skipBadRecords: false, ...extra,
});

async function all(ds: ImagenetDataset, split: 'train' | 'val', epoch = 0, batchSize = 4): Promise<ClassificationBatch[]> {
  const out: ClassificationBatch[] = [];
  for await (const b of ds.batches(split, { batchSize, seed: 3, epoch, shuffle: split === 'train', dropLast: false })) out.push(b);
  return out;
}

/** Mean un-normalised colour of batch image i. */
function meanColour(b: ClassificationBatch, i: number, S = 16): number[] {
  const sums = [0, 0, 0];
  for (let p = 0; p < S * S; p++) for (let c = 0; c < 3; c++) sums[c] += (b.images[(i * S * S + p) * 3 + c] * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255;
  return sums.map((s) => s / (S * S));
}

test('classes from sorted folder names; labels match the images; both splits', async () => {
  const ds = await ImagenetDataset.open(opts('std'));
  assert.deepEqual(ds.classes, ['n01_ant', 'n02_cat', 'n03_dog']);
  assert.equal(ds.numClasses, 3);
  assert.deepEqual(ds.inputShape, [16, 16, 3]);
  assert.deepEqual([ds.size('train'), ds.size('val')], [9, 6]); // notes.txt is not an image
  for (const split of ['train', 'val'] as const) {
    let seen = 0;
    for (const b of await all(ds, split)) {
      assert.equal(b.images.length, b.size * 16 * 16 * 3);
      for (let i = 0; i < b.size; i++, seen++) {
        const want = CLASSES[ds.classes[b.labels[i]]];
        meanColour(b, i).forEach((v, c) => assert.ok(Math.abs(v - want[c]) < 12, `${split} label ${b.labels[i]}: channel ${c} ${v.toFixed(1)} vs ${want[c]}`));
      }
    }
    assert.equal(seen, ds.size(split));
  }
});

test('train order and crops are seeded by (seed, epoch); val is fixed', async () => {
  const ds = await ImagenetDataset.open(opts('std'));
  const a = await all(ds, 'train', 1), b = await all(ds, 'train', 1), c = await all(ds, 'train', 2);
  assert.deepEqual(a.map((x) => Array.from(x.labels)), b.map((x) => Array.from(x.labels)));
  assert.deepEqual(a[0].images, b[0].images);
  assert.notDeepEqual(a.flatMap((x) => Array.from(x.labels)), c.flatMap((x) => Array.from(x.labels)));
  const v = await all(ds, 'val');
  assert.deepEqual(v.flatMap((x) => Array.from(x.labels)), [0, 1, 2, 0, 1, 2]); // round-robin file order
});

test('val: resize then centre crop (sizes scaled to the input)', async () => {
  const ds = await ImagenetDataset.open(opts('halves', { inputSize: 16, resizeRatio: 2 }));
  const [b] = await all(ds, 'val');
  // 80x40 → shorter side 32 → 64x32 → centre 16x16 = original x 30..50: left half black, right white.
  const px = (x: number, y: number) => (b.images[(y * 16 + x) * 3] * IMAGENET_STD[0] + IMAGENET_MEAN[0]) * 255;
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 6; x++) assert.ok(px(x, y) < 30, `(${x}, ${y}) ${px(x, y)}`);
    for (let x = 10; x < 16; x++) assert.ok(px(x, y) > 225, `(${x}, ${y}) ${px(x, y)}`);
  }
  // Default ratio 256/224 at input 16: shorter side round(18.3) = 18; still straddles the middle.
  const [d] = await all(await ImagenetDataset.open(opts('halves', { inputSize: 16 })), 'val');
  assert.equal(d.size, 1);
});

test('random-resized-crop stays inside the image and follows torchvision', () => {
  const rng = new Rng(1);
  for (let k = 0; k < 200; k++) {
    const w = 20 + rng.int(200), h = 20 + rng.int(200);
    const box = randomResizedCrop(w, h, rng);
    assert.ok(box.left >= 0 && box.top >= 0 && box.left + box.width <= w && box.top + box.height <= h && box.width > 0 && box.height > 0);
  }
  // Impossible constraints fall back to the largest centred crop of the allowed aspect ratio.
  assert.deepEqual(randomResizedCrop(100, 50, new Rng(2), [1, 1], [1, 1]), { left: 25, top: 0, width: 50, height: 50 });
  assert.deepEqual(randomResizedCrop(50, 50, new Rng(2), [1, 1], [1, 1]), { left: 0, top: 0, width: 50, height: 50 });
});

test('caps are class-balanced, round-robin over sorted classes', async () => {
  const ds = await ImagenetDataset.open(opts('std', { trainSize: 4, valSize: 2, augment: false }));
  assert.deepEqual([ds.size('train'), ds.size('val')], [4, 2]);
  const labels = (await all(ds, 'train')).flatMap((b) => Array.from(b.labels)).sort();
  assert.deepEqual(labels, [0, 0, 1, 2]);
  assert.deepEqual((await all(ds, 'val')).flatMap((b) => Array.from(b.labels)), [0, 1]);
});

test('layout problems and corrupt images are DataErrors, or skipped and counted', async () => {
  await assert.rejects(ImagenetDataset.open(opts('nope')), (e: unknown) => e instanceof DataError && /cannot list .*nope\/train/.test(e.message));
  mkdirSync(join(root, 'extra', 'train', 'a'), { recursive: true });
  mkdirSync(join(root, 'extra', 'train', 'b'), { recursive: true });
  mkdirSync(join(root, 'extra', 'val', 'zebra'), { recursive: true });
  await assert.rejects(ImagenetDataset.open(opts('extra')), /classes not in train\/: zebra/);

  // Noise, so that the JPEG is large enough to cut after its header.
  const noise = Buffer.alloc(64 * 48 * 3).map((_, i) => (i * 7919) % 251);
  const good = await sharp(noise, { raw: { width: 64, height: 48, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  for (const skip of [false, true]) {
    const dir = join(root, `corrupt-${skip}`);
    for (const c of ['a', 'b']) mkdirSync(join(dir, 'train', c), { recursive: true });
    mkdirSync(join(dir, 'val', 'a'), { recursive: true });
    writeFileSync(join(dir, 'val', 'a', 'ok.jpg'), good);
    writeFileSync(join(dir, 'train', 'a', 'ok.jpg'), good);
    writeFileSync(join(dir, 'train', 'b', 'bad.jpg'), good.subarray(0, good.length >> 1));
    const ds = await ImagenetDataset.open(opts(`corrupt-${skip}`, { skipBadRecords: skip }));
    if (!skip) {
      await assert.rejects(all(ds, 'train'), (e: unknown) => e instanceof DataError && /bad\.jpg: corrupt or unreadable image/.test(e.message));
    } else {
      const batches = await all(ds, 'train');
      assert.deepEqual(batches.map((b) => [b.size, ...b.labels]), [[1, 0]]);
      assert.equal(ds.skipped.length, 1);
    }
  }
});

test('symbolic links count as what they point to (folders of links are datasets); an empty val split is a DataError', async () => {
  // links/: train/ holds links to std's class folders (one class a folder of links to files),
  // val/ a link to std's val/, plus a dangling link that is left out.
  const links = join(root, 'links');
  mkdirSync(join(links, 'train', 'n01_ant'), { recursive: true });
  for (let i = 0; i < 3; i++) symlinkSync(join(root, 'std', 'train', 'n01_ant', `img${i}.JPEG`), join(links, 'train', 'n01_ant', `l${i}.jpg`));
  symlinkSync(join(root, 'std', 'train', 'n02_cat'), join(links, 'train', 'n02_cat'));
  symlinkSync(join(root, 'std', 'train', 'n03_dog'), join(links, 'train', 'n03_dog'));
  symlinkSync(join(root, 'nowhere'), join(links, 'train', 'n04_gone'));
  symlinkSync(join(root, 'std', 'val'), join(links, 'val'));
  const ds = await ImagenetDataset.open(opts('links'));
  assert.deepEqual(ds.classes, ['n01_ant', 'n02_cat', 'n03_dog']);
  assert.deepEqual([ds.size('train'), ds.size('val')], [9, 6]);
  const [first] = await all(ds, 'val', 0, 6);
  assert.deepEqual([...first!.labels], [0, 1, 2, 0, 1, 2]);

  const noVal = join(root, 'no-val');
  for (const c of ['a', 'b']) mkdirSync(join(noVal, 'train', c), { recursive: true });
  symlinkSync(join(root, 'halves', 'train', 'a', 'x.jpg'), join(noVal, 'train', 'a', 'x.jpg'));
  mkdirSync(join(noVal, 'val', 'a'), { recursive: true });
  await assert.rejects(ImagenetDataset.open(opts('no-val')), (e: unknown) => e instanceof DataError && /no images under .*no-val\/val/.test(e.message));
});

test('image-folder, padded crop (the CIFAR JPEG copy): test/ as val, decoded once, padded crops and flips seeded by epoch', async () => {
  const dir = join(root, 'cifar-like');
  for (const [name, rgb] of Object.entries(CLASSES)) {
    for (const split of ['train', 'test']) mkdirSync(join(dir, split, name), { recursive: true });
    for (let i = 0; i < 2; i++) await solid(join(dir, 'train', name, `${i}.jpg`), 16, 16, rgb);
    await solid(join(dir, 'test', name, 't.jpg'), 16, 16, rgb);
  }
  const mean = [0.5, 0.5, 0.5], std = [0.25, 0.25, 0.25];
  const ds = await ImagenetDataset.open({ ...opts('cifar-like'), name: 'image-folder', crop: 'padded', padding: 4, mean, std });
  assert.equal(ds.name, 'image-folder');
  assert.deepEqual([ds.size('train'), ds.size('val')], [6, 3]);
  assert.deepEqual(ds.normalization, { mean, std });
  const [v] = await all(ds, 'val', 0, 3);
  // Val: the whole image, unpadded: every pixel is the class colour.
  for (let i = 0; i < 3; i++) {
    const want = CLASSES[ds.classes[v!.labels[i]!]!]!;
    for (let p = 0; p < 256; p++) for (let c = 0; c < 3; c++) assert.ok(Math.abs((v!.images[(i * 256 + p) * 3 + c]! * 0.25 + 0.5) * 255 - want[c]!) < 12);
  }
  // Train: some crops are shifted (black padding shows); the same epoch repeats exactly.
  const a = await all(ds, 'train', 1, 6), b = await all(ds, 'train', 1, 6);
  assert.deepEqual(Array.from(a[0]!.images), Array.from(b[0]!.images));
  let black = 0;
  for (let p = 0; p < 6 * 256; p++) if ((a[0]!.images[p * 3]! * 0.25 + 0.5) * 255 < 1 && (a[0]!.images[p * 3 + 1]! * 0.25 + 0.5) * 255 < 1) black++;
  assert.ok(black > 0, 'zero padding visible in shifted crops');
});
