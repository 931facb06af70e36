/** Rows, roles, Δ pairing and the mapping of paper findings onto the studies' rows. */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildReport } from '../../src/report/build.ts';
import { loadResults } from '../../src/report/load.ts';
import type { LoadedExperiment, ReportSpec, RunRecord, Task } from '../../src/report/types.ts';
import { rowKeyOf, writeClsFixture, writePoseFixture } from './fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'bnn-report-build-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** An in-memory study: one run per (params, seed) with the given headline value. */
function study(task: Task, spec: ReportSpec, points: Array<[Record<string, unknown>, number[]]>): LoadedExperiment {
  const runs: RunRecord[] = [];
  points.forEach(([params, values], p) => values.forEach((value, seed) => runs.push({
    id: `r${p}s${seed}`, name: `${Object.entries(params).map(([k, v]) => `${k.split('.').pop()}=${JSON.stringify(v)}`).join(',')},seed=${seed}`,
    seed, params: { ...params, seed }, dependsOn: [], status: 'done', metrics: [],
    final: { task, metrics: task === 'pose' ? { pckh: value, pckh_columns: { Mean: value } } : { top1: value, top5: value + 10 } },
  })));
  const varying = [...new Set(points.flatMap(([p]) => Object.keys(p)))];
  return { dir: root, name: 'study', task, spec, preset: null, sets: [], varying, runs, notes: [] };
}

describe('buildReport on the pose fixture', () => {
  const report = buildReport(loadResults(writePoseFixture(root)));

  it('has one row per setting, teachers last and marked, seeds counted', () => {
    assert.deepEqual(report.rows.map((r) => [r.label, r.role, r.seeds.length, r.planned]), [
      ['teacher=null,stacks=1', 'baseline', 3, 3],
      ['teacher=null,stacks=2', 'baseline', 3, 3],
      ['teacher={binary=false},stacks=1', 'ablation', 3, 3],
      ['teacher={binary=false},stacks=2', 'ablation', 2, 3],
      ['teacher:binary=false,stacks=1', 'teacher', 3, 3],
      ['teacher:binary=false,stacks=2', 'teacher', 2, 3],
    ]);
    assert.deepEqual(report.columns, ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean']);
  });

  it('lists failed and never-started runs instead of averaging them', () => {
    assert.deepEqual(report.excluded.map((e) => [e.name, e.status]), [
      ['teacher:binary=false,stacks=2,seed=2', 'absent'],
      ['teacher={binary=false},stacks=2,seed=1', 'failed'],
    ]);
    assert.equal(report.excluded[1]!.error, 'training diverged: loss is NaN at step 212');
  });

  it('compares each student with the baseline row of the same stack count, paired by seed', () => {
    const s2 = report.rows.find((r) => r.label === 'teacher={binary=false},stacks=2')!;
    assert.equal(s2.comparison?.versusLabel, 'teacher=null,stacks=2');
    assert.equal(s2.comparison?.method, 'paired');
    assert.equal(s2.comparison?.n, 2);
    assert.ok(Math.abs(s2.comparison!.delta! - 0.9) < 1e-6);
    assert.equal(s2.finding?.finding.id, 'distill-real-teacher');
    assert.equal(s2.finding?.verdict, 'reproduced');
  });

  it('reads 2-vs-1 stacks off the two baseline rows, and a null column as missing', () => {
    const stacks = report.findings.find((f) => f.finding.id === 'stacks-2')!;
    assert.deepEqual([stacks.rowLabel, stacks.comparison.versusLabel, stacks.verdict], ['teacher=null,stacks=2', 'teacher=null,stacks=1', 'not significant']);
    const s2 = report.rows.find((r) => r.label === 'teacher=null,stacks=2')!;
    assert.equal(s2.columns.Ankle!.n, 2);
    assert.equal(s2.columns.Mean!.n, 3);
    assert.deepEqual(report.pckhVariants, ['count-weighted mean, err <= t']);
    assert.equal(report.setup['model.activation_placement'], 'post');
  });
});

describe('loadResults without experiment.json', () => {
  it('rebuilds the runs from meta.json and says so', () => {
    const dir = join(root, 'no-plan', 'pose-fixture');
    cpSync(join(root, 'pose-fixture'), dir, { recursive: true });
    rmSync(join(dir, 'experiment.json'));
    const exp = loadResults(dir);
    assert.match(exp.notes[0]!, /experiment\.json is missing/);
    const report = buildReport(exp);
    // 17 run folders (one planned run never started); no report: section, so no baseline and no Δ.
    assert.equal(exp.runs.length, 17);
    assert.equal(report.rows.length, 6);
    assert.ok(report.rows.every((r) => r.comparison === undefined));
  });
});

describe('buildReport on the classification fixture', () => {
  const report = buildReport(loadResults(writeClsFixture(root)));
  it('marks the reference row and gives sign-only findings their verdicts', () => {
    assert.deepEqual(report.rows.map((r) => r.role), ['baseline', 'ablation', 'ablation', 'reference']);
    assert.deepEqual(report.findings.map((f) => [f.finding.id, f.verdict]), [
      ['prelu-vs-relu-cls', 'reproduced'], ['prelu-vs-relu-cls', 'contradicted'], ['imagenet-recipe', 'contradicted'], ['real-vs-binary', 'reproduced'],
    ]);
    assert.equal(report.rows[1]!.finding?.finding.id, 'prelu-vs-relu-cls');
    assert.ok(report.notes.some((n) => n.includes('paper_delta') && n.includes('disagrees')));
  });
});

describe('mapping findings onto the shipped studies', () => {
  it('pose-activation: PReLU vs ReLU has a sign, no value', () => {
    const r = buildReport(study('pose', { baseline: { 'model.activation': 'relu' } }, [
      [{ 'model.activation': 'relu' }, [40, 41, 42]], [{ 'model.activation': 'prelu' }, [42, 43, 44]], [{ 'model.activation': 'none' }, [30, 31, 32]],
    ]));
    assert.deepEqual(r.rows.map((x) => x.finding?.finding.id ?? '-'), ['-', 'prelu-vs-relu', '-']);
    assert.equal(r.rows[1]!.finding!.finding.delta, null);
    assert.equal(r.rows[1]!.finding!.verdict, 'reproduced');
  });

  it('pose-progressive: every enabled function against the one hard-sign row', () => {
    const r = buildReport(study('pose', { baseline: { 'progressive.enabled': false } }, [
      [{ 'progressive.enabled': false, 'progressive.function': 'tanh' }, [40, 41]],
      [{ 'progressive.enabled': true, 'progressive.function': 'tanh' }, [40.5, 41.2]],
      [{ 'progressive.enabled': true, 'progressive.function': 'sigmoid' }, [39, 40]],
    ]));
    assert.deepEqual(r.rows.slice(1).map((x) => [x.comparison?.versusLabel, x.finding?.finding.id]), [
      ['enabled=false,function="tanh"', 'progressive'], ['enabled=false,function="tanh"', 'progressive'],
    ]);
    assert.equal(r.rows[2]!.finding!.verdict, 'contradicted');
  });

  it('pose-init-order: only features-first vs real-first carries +0.8', () => {
    const r = buildReport(study('pose', { baseline: { 'binarize.order': 'real-first' } }, [
      [{ 'binarize.order': 'real-first' }, [40, 41, 42]], [{ 'binarize.order': 'features-first' }, [41, 42, 43]], [{ 'binarize.order': 'joint' }, [39, 40, 41]],
    ]));
    assert.deepEqual(r.rows.map((x) => x.finding?.finding.delta ?? '-'), ['-', 0.8, '-']);
  });

  it('a study without a report section has rows but no Δ', () => {
    const r = buildReport(study('classification', {}, [[{ 'model.activation': 'relu' }, [50]], [{ 'model.activation': 'prelu' }, [52]]]));
    assert.equal(r.rows.length, 2);
    assert.ok(r.rows.every((x) => x.comparison === undefined && x.role === 'ablation'));
    assert.equal(r.headline, 'top1');
  });

  it('rows are keyed by their params without the seed', () => {
    const r = buildReport(study('pose', {}, [[{ 'model.stacks': 2 }, [1, 2]]]));
    assert.equal(r.rows[0]!.key, rowKeyOf({ 'model.stacks': 2, seed: 5 }));
  });
});

describe('stage budgets', () => {
  it('name how each two-stage row spent its steps; single-stage rows have none', () => {
    const exp = study('pose', { baseline: { 'binarize.order': 'joint' } }, [
      [{ 'binarize.order': 'joint' }, [50, 51]],
      [{ 'binarize.order': 'features-first', 'binarize.stage_steps': null }, [52, 53]],
      [{ 'binarize.order': 'features-first', 'binarize.stage_steps': 400 }, [54, 55]],
      [{ 'binarize.order': 'real-first', 'model.binary': false }, [70, 71]],
    ]);
    // The split and the budget come from each run's stored config.
    for (const run of exp.runs) run.config = { binarize: { stage_split: 0.5 }, train: { steps: 600, epochs: null } };
    const budgets = buildReport(exp).rows.map((r) => r.stageBudget);
    assert.deepEqual(budgets, [null, 'equal total: 0.5 × 600', 'own: 400 + 600', null]);
  });
});

describe('the setup line names the machines', () => {
  it('one CPU with oneDNN\'s instruction set, or each CPU with its run count; runs that predate the record say so', () => {
    const s = study('pose', { metric: 'pckh' } as ReportSpec, [[{ 'model.binary': true }, [1, 2, 3, 4]]]);
    const meta = (cpu: string | undefined, detail: string) => ({ cpu, backend: { name: 'native', version: '2.6.3', detail } }) as unknown as RunRecord['meta'];
    s.runs.forEach((r) => { r.meta = meta('AMD EPYC x 2', 'oneDNN 2.6.3 (avx2), 1 thread, convolutions'); });
    assert.equal(buildReport(s).setup.machine, 'AMD EPYC x 2 (avx2)');
    s.runs[3]!.meta = meta(undefined, 'oneDNN 2.6.3 (avx512_core_vnni), 1 thread');
    assert.equal(buildReport(s).setup.machine, 'AMD EPYC x 2 (avx2): 3 runs | CPU not recorded (avx512_core_vnni): 1 run');
  });
});
