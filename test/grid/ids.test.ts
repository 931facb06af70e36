/** Run ids: a hash of the resolved config and seed, blind to how the YAML was written. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson } from '../../src/config/canonical.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { setPath } from '../../src/config/assign.ts';
import { loadPlan, runId } from '../../src/grid/index.ts';
import { tree } from '../config/fixture.ts';

const ids = (files: Record<string, string>) => loadPlan('exp.yaml', { cwd: tree(files) }).runs.map((r) => r.id);

describe('run ids', () => {
  it('are 10 hex digits of sha256 over canonical JSON', () => {
    const id = runId(defaultConfig());
    assert.match(id, /^[0-9a-f]{10}$/);
    assert.equal(runId(defaultConfig()), id);
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } }), '{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
  });

  it('do not change when the YAML is reformatted or reordered', () => {
    const a = ids({
      'base.yaml': 'train:\n  lr: 0.001\n  steps: 100\nmodel: {stacks: 2}\n',
      'exp.yaml': [
        'name: study',
        'extends: base.yaml',
        'set:',
        '  distill:',
        '    teacher: {model: {binary: false}, train.lr: 0.01}',
        'grid:',
        '  model.activation: [relu, prelu]',
        'seeds: [0, 1]', '',
      ].join('\n'),
    });
    const b = ids({
      'base.yaml': '# same values, other spelling\nmodel.stacks: 2\ntrain.steps: 100\ntrain.lr: 1.0e-3\n',
      'exp.yaml': [
        'seeds:', '  - 0', '  - 1',
        'grid:', '  model:', '    activation:', '      - relu', '      - prelu',
        'set:', '  distill.teacher:', '    train.lr: 1e-2', '    model.binary: false',
        'extends: ./base.yaml',
        'name: study', '',
      ].join('\n'),
    });
    assert.equal(a.length, 8); // 2 activations x 2 seeds, each with its implicit teacher
    assert.deepEqual(b, a);
  });

  it('change with the seed and with any config value', () => {
    const base = defaultConfig();
    const seeded = structuredClone(base);
    setPath(seeded, 'seed', 1);
    const lr = structuredClone(base);
    setPath(lr, 'train.lr', 0.002);
    assert.equal(new Set([runId(base), runId(seeded), runId(lr)]).size, 3);
  });

  it('ignore the experiment name, which only names the folder', () => {
    assert.deepEqual(ids({ 'exp.yaml': 'name: a\nseeds: [0]\n' }), ids({ 'exp.yaml': 'name: b\nseeds: [0]\n' }));
  });
});
