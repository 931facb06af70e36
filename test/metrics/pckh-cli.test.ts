import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describeError } from '../../src/errors.ts';
import { loadPckhFiles } from '../../src/metrics/pckh-io.ts';
import { pckhReport } from '../../src/cli/pckh.ts';

let dir: string;
const BIN = fileURLToPath(new URL('../../bin/bnn-ablate.js', import.meta.url));
const J = 16;
const at = (x: number, y: number) => Array.from({ length: J }, () => [x, y]);

/**
 * Runs the real entry point in a child process: the CLI writes to process.stdout, which the test
 * runner also uses, so capturing it in-process would swallow test reports.
 */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** The message and exit code bin/ would print for what loading these files throws. */
async function failure(files: { pred: string; gt: string; headBoxes?: string }): Promise<{ code: number; err: string }> {
  try {
    await loadPckhFiles(files);
  } catch (e) {
    const d = describeError(e);
    return { code: d.code, err: d.message };
  }
  return { code: 0, err: '' };
}

function file(name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
  return p;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bnn-pckh-'));
  // Head box diagonal 50 → 15 px at 0.5. Record 0: every joint exact; record 1: l_wrist 16 px off,
  // head_top exactly 15 px off (counted under <=), l_ankle unannotated.
  const vis1 = Array(J).fill(1); vis1[5] = 0;
  file('gt.json', [
    { joints: at(100, 100), joints_vis: Array(J).fill(1), head_box: [[0, 0], [30, 40]] },
    { joints: at(100, 100), joints_vis: vis1, head_box: [0, 0, 30, 40] },
  ]);
  const p1 = at(100, 100); p1[15] = [100, 116]; p1[9] = [109, 112]; p1[5] = [0, 0];
  file('pred.json', [{ joints: at(100, 100) }, { joints: p1 }]);
  file('hrnet-valid.json', [
    { image: 'a.jpg', center: [100, 100], scale: 1, joints: at(100, 100), joints_vis: Array(J).fill(1) },
    { image: 'b.jpg', center: [100, 100], scale: 1, joints: at(100, 100), joints_vis: vis1 },
  ]);
  file('boxes.json', [[[0, 0], [30, 40]], [[0, 0], [30, 40]]]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('pckh --json prints the documented document (through the real entry point)', async () => {
  const r = await run(['pckh', '--pred', join(dir, 'pred.json'), '--gt', join(dir, 'gt.json'), '--json']);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  assert.equal(doc.variant, 'count-weighted mean, err <= t');
  assert.equal(doc.threshold, 0.5);
  assert.equal(doc.joints.head_top, 100);
  assert.equal(doc.joints.l_wrist, 50);
  assert.equal(doc.columns.Wrist, 75);
  assert.equal(doc.columns.Mean, (100 * 26) / 27); // 27 visible of the 14 joints, one miss
  assert.deepEqual(Object.keys(doc.columns), ['Head', 'Shoulder', 'Elbow', 'Wrist', 'Hip', 'Knee', 'Ankle', 'Mean']);
});

test('pckh table names the variant; threshold, mean and comparison flags apply', async () => {
  const out = await pckhReport({ pred: join(dir, 'pred.json'), gt: join(dir, 'gt.json'), comparison: 'lt', mean: 'unweighted', threshold: 0.5, json: false });
  assert.match(out, /PCKh@0\.5 \(%\), unweighted mean, err < t, 2 samples/);
  assert.match(out, /head_top\s+50\.00\s+2/);
  assert.match(out, /^\s+Head\s+Shoulder\s+Elbow\s+Wrist\s+Hip\s+Knee\s+Ankle\s+Mean$/m);
  await assert.rejects(pckhReport({ pred: join(dir, 'pred.json'), gt: join(dir, 'gt.json'), threshold: Number.NaN, json: false }), /--threshold must be a number/);
});

test('HRNet valid.json with companion head boxes', async () => {
  const out = await pckhReport({ pred: join(dir, 'pred.json'), gt: join(dir, 'hrnet-valid.json'), 'head-boxes': join(dir, 'boxes.json'), json: true });
  assert.equal(JSON.parse(out).columns.Wrist, 75);
  const missing = await failure({ pred: join(dir, 'pred.json'), gt: join(dir, 'hrnet-valid.json') });
  assert.equal(missing.code, 2);
  assert.match(missing.err, /hrnet-valid\.json: record 0: no head_box/);
});

test('bad inputs are one-line errors naming the file and record, exit 2', async () => {
  const gt = join(dir, 'gt.json');
  const cases: Array<[string, unknown, RegExp, 'pred' | 'gt']> = [
    ['short.json', [{ joints: at(1, 1) }], /short\.json: has 1 records but .*gt\.json has 2/, 'pred'],
    ['joints15.json', [{ joints: at(1, 1) }, { joints: at(1, 1).slice(1) }], /joints15\.json: record 1: joints has 15 entries, expected 16/, 'pred'],
    ['nonnum.json', [{ joints: at(1, 1) }, { joints: [...at(1, 1).slice(1), ['x', 2]] }], /nonnum\.json: record 1: joint 15 \(l_wrist\) has a non-numeric value/, 'pred'],
    ['nulls.json', [{ joints: [[null, 1], ...at(1, 1).slice(1)] }, { joints: at(1, 1) }], /nulls\.json: record 0: joint 0 \(r_ankle\) has a non-numeric/, 'pred'],
    ['degenerate.json', [{ joints: at(1, 1), joints_vis: Array(J).fill(1), head_box: [[3, 4], [3, 4]] }, { joints: at(1, 1), joints_vis: Array(J).fill(1), head_box: [[3, 4], [3, 4]] }], /degenerate\.json: record 0: degenerate head box/, 'gt'],
    ['vis.json', [{ joints: at(1, 1), joints_vis: Array(J).fill(2), head_box: [0, 0, 3, 4] }, {}], /vis\.json: record 0: joints_vis\[0\] is 2/, 'gt'],
    ['notarray.json', { joints: [] }, /notarray\.json: expected a JSON array/, 'gt'],
    ['broken.json', '[{', /broken\.json: invalid JSON/, 'pred'],
  ];
  for (const [name, content, pattern, role] of cases) {
    const p = file(name, content);
    const r = await failure({ pred: role === 'pred' ? p : join(dir, 'pred.json'), gt: role === 'gt' ? p : gt });
    assert.equal(r.code, 2, `${name}: ${r.err}`);
    assert.match(r.err, pattern, name);
    assert.equal(r.err.trim().split('\n').length, 1, `${name} prints one line`);
  }
  const nofile = await failure({ pred: join(dir, 'nope.json'), gt });
  assert.equal(nofile.code, 2);
  assert.match(nofile.err, /nope\.json: cannot read \(ENOENT\)/);
});

test('the installed entry point exits 2 on bad data', () => {
  const p = file('pred-bad.json', [{ joints: at(1, 1) }]);
  const r = spawnSync(process.execPath, [BIN, 'pckh', '--pred', p, '--gt', join(dir, 'gt.json')], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^bnn-ablate: .*pred-bad\.json: has 1 records/);
});
