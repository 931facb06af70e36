/** The plan-time layer list (src/models/layer-names.ts) against the layers the builders really make. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../src/backend/index.ts';
import { buildModel } from '../../src/models/build.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { checkConsistency } from '../../src/config/consistency.ts';
import { binarizableLayerNames } from '../../src/models/layer-names.ts';

before(async () => {
  // cpu with this project's kernels, as every run gets it (register.ts).
  await selectBackend('cpu');
});

test('binarizableLayerNames lists exactly the candidates each architecture builds', () => {
  const cases = [
    { arch: 'hourglass', stacks: 1, depth: 1, input: 16 }, { arch: 'hourglass', stacks: 2, depth: 2, input: 16 },
    { arch: 'hourglass', stacks: 3, depth: 3, input: 32 }, { arch: 'alexnet', stacks: 1, depth: 1, input: 32 },
    { arch: 'resnet18', stacks: 1, depth: 1, input: 32 },
  ];
  for (const c of cases) {
    const config = defaultConfig();
    Object.assign(config.model, { arch: c.arch, stacks: c.stacks, depth: c.depth, channels: 4, width_multiplier: 0.03125 });
    Object.assign(config.data, { input_size: c.input, heatmap_size: c.input / 4 });
    if (c.arch !== 'hourglass') Object.assign(config, { task: 'classification' });
    const built = buildModel(config, { inputShape: [c.input, c.input, 3], numClasses: 10 });
    assert.deepEqual(binarizableLayerNames(c.arch, c), built.binaryLayers.map((l) => l.name), JSON.stringify(c));
    built.dispose();
  }
});

test('a keep_real name that matches no layer is refused at plan time; names, prefixes and aliases pass', () => {
  const config = defaultConfig();
  config.model.keep_real = ['first', 'hg0_d3_up_conv1', 'hg0_out_*'];
  assert.equal(checkConsistency(config), undefined);
  config.model.keep_real = ['frist', 'hg9_*'];
  assert.match(checkConsistency(config)!, /^model\.keep_real: 'frist', 'hg9_\*' names no binarizable layer of hourglass \(e\.g\. stem_conv, /);
  config.model.binary = false;
  assert.equal(checkConsistency(config), undefined, 'a real network has nothing to keep real');
});
