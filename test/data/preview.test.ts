import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { main } from '../../src/cli/main.ts';
import { DataError } from '../../src/errors.ts';
import { contactSheet, writePng } from '../../src/data/preview.ts';
import { SyntheticPoseDataset } from '../../src/data/synthetic-pose.ts';
import type { ClassificationBatch } from '../../src/data/types.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'bnn-preview-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ds = new SyntheticPoseDataset({ seed: 1, inputSize: 32, heatmapSize: 8, sigma: 1, trainSize: 6, valSize: 4 });

describe('contactSheet', () => {
  it('lays out pose samples as (plain, labelled) tile pairs in a grid', () => {
    const batch = ds.makeBatch('train', [0, 1, 2]);
    const sheet = contactSheet(batch, ds.inputShape, { normalization: ds.normalization });
    // 32 px inputs are enlarged 8x to 256; 2 columns of (256 + 2 + 256) plus 3 gaps of 4.
    assert.equal(sheet.width, 2 * 514 + 3 * 4);
    assert.equal(sheet.height, 2 * 256 + 3 * 4);
    assert.equal(sheet.pixels.length, sheet.width * sheet.height * 3);
    // The plain tile is the image itself: pixel (0, 0) of sample 0 fills an 8x8 block at (4, 4).
    for (let c = 0; c < 3; c++) {
      const expected = Math.round((batch.images[c]! + 0.5) * 255);
      assert.ok(Math.abs(sheet.pixels[(4 * sheet.width + 4) * 3 + c]! - expected) <= 1);
      assert.equal(sheet.pixels[(11 * sheet.width + 11) * 3 + c], sheet.pixels[(4 * sheet.width + 4) * 3 + c]);
    }
    // The labelled tile has the orange of right-side joints and bones; the plain one does not.
    const orange = (x0: number) => {
      let n = 0;
      for (let y = 4; y < 260; y++) {
        for (let x = x0; x < x0 + 256; x++) {
          const p = (y * sheet.width + x) * 3;
          if (sheet.pixels[p] === 255 && sheet.pixels[p + 1] === 150 && sheet.pixels[p + 2] === 0) n++;
        }
      }
      return n;
    };
    assert.equal(orange(4), 0);
    assert.ok(orange(4 + 258) > 50);
  });

  it('draws labels given in original coordinates through the inverse of toOriginal', () => {
    const plain = ds.makeBatch('train', [3]);
    const moved = ds.makeBatch('train', [3]);
    // Original = 2·input + (10, −4): joints and head boxes move there; the drawing must not.
    moved.toOriginal.set([2, 0, 10, 0, 2, -4]);
    for (let i = 0; i < moved.joints.length; i += 2) {
      moved.joints[i] = 2 * moved.joints[i]! + 10;
      moved.joints[i + 1] = 2 * moved.joints[i + 1]! - 4;
    }
    moved.headBoxes.set([2 * moved.headBoxes[0]! + 10, 2 * moved.headBoxes[1]! - 4, 2 * moved.headBoxes[2]! + 10, 2 * moved.headBoxes[3]! - 4]);
    const a = contactSheet(plain, ds.inputShape, { normalization: ds.normalization });
    const b = contactSheet(moved, ds.inputShape, { normalization: ds.normalization });
    let differ = 0;
    for (let i = 0; i < a.pixels.length; i++) if (Math.abs(a.pixels[i]! - b.pixels[i]!) > 1) differ++;
    assert.equal(differ, 0);
  });

  it('labels classification tiles and stretches unknown normalisations', () => {
    const batch: ClassificationBatch = { kind: 'classification', size: 2, images: new Float32Array(2 * 16 * 16).map((_, i) => i % 7), labels: Int32Array.from([3, 7]) };
    const sheet = contactSheet(batch, [16, 16, 1]);
    assert.equal(sheet.width, 2 * 256 + 3 * 4);
    let min = 255, max = 0;
    for (const v of sheet.pixels) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.equal(max, 255);
    assert.equal(min, 0);
  });
});

describe('writePng', () => {
  it('writes a PNG atomically, leaving no temporary file', async () => {
    const sheet = contactSheet(ds.makeBatch('val', [0]), ds.inputShape, { normalization: ds.normalization, scale: 2 });
    const file = path.join(dir, 'one.png');
    await writePng(file, sheet);
    const meta = await sharp(file).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, sheet.width);
    assert.equal(meta.height, sheet.height);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
  });

  it('fails with a DataError when the folder does not exist', async () => {
    const sheet = contactSheet(ds.makeBatch('val', [0]), ds.inputShape, { scale: 1 });
    await assert.rejects(writePng(path.join(dir, 'missing', 'x.png'), sheet), DataError);
  });
});

describe('bnn-ablate data preview', () => {
  it('writes a contact sheet for a run config', async () => {
    const config = path.join(dir, 'pose.yaml');
    writeFileSync(config, 'data:\n  input_size: 32\n  heatmap_size: 8\n  train_size: 10\n  val_size: 3\n');
    const out = path.join(dir, 'sheet.png');
    const write = process.stdout.write;
    let printed = '';
    // Keep the command's own line out of the test report; pass the reporter's output through.
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      if (typeof chunk === 'string' && chunk.startsWith('wrote ')) {
        printed += chunk;
        return true;
      }
      return (write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await main(['data', 'preview', config, '--out', out, '--count', '5', '--split', 'val']);
    } finally {
      process.stdout.write = write;
    }
    assert.equal(code, 0);
    assert.match(printed, /3 val samples of synthetic-pose/);
    assert.equal((await sharp(out).metadata()).width, 2 * 514 + 3 * 4);
  });
});
