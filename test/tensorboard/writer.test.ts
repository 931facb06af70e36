import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunEvents, eventFiles, histogramOf, recordScalars, runLabel, TB_DIR } from '../../src/tensorboard/index.ts';
import { maskedCrc32c, readRecords } from '../../src/tensorboard/records.ts';
import { crc32cBitwise, decodeWireEvent, masked, readTfRecords, type WireEvent } from './wire.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'bnn-tb-'));

/** Every event of a run's tb folder, files in TensorBoard's order, through the independent reader. */
function readRun(runDir: string, name: string): WireEvent[] {
  return eventFiles(join(runDir, TB_DIR, runLabel(name))).flatMap((f) => readTfRecords(f).map(decodeWireEvent));
}

test('the independent CRC-32C matches the standard check value, and the product masks as TFRecord does', () => {
  assert.equal(crc32cBitwise(Buffer.from('123456789')), 0xe3069283);
  for (const s of ['', 'a', 'brain.Event:2', 'x'.repeat(1000)]) {
    assert.equal(maskedCrc32c(Buffer.from(s)), masked(crc32cBitwise(Buffer.from(s))), s.slice(0, 20));
  }
});

test('scalars and histograms read back through an independent decoder, every checksum valid', () => {
  const dir = tmp();
  const events = new RunEvents(dir, 'binary=true,seed=0');
  const values = Float32Array.from([-1, -0.5, 0, 0.25, 0.5, 2]);
  events.evaluation({ step: 100, epoch: 0, loss: 0.75, lr: 1e-3, lambda: null, val_loss: 0.5, pckh: 41.5,
    pckh_columns: { Head: 80, Ankle: null }, pckh_threshold: 0.5, diag: { flip_ratio: 0.125, layers: { c1: { clipped: 0.25 } } } },
  { c1: histogramOf(values, 3) });
  events.close();

  const all = readRun(dir, 'binary=true,seed=0');
  assert.equal(all[0]!.fileVersion, 'brain.Event:2');
  const scalars = all.find((e) => e.scalars.size > 0)!;
  assert.equal(scalars.step, 100);
  assert.deepEqual(Object.fromEntries(scalars.scalars), {
    'train/loss': 0.75, 'train/lr': Math.fround(1e-3), 'val/loss': 0.5, 'val/pckh': 41.5, 'val/pckh/Head': 80,
    'binary/flip_ratio': 0.125, 'layer_clipped/c1': 0.25,
  });
  const h = all.find((e) => e.histograms.size > 0)!.histograms.get('latent_weights/c1')!;
  // Edges -1, 0, 1, 2: (-1..0] holds -1 (the minimum), -0.5, 0; (0..1] 0.25, 0.5; (1..2] 2.
  assert.deepEqual(h.limits, [0, 1, 2]);
  assert.deepEqual(h.counts, [3, 2, 1]);
  assert.deepEqual([h.min, h.max, h.num, h.sum, h.sumSquares], [-1, 2, 6, 1.25, 1 + 0.25 + 0.0625 + 0.25 + 4]);
});

test('a resumed run logs each step once: files are pruned to the checkpoint step, a torn tail is cut', () => {
  const dir = tmp();
  const name = 'order=joint,seed=1';
  const first = new RunEvents(dir, name);
  for (const step of [100, 200, 300]) first.evaluation({ step, loss: step });
  first.close();
  // The process was killed while appending step 400: half a record.
  const [oldFile] = eventFiles(join(dir, TB_DIR, runLabel(name)));
  appendFileSync(oldFile!, Buffer.from([9, 0, 0, 0, 0, 0, 0, 0, 1, 2]));

  const second = new RunEvents(dir, name);
  second.start(200); // the checkpoint was at step 200: 300 is trained again
  for (const step of [300, 400]) second.evaluation({ step, loss: step + 1 });
  second.close();

  const steps = readRun(dir, name).filter((e) => e.scalars.size > 0).map((e) => [e.step, e.scalars.get('train/loss')]);
  assert.deepEqual(steps, [[100, 100], [200, 200], [300, 301], [400, 401]]);
});

test('a restart with no checkpoint drops everything an earlier process logged', () => {
  const dir = tmp();
  const first = new RunEvents(dir, 'a');
  first.evaluation({ step: 50, loss: 1 });
  first.close();
  const second = new RunEvents(dir, 'a');
  second.evaluation({ step: 50, loss: 2 });
  second.close();
  const files = readdirSync(join(dir, TB_DIR, 'a'));
  assert.equal(files.length, 1, `header-only files are removed: ${files.join(', ')}`);
  assert.deepEqual(readRun(dir, 'a').filter((e) => e.scalars.size).map((e) => e.scalars.get('train/loss')), [2]);
});

test('a run renamed between attempts keeps no replayed steps under its old name either', () => {
  const dir = tmp();
  const first = new RunEvents(dir, 'old-name');
  for (const step of [10, 20]) first.evaluation({ step, loss: step });
  first.close();
  const second = new RunEvents(dir, 'new-name');
  second.start(10);
  second.evaluation({ step: 20, loss: 21 });
  second.close();
  assert.deepEqual(readRun(dir, 'old-name').filter((e) => e.scalars.size).map((e) => e.step), [10]);
  assert.deepEqual(readRun(dir, 'new-name').filter((e) => e.scalars.size).map((e) => e.step), [20]);
});

test('the product reader stops at a corrupt record', () => {
  const dir = tmp();
  const events = new RunEvents(dir, 'a');
  events.evaluation({ step: 1, loss: 1 });
  events.evaluation({ step: 2, loss: 2 });
  events.close();
  const [file] = eventFiles(join(dir, TB_DIR, 'a'));
  const buf = readFileSync(file!);
  assert.equal(readRecords(buf).records.length, 3);
  buf[buf.length - 6]! ^= 0xff; // inside the last record's data
  writeFileSync(file!, buf);
  assert.equal(readRecords(buf).records.length, 2);
  assert.throws(() => readTfRecords(file!), /bad data crc/);
});

test('record fields map to tags; run folders are named by grid point', () => {
  assert.deepEqual(recordScalars({ step: 5, epoch: 1, elapsed_s: 3, stage: 'binary', lambda: 4, images_per_s: 90, top1: 50, top5: 80, pckh_variant: 'x' }),
    { 'train/lambda': 4, 'train/images_per_s': 90, 'val/top1': 50, 'val/top5': 80 });
  assert.equal(runLabel('teacher:binary=false,seed=0'), 'teacher_binary=false,seed=0');
  assert.equal(runLabel('root=../x/y,seed=0'), 'root=.._x_y,seed=0');
});
