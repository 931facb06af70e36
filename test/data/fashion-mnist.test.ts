import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '../../src/errors.ts';
import { DEBIAN_FOLDER, FASHION_MNIST_MEAN, FASHION_MNIST_STD, FashionMnistDataset, fashionMnistRoot, parseIdx, type FashionMnistOptions } from '../../src/data/fashion-mnist.ts';
import type { ClassificationBatch } from '../../src/data/types.ts';

let root: string;
function idx(magic: number, dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}
/** Image i: pixel (x, y) = (i·40 + x) % 256 on row y < 3, else 0; label i % 10. */
function images(n: number): Uint8Array {
  const d = new Uint8Array(n * 784);
  for (let i = 0; i < n; i++) for (let y = 0; y < 3; y++) for (let x = 0; x < 28; x++) d[i * 784 + y * 28 + x] = (i * 40 + x) % 256;
  return d;
}
function write(dir: string, gz: boolean, patch: Record<string, Buffer> = {}): void {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, Buffer> = {
    'train-images-idx3-ubyte': idx(0x803, [6, 28, 28], images(6)), 'train-labels-idx1-ubyte': idx(0x801, [6], Uint8Array.from({ length: 6 }, (_, i) => i % 10)),
    't10k-images-idx3-ubyte': idx(0x803, [2, 28, 28], images(2)), 't10k-labels-idx1-ubyte': idx(0x801, [2], Uint8Array.from([7, 3])), ...patch,
  };
  for (const [name, b] of Object.entries(files)) writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(b) : b);
}
before(() => {
  root = mkdtempSync(join(tmpdir(), 'bnn-fmnist-'));
  write(join(root, 'gz'), true);
  write(join(root, 'raw'), false);
  write(join(root, 'magic'), true, { 'train-labels-idx1-ubyte': idx(0x803, [6], new Uint8Array(6)) });
  write(join(root, 'short'), true, { 'train-images-idx3-ubyte': idx(0x803, [6, 28, 28], images(6)).subarray(0, 16 + 784 * 4 + 10) });
  write(join(root, 'count'), true, { 'train-labels-idx1-ubyte': idx(0x801, [5], new Uint8Array(5)) });
});
after(() => rmSync(root, { recursive: true, force: true }));

const opts = (dir: string, extra: Partial<FashionMnistOptions> = {}): FashionMnistOptions => ({ root: join(root, dir), inputSize: 28, channels: 1, augment: false, padding: 4, ...extra });
async function all(ds: FashionMnistDataset, split: 'train' | 'val', epoch = 0): Promise<ClassificationBatch[]> {
  const out: ClassificationBatch[] = [];
  for await (const b of ds.batches(split, { batchSize: 4, seed: 1, epoch, shuffle: false, dropLast: false })) out.push(b);
  return out;
}
const pix = (v: number) => Math.round((v * FASHION_MNIST_STD + FASHION_MNIST_MEAN) * 255) + 0; // + 0: no -0

test('IDX .gz and plain files: images, labels, normalisation, centring on a larger input, 3 channels', async () => {
  for (const dir of ['gz', 'raw']) {
    const ds = await FashionMnistDataset.open(opts(dir));
    assert.deepEqual([ds.size('train'), ds.size('val'), ds.numClasses], [6, 2, 10]);
    const [b] = await all(ds, 'train');
    assert.deepEqual(Array.from(b!.labels), [0, 1, 2, 3]);
    assert.equal(pix(b!.images[784 + 2 * 28 + 5]!), 45); // image 1, (5, 2)
    assert.equal(pix(b!.images[784 + 3 * 28 + 5]!), 0);
    const [v] = await all(ds, 'val');
    assert.deepEqual(Array.from(v!.labels), [7, 3]);
  }
  const big = await FashionMnistDataset.open(opts('gz', { inputSize: 32, channels: 3 }));
  assert.deepEqual(big.inputShape, [32, 32, 3]);
  const [b] = await all(big, 'train');
  // Image 1 pixel (5, 2) sits at (7, 4) of the 32x32 input, on all three channels.
  for (let c = 0; c < 3; c++) assert.equal(pix(b!.images[(32 * 32 + 4 * 32 + 7) * 3 + c]!), 45);
  assert.equal(pix(b!.images[(32 * 32 + 4 * 32 + 1) * 3]!), 0);
});

test('bad IDX files: wrong magic, truncated, label count; one line naming the file', async () => {
  await assert.rejects(FashionMnistDataset.open(opts('magic')), (e: unknown) => e instanceof DataError && /train-labels-idx1-ubyte\.gz: IDX magic 0x00000803, expected 0x00000801/.test(e.message));
  await assert.rejects(FashionMnistDataset.open(opts('short')), /train-images-idx3-ubyte\.gz: truncated: the header promises 6x28x28 = 4704 bytes, the file has 3146 \(record 4 is incomplete\)/);
  await assert.rejects(FashionMnistDataset.open(opts('count')), /has 5 labels for 6 images/);
  await assert.rejects(FashionMnistDataset.open(opts('none')), /neither .*train-images-idx3-ubyte\.gz nor/);
  assert.throws(() => parseIdx(new Uint8Array(3), 'x', 1), /x: 3 bytes is too short for an IDX header/);
});

test('data.root unset: the Debian package folder when installed, else a clear error', async () => {
  if (existsSync(join(DEBIAN_FOLDER, 'train-images-idx3-ubyte.gz'))) assert.equal(await fashionMnistRoot(null), DEBIAN_FOLDER);
  else await assert.rejects(fashionMnistRoot(null), /set data\.root .* or install Debian's dataset-fashion-mnist/);
  assert.equal(await fashionMnistRoot('rel/dir'), join(process.cwd(), 'rel/dir'));
});
