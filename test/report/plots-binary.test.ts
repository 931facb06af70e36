import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildReport } from '../../src/report/build.ts';
import { loadResults } from '../../src/report/load.ts';
import { binarySvg, writePlots } from '../../src/report/plots.ts';
import { niceTicks } from '../../src/report/svg.ts';
import { writePoseFixture } from './fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'bnn-report-binary-'));
after(() => rmSync(root, { recursive: true, force: true }));
const dir = writePoseFixture(root);

test('a range of one ulp gets the ticks of a flat one (it used to loop forever)', () => {
  assert.deepEqual(niceTicks(0.05, 0.05000000000000001), [0.045, 0.05, 0.055]);
  assert.deepEqual(niceTicks(0, 0), [-1, -0.5, 0, 0.5, 1]);
});

test('no binary figure for a study whose runs recorded no diagnostics', async () => {
  const exp = loadResults(dir);
  assert.equal(binarySvg(buildReport(exp), exp), undefined);
  const files = await writePlots(buildReport(exp), exp, { png: false });
  assert.equal(files.binary, undefined);
  assert.equal(existsSync(join(dir, 'plots/binary.svg')), false);
});

test('the binary figure draws one line per row and diagnostic, dashed for the second of a pair', async () => {
  const exp = loadResults(dir);
  const report = buildReport(exp);
  // Diagnostics on the finished runs of the first row only: the other rows are "real" here.
  const firstRow = exp.runs.filter((r) => r.status === 'done' && r.name.startsWith(`${exp.runs[0]!.name.split(',seed=')[0]},seed=`));
  assert.ok(firstRow.length >= 2);
  for (const run of firstRow) {
    run.metrics = run.metrics.map((m, i) => ({ ...m, diag: { flip_ratio: 0.1 / (i + 1), mean_abs_w: 0.05, clipped: 0, input_plus_min: 0.3, input_plus_max: 0.7, soft_agree_w: null, soft_agree_x: null } }));
  }
  const svg = binarySvg(report, exp)!;
  assert.match(svg, /^<svg xmlns/);
  assert.match(svg, /Flip ratio \(per evaluation interval\)/);
  // One row with data: flip ratio, +1 min (solid) and max (dashed), mean |W|, clipped = 5 lines, one dashed.
  assert.equal((svg.match(/<polyline[^>]*stroke-width="2"/g) ?? []).length, 4);
  assert.equal((svg.match(/stroke-dasharray/g) ?? []).length, 1);
  assert.match(svg, /Progressive: .*no evaluations recorded/);
  const files = await writePlots(report, exp, { png: false });
  assert.deepEqual(files.binary, { svg: 'plots/binary.svg', png: 'plots/binary.png' });
  assert.ok(existsSync(join(dir, 'plots/binary.svg')));
});
