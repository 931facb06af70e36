/**
 * The PReLU fused into a packed layer's epilogue (export v2, PackedLayerEntry.prelu) against the
 * same export with the PReLU kept as its own layer: the same floats bit for bit and the same
 * evaluate metrics, for pose and classification runs, both activation placements (post fuses,
 * pre folds the PReLU into the thresholds instead), both sign_at_zero values, a binary dense
 * layer, on the wasm and native backends (the engines' epilogue) and on cpu (the layer runs the
 * backend's own Prelu after the conv), with every engine.
 *
 * And the HourGlass blocks fused at load (PackedBlock: the native engine writes the branches into
 * their concat and adds the residual) against the same export loaded with its layers: the same
 * floats and metrics, on every backend and engine, with the fused kernel seen to run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/backend/index.ts';
import type { RunConfig } from '../../src/config/schema.ts';
import { exportRun } from '../../src/export/export.ts';
import type { ExportManifest } from '../../src/export/manifest.ts';
import { evaluateExport } from '../../src/infer/evaluate.ts';
import { loadExported } from '../../src/infer/load.ts';
import type { BinaryConvEngine } from '../../src/infer/engine.ts';
import { createEngine } from '../../src/infer/engines.ts';
import { nativeEngineStatus } from '../../src/infer/native-engine.ts';
import { loadModel } from '../../src/models/build.ts';
import { fileSystemHandler } from '../../src/train/file-io.ts';
import { tinyClassifier, tinyPose, trainedRun } from './fixtures.ts';

const native = nativeEngineStatus();
const ENGINES = native.ok ? ['native', 'wasm', 'js'] : ['wasm', 'js'];
const BACKENDS = native.ok ? ['wasm', 'native', 'cpu'] as const : ['wasm', 'cpu'] as const;

/** The last output of a model on a fixed random batch, as bits. */
async function outputBits(model: tf.LayersModel, shape: number[]): Promise<Uint32Array> {
  const y = tf.tidy(() => {
    const x = tf.randomUniform([3, ...shape], -1, 1, 'float32', 7);
    const out = model.predict(x);
    return (Array.isArray(out) ? out[out.length - 1]! : out).dataSync() as Float32Array;
  });
  return new Uint32Array(y.slice().buffer);
}

function differing(a: Uint32Array, b: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n + Math.abs(a.length - b.length);
}

function checkManifests(fused: ExportManifest, unfused: ExportManifest, placement: string): void {
  const layers = (m: ExportManifest) => (m.topology as { config: { layers: Array<{ config: { name: string } }> } }).config.layers.map((l) => l.config.name);
  const names = layers(fused);
  const merged = fused.packed.filter((p) => p.prelu != null);
  if (placement === 'post') assert.ok(merged.length > 0, 'post placement: some PReLU follows a packed layer and is fused');
  else assert.equal(merged.length, 0, 'pre placement: the PReLU precedes the sign (folded), nothing to fuse');
  for (const p of merged) {
    assert.equal(p.prelu!.layer, `${p.name}_act`);
    assert.equal(p.prelu!.slope.bytes, 4 * p.kernel[3]);
    assert.ok(!names.includes(p.prelu!.layer), `${p.prelu!.layer} left the topology`);
    assert.ok(layers(unfused).includes(p.prelu!.layer), `${p.prelu!.layer} stays a layer in the unfused export`);
  }
  assert.ok(unfused.packed.every((p) => p.prelu === null));
  assert.equal(fused.version, 2);
}

interface Case { name: string; config: RunConfig }
const CASES: Case[] = [];
for (const sign of ['plus_one', 'zero'] as const) {
  const post = (scale: 'none' | 'channel' | 'tensor') => (c: RunConfig) => {
    c.model.activation = 'prelu';
    c.model.activation_placement = 'post';
    c.model.sign_at_zero = sign;
    c.binarize.weight_scale = scale;
  };
  CASES.push({ name: `pose post ${sign} α=none`, config: tinyPose(post('none')) });
  CASES.push({ name: `resnet18 post ${sign} α=channel`, config: tinyClassifier('resnet18', post('channel')) });
}
CASES.push({ name: 'alexnet (binary dense + prelu) post zero α=tensor', config: tinyClassifier('alexnet', (c) => {
  c.model.activation = 'prelu';
  c.model.sign_at_zero = 'zero';
  c.binarize.weight_scale = 'tensor';
}) });
CASES.push({ name: 'pose pre prelu zero α=none', config: tinyPose((c) => {
  c.model.activation = 'prelu';
  c.model.activation_placement = 'pre';
  c.model.sign_at_zero = 'zero';
  c.binarize.weight_scale = 'none';
}) });
CASES.push({ name: 'pose pre prelu plus_one α=channel', config: tinyPose((c) => {
  c.model.activation = 'prelu';
  c.model.activation_placement = 'pre';
  c.model.sign_at_zero = 'plus_one';
  c.binarize.weight_scale = 'channel';
}) });
CASES.push({ name: 'pose with a binary stem, post prelu α=none', config: tinyPose((c) => {
  c.model.activation = 'prelu';
  c.model.keep_real = [];
  c.binarize.weight_scale = 'none';
}) });

/** `engine`, counting its convBlock calls (the fused block kernel ran). */
function counted(engine: BinaryConvEngine): { engine: BinaryConvEngine; blocks: () => number } {
  let calls = 0;
  const run = engine.convBlock?.bind(engine);
  if (run !== undefined) engine.convBlock = (...args) => { calls++; run(...args); };
  return { engine, blocks: () => calls };
}

const blockCount = (m: tf.LayersModel) => m.layers.filter((l) => l.getClassName() === 'PackedBlock').length;

/** The fused export loaded with its HourGlass blocks fused and with its layers: the same bits; the native engine's block kernel runs on the wasm heap. */
async function checkBlocks(dir: string, inputShape: number[], backend: string, engine: string, task: string): Promise<void> {
  const c = counted(createEngine(engine));
  const a = await loadExported(dir, c.engine);
  const b = await loadExported(dir, createEngine(engine), { fuseBlocks: false });
  const ya = await outputBits(a.model, inputShape);
  const yb = await outputBits(b.model, inputShape);
  const blocks = blockCount(a.model);
  assert.equal(blockCount(b.model), 0);
  a.model.dispose();
  b.model.dispose();
  if (task === 'pose') assert.ok(blocks > 0, 'the HourGlass blocks are fused');
  else assert.equal(blocks, 0, 'no HPM block in a classifier');
  if (engine === 'native' && backend !== 'cpu' && task === 'pose') assert.ok(c.blocks() >= blocks, `${backend}: the native block kernel ran`);
  else assert.equal(c.blocks(), 0, `${backend} ${engine}: the blocks ran their layers`);
  assert.equal(differing(ya, yb), 0, `${backend} ${engine}: blocks fused vs their layers`);
}

for (const { name, config } of CASES) {
  test(`${name}: the fused export computes the unfused one's floats and metrics, bit for bit`, async () => {
    await selectBackend('wasm');
    const dir = await trainedRun(config, 'wasm');
    const fusedDir = join(dir, 'fused');
    const unfusedDir = join(dir, 'unfused');
    const fused = await exportRun(dir, fusedDir);
    const unfused = await exportRun(dir, unfusedDir, { fusePrelu: false });
    checkManifests(fused, unfused, config.model.activation_placement);
    for (const backend of BACKENDS) {
      await selectBackend(backend, { threads: 1 });
      const float = await loadModel(fileSystemHandler(join(dir, 'model')));
      const trained = await outputBits(float.model, fused.inputShape);
      float.dispose();
      for (const engine of ENGINES) {
        const a = await loadExported(fusedDir, createEngine(engine));
        const b = await loadExported(unfusedDir, createEngine(engine));
        const ya = await outputBits(a.model, fused.inputShape);
        const yb = await outputBits(b.model, fused.inputShape);
        a.model.dispose();
        b.model.dispose();
        assert.equal(differing(ya, yb), 0, `${backend} ${engine}: fused vs unfused`);
        await checkBlocks(fusedDir, fused.inputShape, backend, engine, config.task);
        if (config.binarize.weight_scale === 'none') assert.equal(differing(ya, trained), 0, `${backend} ${engine}: fused vs the trained model`);
      }
    }
    for (const backend of BACKENDS.filter((b) => b !== 'cpu')) {
      await selectBackend(backend, { threads: 1 });
      for (const engine of ENGINES) {
        const a = await evaluateExport(fusedDir, { sets: [], engine: createEngine(engine) });
        const b = await evaluateExport(unfusedDir, { sets: [], engine: createEngine(engine) });
        assert.deepEqual(a.metrics, b.metrics, `${backend} ${engine}: evaluate's metrics`);
        assert.equal(a.predictionsIdentical, true, `${backend} ${engine}: ${a.differing.join(', ')}`);
        assert.equal(a.identical, b.identical);
        const c = await evaluateExport(fusedDir, { sets: [], engine: createEngine(engine), fuseBlocks: false });
        assert.deepEqual(a.metrics, c.metrics, `${backend} ${engine}: evaluate's metrics, blocks fused vs their layers`);
        assert.equal(a.identical, c.identical);
      }
    }
  });
}

test('a version 1 export (nothing fused in the file) loads with its HourGlass blocks fused, to the same bits', async () => {
  await selectBackend(native.ok ? 'native' : 'wasm', { threads: 1 });
  const dir = await trainedRun(tinyPose((c) => {
    c.model.activation = 'relu';
    c.model.activation_placement = 'pre';
    c.model.sign_at_zero = 'zero';
    c.binarize.weight_scale = 'none';
  }), 'wasm');
  const v2 = await exportRun(dir, join(dir, 'v1'));
  assert.ok(v2.packed.every((p) => p.prelu == null), 'pre placement: nothing fused, so the v1 file is the same bytes');
  // What a v1 writer wrote: version 1, no prelu entries.
  const v1 = { ...v2, version: 1, packed: v2.packed.map(({ prelu: _prelu, ...p }) => p) };
  writeFileSync(join(dir, 'v1', 'manifest.json'), `${JSON.stringify(v1)}\n`);
  for (const engine of ENGINES) {
    const a = await loadExported(join(dir, 'v1'), createEngine(engine));
    const b = await loadExported(join(dir, 'v1'), createEngine(engine), { fuseBlocks: false });
    assert.equal(a.manifest.version, 1);
    assert.ok(blockCount(a.model) > 0);
    const ya = await outputBits(a.model, v2.inputShape);
    const yb = await outputBits(b.model, v2.inputShape);
    a.model.dispose();
    b.model.dispose();
    assert.equal(differing(ya, yb), 0, engine);
  }
});
