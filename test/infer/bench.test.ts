import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../src/backend/index.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { benchInference, formatInferenceBench } from '../../src/infer/bench.ts';
import { benchEngines } from '../../src/infer/engines.ts';
import { nativeEngineStatus } from '../../src/infer/native-engine.ts';

before(async () => {
  await selectBackend('wasm');
});

test('bench --inference reports every binary conv shape of the model, the reference shape, and both model batches', async () => {
  const c = defaultConfig();
  c.model.channels = 8;
  c.model.depth = 1;
  c.data.input_size = 32;
  c.data.heatmap_size = 8;
  const { engines, skipped } = benchEngines();
  const names = nativeEngineStatus().ok ? ['native', 'wasm'] : ['wasm'];
  assert.deepEqual(engines.map((e) => e.name), names, 'every fast engine that runs here');
  assert.equal(skipped.length, 2 - names.length);
  const r = await benchInference(c, { engines, reps: 1, layerBatch: 1, modelBatches: [1, 2], skippedEngines: skipped });
  // C = 8: every HPM block is 3x3 convs 8->4, 4->2, 2->2 (stem_b1 reads the stem's 4 channels) at 16x16, 8x8 or 4x4.
  const shapes = r.layers.map((l) => l.shape);
  assert.ok(shapes.includes('3x3 s1 8->4 @8x8 b1'), shapes.join('; '));
  assert.ok(shapes.includes('3x3 s1 128->128 @16x16 b1'), 'the issue\'s reference shape is always timed');
  // 3 stem blocks + 4 of a depth-1 HourGlass (up, low1, low2, low3) + 1 output block, 3 binary convs each.
  assert.equal(r.layers.reduce((a, l) => a + l.layers, 0), names.length * 3 * (3 + 4 + 1), 'every binary conv counted once per engine');
  assert.deepEqual([...new Set(r.layers.map((l) => l.engine))], names, 'each shape timed on each engine');
  for (const l of r.layers) {
    assert.ok(l.packedMs > 0 && l.floatMs > 0 && Math.abs(l.ratio - l.floatMs / l.packedMs) < 1e-9);
  }
  assert.deepEqual(r.model.map((m) => [m.engine, m.batch]), [1, 2].flatMap((b) => names.map((e) => [e, b])));
  if (names.includes('native')) assert.match(r.engines.find((e) => e.name === 'native')!.isa!, /^(avx512|avx2|scalar)$/);
  for (const m of r.model) assert.ok(Math.abs(m.ratio - m.packedImagesPerS / m.floatImagesPerS) < 1e-9);
  assert.ok(r.sizes.ratio > 1);
  assert.match(formatInferenceBench(r), /whole model/);
});
