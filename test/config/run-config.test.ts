/** Run-config files, extends chains, presets, and the repository's own config files. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { applyOverrides } from '../../src/config/assign.ts';
import { availablePresets, loadPreset } from '../../src/config/presets.ts';
import { loadRunConfig } from '../../src/config/run-config.ts';
import { defaultConfig } from '../../src/config/schema.ts';
import { checkConsistency } from '../../src/config/consistency.ts';
import { throwsBadInput, throwsConfig, tree } from './fixture.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function resolve(file: string, cwd: string) {
  return applyOverrides(defaultConfig(), loadRunConfig(path.join(cwd, file), { cwd }).overrides);
}

describe('run-config files', () => {
  it('applies an extends chain root first, each path relative to its file', () => {
    const cwd = tree({
      'a/root.yaml': 'train: {lr: 0.1, steps: 10}\nmodel.stacks: 2\n',
      'b/mid.yaml': 'extends: ../a/root.yaml\ntrain.lr: 0.2\n',
      'leaf.yaml': 'extends: b/mid.yaml\ntrain:\n  steps: 30\n',
    });
    const c = resolve('leaf.yaml', cwd);
    assert.equal(c.train.lr, 0.2);
    assert.equal(c.train.steps, 30);
    assert.equal(c.model.stacks, 2);
    assert.equal(c.model.channels, defaultConfig().model.channels);
  });

  it('accepts a list of extends, later files winning', () => {
    const cwd = tree({ 'x.yaml': 'train.lr: 0.1\nmodel.stacks: 2\n', 'y.yaml': 'train.lr: 0.3\n', 'z.yaml': 'extends: [x.yaml, y.yaml]\n' });
    const c = resolve('z.yaml', cwd);
    assert.equal(c.train.lr, 0.3);
    assert.equal(c.model.stacks, 2);
  });

  it('reads nested and dotted spellings alike, aliases included', () => {
    const cwd = tree({
      'n.yaml': 'model:\n  stacks: &s 2\n  depth: *s\ndistill:\n  teacher:\n    model:\n      binary: false\n',
      'd.yaml': 'model.depth: 2\nmodel.stacks: 2\ndistill.teacher: {model.binary: false}\n',
    });
    assert.deepEqual(resolve('n.yaml', cwd), resolve('d.yaml', cwd));
  });

  it('treats an empty file as no overrides', () => {
    const cwd = tree({ 'e.yaml': '# nothing\n' });
    assert.deepEqual(resolve('e.yaml', cwd), defaultConfig());
  });

  it('refuses preset-only keys outside presets', () => {
    const cwd = tree({ 'p.yaml': 'per_task:\n  pose: {model.stacks: 2}\n' });
    throwsConfig(() => resolve('p.yaml', cwd), "p.yaml:1:1: 'per_task' is only allowed in presets");
  });
});

describe('presets', () => {
  it('finds configs/presets/NAME.yaml in the working directory first', () => {
    const cwd = tree({ 'configs/presets/smoke.yaml': 'train.steps: 7\nseeds: [4]\n' });
    const preset = loadPreset('smoke', cwd);
    assert.deepEqual(preset.overrides.map((o) => [o.key, o.value]), [['train.steps', 7]]);
    assert.deepEqual(preset.seeds, [4]);
  });

  it('falls back to the package presets and lists them when a name is unknown', () => {
    const cwd = tree({});
    assert.equal(loadPreset('ci', cwd).file, path.join(ROOT, 'configs/presets/ci.yaml'));
    assert.deepEqual(availablePresets(cwd).filter((n) => ['ci', 'paper', 'smoke'].includes(n)), ['ci', 'paper', 'smoke']);
    throwsBadInput(() => loadPreset('nope', cwd), /^--preset 'nope': no configs\/presets\/nope\.yaml \(available: .*ci.*\)$/);
    throwsBadInput(() => loadPreset('missing/p.yaml', cwd), "--preset 'missing/p.yaml': no such file");
  });

  it('reads per_task sections and rejects unknown tasks or task changes', () => {
    const cwd = tree({
      'ok.yaml': 'per_task:\n  pose: {model.channels: 16}\n  classification:\n    data.input_size: 32\n',
      'bad.yaml': 'per_task:\n  segmentation: {}\n',
      'task.yaml': 'per_task:\n  pose: {task: classification}\n',
    });
    const ok = loadPreset('ok.yaml', cwd);
    assert.deepEqual(ok.perTask.pose!.map((o) => o.value), [16]);
    assert.deepEqual(ok.perTask.classification!.map((o) => o.key), ['data.input_size']);
    throwsConfig(() => loadPreset('bad.yaml', cwd), "bad.yaml:2:3: per_task: unknown task 'segmentation' (tasks: pose, classification)");
    throwsConfig(() => loadPreset('task.yaml', cwd), 'task.yaml:2:16: per_task.pose cannot set \'task\'');
  });
});

describe('repository configs', () => {
  it('every base, bench and preset file loads and yields a consistent config', () => {
    for (const dir of ['configs/base', 'configs/bench']) {
      for (const f of readdirSync(path.join(ROOT, dir))) {
        const c = resolve(path.join(dir, f), ROOT);
        assert.equal(checkConsistency(c), undefined, `${dir}/${f}`);
      }
    }
    for (const name of ['smoke', 'ci', 'paper']) loadPreset(name, ROOT);
  });

  it('the HourGlass bench config is the documented reference workload', () => {
    const c = resolve('configs/bench/hourglass-ref.yaml', ROOT);
    assert.deepEqual(
      [c.model.arch, c.model.binary, c.model.stacks, c.model.channels, c.model.depth, c.model.block, c.model.activation,
        c.data.input_size, c.train.batch_size, c.data.heatmap_size, c.train.optimizer],
      ['hourglass', true, 1, 128, 3, 'hpm', 'prelu', 64, 8, 16, 'rmsprop']);
  });
});
