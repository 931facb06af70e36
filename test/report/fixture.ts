/**
 * Deterministic results folders in exactly the runner's format (experiment.json, and per run
 * config.yaml, meta.json, metrics.jsonl, final.json), written by hand rather than through
 * ResultsStore so that host, pid and git are fixed and the snapshots never change by themselves.
 *
 * - `pose-fixture`: distillation × stacks like experiments/pose-distillation.yaml, with implicit
 *   teachers, one failed run, one never-started run and one run whose Ankle column is null.
 *   Designed: the real teacher helps by ~+0.9 on every seed (reproduced), 2 stacks vs 1 is noise
 *   (not significant).
 * - `cls-fixture`: activation × order plus a real reference like experiments/cls-alexnet.yaml.
 *   Designed: the paper's recipe row is worse on every seed (contradicted), real beats binary.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as yaml } from 'yaml';
import { canonicalJson } from '../../src/config/canonical.ts';

/** A fixed number in [-1, 1) from a string (FNV-1a): stable noise without a PRNG state. */
export function noise(text: string): number {
  let h = 0x811c9dc5;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  // murmur3's finaliser: names differing in their last character must not get near-equal noise.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return (h / 2 ** 32) * 2 - 1;
}

const round = (v: number, d = 3) => Number(v.toFixed(d));

interface FixtureRun {
  id: string;
  name: string;
  seed: number;
  params: Record<string, unknown>;
  dependsOn?: string[];
  status: 'done' | 'failed' | 'running' | 'absent';
  /** Final headline value (PCKh Mean or top-1). */
  value?: number;
  error?: string;
  /** Override config keys (dotted) of the stored config. */
  config?: Record<string, unknown>;
}

function setDotted(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = obj;
  for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
  node[parts[parts.length - 1]!] = value;
}

function baseConfig(task: 'pose' | 'classification'): Record<string, unknown> {
  return {
    task,
    model: { arch: task === 'pose' ? 'hourglass' : 'alexnet', binary: true, stacks: 1, channels: 32, activation: 'prelu', activation_placement: 'post', sign_at_zero: 'plus_one' },
    binarize: { order: 'joint', stage_split: 0.5, stage_steps: null },
    distill: { teacher: null },
    data: { name: task === 'pose' ? 'synthetic-pose' : 'mnist' },
    train: { steps: 600 },
  };
}

function writeRun(dir: string, experiment: string, task: 'pose' | 'classification', run: FixtureRun): void {
  if (run.status === 'absent') return;
  const runDir = join(dir, run.id);
  mkdirSync(runDir, { recursive: true });
  const config = baseConfig(task);
  config.seed = run.seed;
  for (const [k, v] of Object.entries({ ...run.params, ...run.config })) if (k !== 'seed' && k !== 'role') setDotted(config, k, v);
  writeFileSync(join(runDir, 'config.yaml'), yaml(config));
  const meta = {
    host: 'fixture-host', cpu: 'Fixture CPU x 2', pid: 1, node: 'v20.0.0', bnnAblate: '0.1.0', git: { commit: 'f1x7ure0000000000000000000000000000000000', dirty: false },
    id: run.id, name: run.name, experiment, seed: run.seed, params: run.params, dependsOn: run.dependsOn ?? [],
    status: run.status, error: run.error ?? null, backend: { name: 'cpu', version: '4.22.0' }, attempts: 1,
    startedAt: '2025-01-01T00:00:00.000Z', endedAt: run.status === 'running' ? null : '2025-01-01T00:10:00.000Z',
  };
  writeFileSync(join(runDir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  const final = run.value ?? 50;
  const steps = run.status === 'done' ? [100, 200, 300, 400, 500, 600] : [100, 200];
  const lines = steps.map((step) => {
    const progress = 1 - Math.exp(-step / 180);
    const loss = round(0.02 * Math.exp(-step / 150) + 0.002 + 0.0004 * noise(`${run.id}:${step}`), 5);
    const rec: Record<string, unknown> = { step, epoch: Math.floor(step / 100), stage: 'binary', lambda: null, lr: 0.001, loss, val_loss: round(loss * 1.1, 5) };
    rec[task === 'pose' ? 'pckh' : 'top1'] = round(final * progress + noise(`${run.id}:m${step}`), 2);
    if (task === 'classification') rec.top5 = round(Math.min(100, final * progress + 8), 2);
    rec.elapsed_s = step / 10;
    return `${JSON.stringify(rec)}\n`;
  });
  writeFileSync(join(runDir, 'metrics.jsonl'), lines.join(''));
  if (run.status !== 'done') return;
  const metrics: Record<string, unknown> = task === 'pose'
    ? {
      pckh: round(final, 2),
      pckh_columns: {
        Head: round(final + 12 + noise(`${run.id}:h`), 2), Shoulder: round(final + 6 + noise(`${run.id}:s`), 2), Elbow: round(final - 2 + noise(`${run.id}:e`), 2),
        Wrist: round(final - 8 + noise(`${run.id}:w`), 2), Hip: round(final + 3 + noise(`${run.id}:hi`), 2), Knee: round(final - 3 + noise(`${run.id}:k`), 2),
        Ankle: run.name.includes('stacks=2,seed=1') ? null : round(final - 7 + noise(`${run.id}:a`), 2), Mean: round(final, 2),
      },
      pckh_variant: 'count-weighted mean, err <= t',
      pckh_threshold: 0.5,
      val_loss: 0.0031,
    }
    : { top1: round(final, 2), top5: round(final + (100 - final) * 0.85 + 0.1 * noise(`${run.id}:t5`), 2), val_loss: 0.41 };
  writeFileSync(join(runDir, 'final.json'), `${JSON.stringify({ task, step: 600, wall_s: 120 + run.seed, images_per_s: 40 + run.seed, metrics }, null, 2)}\n`);
}

function writeExperiment(root: string, experiment: string, task: 'pose' | 'classification', report: unknown, varying: string[], runs: FixtureRun[], preset: string | null = 'smoke'): string {
  const dir = join(root, experiment);
  mkdirSync(dir, { recursive: true });
  const plan = {
    experiment, file: `experiments/${experiment}.yaml`, description: `fixture study (${task})`, task, report, preset, sets: [], varying,
    runs: runs.map((r) => ({ id: r.id, name: r.name, seed: r.seed, params: r.params, dependsOn: r.dependsOn ?? [] })),
    plannedAt: '2025-01-01T00:00:00.000Z',
  };
  writeFileSync(join(dir, 'experiment.json'), `${JSON.stringify(plan, null, 2)}\n`);
  for (const run of runs) writeRun(dir, experiment, task, run);
  return dir;
}

const id = (text: string) => {
  let h = 0;
  for (const ch of text) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, '0').slice(0, 8) + 'aa';
};

export function writePoseFixture(root: string): string {
  const runs: FixtureRun[] = [];
  const SEEDS = [0, 1, 2];
  for (const seed of SEEDS) {
    for (const stacks of [1, 2]) {
      const name = `teacher:binary=false,stacks=${stacks},seed=${seed}`;
      runs.push({ id: id(name), name, seed, params: { role: 'teacher', 'model.binary': false, 'model.stacks': stacks, seed }, status: stacks === 2 && seed === 2 ? 'absent' : 'done', value: 78 + stacks + noise(name) });
    }
  }
  for (const seed of SEEDS) {
    for (const teacher of [null, { 'model.binary': false }]) {
      for (const stacks of [1, 2]) {
        const name = `teacher=${teacher ? '{binary=false}' : 'null'},stacks=${stacks},seed=${seed}`;
        const seedEffect = [0, -1.2, 0.9][seed]!;
        const base = 60 + seedEffect + (stacks === 2 ? [-0.5, 0.3, 0.1][seed]! : 0);
        const value = base + (teacher ? 0.8 + 0.1 * seed : 0);
        const failed = teacher !== null && stacks === 2 && seed === 1;
        runs.push({
          id: id(name), name, seed, params: { 'distill.teacher': teacher, 'model.stacks': stacks, seed },
          dependsOn: teacher ? [id(`teacher:binary=false,stacks=${stacks},seed=${seed}`)] : [],
          status: failed ? 'failed' : 'done', value, error: failed ? 'training diverged: loss is NaN at step 212\n    at train (src/train/loop.ts:1:1)' : undefined,
        });
      }
    }
  }
  return writeExperiment(root, 'pose-fixture', 'pose', {
    metric: 'pckh', baseline: { 'distill.teacher': null }, paper_finding: 'a real-valued teacher gives up to +0.6 PCKh, more with several stacks',
  }, ['distill.teacher', 'model.stacks'], runs);
}

export function writeClsFixture(root: string): string {
  const runs: FixtureRun[] = [];
  const points = [
    { a: 'relu', o: 'joint', b: true, v: 90 },
    { a: 'prelu', o: 'joint', b: true, v: 90.4 },
    { a: 'prelu', o: 'features-first', b: true, v: 88.5 },
    { a: 'relu', o: 'joint', b: false, v: 98.6 },
  ];
  for (const seed of [0, 1, 2]) {
    for (const p of points) {
      const name = `activation=${p.a},order=${p.o},binary=${p.b},seed=${seed}`;
      const params = { 'model.activation': p.a, 'binarize.order': p.o, 'model.binary': p.b, seed };
      runs.push({ id: id(name), name, seed, params, status: 'done', value: p.v + 0.4 * noise(name) + [0, 0.3, -0.2][seed]! });
    }
  }
  return writeExperiment(root, 'cls-fixture', 'classification', {
    metric: 'top1', baseline: { 'model.activation': 'relu', 'binarize.order': 'joint', 'model.binary': true }, reference: { 'model.binary': false },
    paper_finding: 'up to 4 points lower top-1 error than the previous binary state of the art (ImageNet)',
    paper_delta: { 'binarize.order': 'features-first', delta: 4 },
  }, ['model.activation', 'binarize.order', 'model.binary'], runs);
}

/** Every run key of a fixture, for tests that doctor one row. */
export function rowKeyOf(params: Record<string, unknown>): string {
  const { seed: _seed, ...rest } = params;
  return canonicalJson(rest);
}
