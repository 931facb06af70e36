import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '../../src/errors.ts';
import { CIFAR10_FILES, CIFAR10_MEAN, CIFAR10_RECORD, CIFAR10_STD, Cifar10Dataset, type Cifar10Options } from '../../src/data/cifar10.ts';
import { padCropInto } from '../../src/data/pad-crop.ts';
import { Rng } from '../../src/data/random.ts';
import type { ClassificationBatch } from '../../src/data/types.ts';

let root: string;
/** Record r of file f: label (f + r) % 10; pixel (x, y) = R: x·8 + r, G: y·8, B: 200 − f·10 (planar in the file). */
function record(f: number, r: number): Buffer {
  const b = Buffer.alloc(CIFAR10_RECORD);
  b[0] = (f + r) % 10;
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      b[1 + y * 32 + x] = (x * 8 + r) % 256;
      b[1 + 1024 + y * 32 + x] = y * 8;
      b[1 + 2048 + y * 32 + x] = 200 - f * 10;
    }
  }
  return b;
}

function write(dir: string, perFile = 3, patch?: (name: string, bytes: Buffer) => Buffer): void {
  mkdirSync(dir, { recursive: true });
  [...CIFAR10_FILES.train, ...CIFAR10_FILES.val].forEach((name, f) => {
    const bytes = Buffer.concat(Array.from({ length: perFile }, (_, r) => record(f, r)));
    writeFileSync(join(dir, name), patch ? patch(name, bytes) : bytes);
  });
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'bnn-cifar-'));
  write(join(root, 'std'));
  write(join(root, 'nested', 'cifar-10-batches-bin'));
  write(join(root, 'truncated'), 3, (name, b) => (name === 'data_batch_3.bin' ? b.subarray(0, b.length - 100) : b));
  write(join(root, 'label'), 3, (name, b) => { if (name === 'data_batch_2.bin') b[CIFAR10_RECORD] = 17; return b; });
});
after(() => rmSync(root, { recursive: true, force: true }));

const opts = (dir: string, extra: Partial<Cifar10Options> = {}): Cifar10Options => ({ root: join(root, dir), augment: false, padding: 4, skipBadRecords: false, ...extra });

async function all(ds: Cifar10Dataset, split: 'train' | 'val', epoch = 0): Promise<ClassificationBatch[]> {
  const out: ClassificationBatch[] = [];
  for await (const b of ds.batches(split, { batchSize: 4, seed: 1, epoch, shuffle: false, dropLast: false })) out.push(b);
  return out;
}
const px = (b: ClassificationBatch, i: number, x: number, y: number, c: number) => Math.round((b.images[((i * 32 + y) * 32 + x) * 3 + c]! * CIFAR10_STD[c]! + CIFAR10_MEAN[c]!) * 255);

test('binary batches: 5 training files + test_batch, planar RGB to HWC, labels, CIFAR normalisation', async () => {
  for (const dir of ['std', 'nested']) {
    const ds = await Cifar10Dataset.open(opts(dir));
    assert.deepEqual([ds.size('train'), ds.size('val')], [15, 3]);
    const train = await all(ds, 'train');
    const labels = train.flatMap((b) => Array.from(b.labels));
    assert.deepEqual(labels, Array.from({ length: 15 }, (_, k) => (Math.floor(k / 3) + (k % 3)) % 10));
    const b = train[1]!; // records 4..7: record 4 = file 1, record 1
    assert.deepEqual([px(b, 0, 5, 7, 0), px(b, 0, 5, 7, 1), px(b, 0, 5, 7, 2)], [41, 56, 190]);
    const [v] = await all(ds, 'val');
    assert.equal(px(v!, 2, 31, 0, 2), 200 - 5 * 10);
  }
  const capped = await Cifar10Dataset.open(opts('std', { trainSize: 4, valSize: 1 }));
  assert.deepEqual([capped.size('train'), capped.size('val')], [4, 1]);
});

test('augmentation: padded random crop + flip, seeded by epoch; val untouched', async () => {
  const ds = await Cifar10Dataset.open(opts('std', { augment: true }));
  const a = await all(ds, 'train', 1), b = await all(ds, 'train', 1), c = await all(ds, 'train', 2);
  assert.deepEqual(a.map((x) => Array.from(x.images)), b.map((x) => Array.from(x.images)));
  assert.notDeepEqual(a.map((x) => Array.from(x.images)), c.map((x) => Array.from(x.images)));
  const [v] = await all(ds, 'val');
  assert.equal(px(v!, 0, 3, 4, 0), 24);
});

test('pad-crop by hand: shift by (dx, dy), zero padding, flip of the crop', () => {
  const S = 4, src = Uint8Array.from({ length: S * S }, (_, p) => p + 1); // one channel, values 1..16
  const out = new Float32Array(S * S);
  // Find a seed whose draw is a non-trivial shift with a flip, then check every pixel against it.
  for (let seed = 0; seed < 200; seed++) {
    const probe = new Rng(seed);
    const dx = probe.intIn(0, 4) - 2, dy = probe.intIn(0, 4) - 2, flip = probe.bool(0.5);
    if (dx === 0 || dy === 0 || !flip) continue;
    padCropInto(src, S, 1, 2, new Rng(seed), { out, offset: 0, mean: [0], std: [1 / 255] });
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const sx = S - 1 - x + dx, sy = y + dy;
        const want = sx >= 0 && sy >= 0 && sx < S && sy < S ? src[sy * S + sx]! : 0;
        assert.ok(Math.abs(out[y * S + x]! - want) < 1e-4, `(${x}, ${y}) seed ${seed}`);
      }
    }
    return;
  }
  assert.fail('no seed drew a shifted flip');
});

test('bad files: truncated records and bad labels name file and record; skip_bad_records counts', async () => {
  const t = await Cifar10Dataset.open(opts('truncated')).then(() => null, (e: unknown) => e);
  assert.ok(t instanceof DataError);
  assert.match(t.message, /data_batch_3\.bin: 9119 bytes is not a whole number of 3073-byte records \(record 2 is truncated\)/);
  await assert.rejects(Cifar10Dataset.open(opts('label')), /data_batch_2\.bin: record 1: label 17 is not a class 0\.\.9/);
  const s = await Cifar10Dataset.open(opts('label', { skipBadRecords: true }));
  assert.deepEqual([s.size('train'), s.skipped.length], [14, 1]);
  await assert.rejects(Cifar10Dataset.open(opts('nowhere')), /cifar10: cannot read .*data_batch_1\.bin \(ENOENT\)/);
});
