/** Tiny finished runs for the export tests (export.test.ts, fuse.test.ts): small enough for the cpu backend. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { defaultConfig, type RunConfig } from '../../src/config/schema.ts';
import { train } from '../../src/train/trainer.ts';

/** A pose run small enough for the cpu backend: 32×32 inputs, C = 8, one HourGlass level, 3 steps. */
export function tinyPose(edit: (c: RunConfig) => void = () => {}): RunConfig {
  const c = defaultConfig();
  c.model.channels = 8;
  c.model.depth = 1;
  c.data.input_size = 32;
  c.data.heatmap_size = 8;
  c.data.train_size = 8;
  c.data.val_size = 8;
  c.train.batch_size = 4;
  c.train.steps = 3;
  c.train.eval_every = 100;
  c.train.checkpoint_every = 100;
  c.eval.batch_size = 8;
  edit(c);
  return c;
}

/** Trains `config` (on the current backend, named `backend` in meta.json) into a fresh run folder with the files the store would write. */
export async function trainedRun(config: RunConfig, backend = 'cpu'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-export-'));
  const outcome = await train({ config, runDir: dir });
  assert.equal(outcome.status, 'done');
  writeFileSync(join(dir, 'config.yaml'), stringifyYaml(config));
  writeFileSync(join(dir, 'final.json'), JSON.stringify(outcome.status === 'done' ? outcome.final : null));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ backend: { name: backend } }));
  return dir;
}

/** A classifier run on 28×28 MNIST small enough for the cpu backend. */
export function tinyClassifier(arch: 'resnet18' | 'alexnet', edit: (c: RunConfig) => void = () => {}): RunConfig {
  const c = defaultConfig();
  c.task = 'classification';
  c.model.arch = arch;
  c.model.width_multiplier = arch === 'alexnet' ? 0.03125 : 0.0625;
  c.data.name = 'mnist';
  c.data.input_size = 28;
  c.data.num_classes = 10;
  c.data.train_size = 16;
  c.data.val_size = 16;
  c.data.augment = false;
  c.train.optimizer = 'adam';
  c.train.lr = 1e-2;
  c.train.batch_size = 8;
  c.train.steps = 3;
  c.train.eval_every = 100;
  c.train.checkpoint_every = 100;
  c.eval.batch_size = 16;
  edit(c);
  return c;
}

