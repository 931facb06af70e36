/**
 * docs/calibration/ stays honest: the committed report is exactly what `bnn-ablate report` makes of
 * the committed per-run records of experiments/calibrate.yaml (docs/calibration.md quotes it).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, regeneratedReport } from './regenerate.ts';

const DOCS = path.join(ROOT, 'docs/calibration');

test('docs/calibration/report.md regenerates from docs/calibration/results', async () => {
  assert.equal(await regeneratedReport('calibration'), readFileSync(path.join(DOCS, 'report.md'), 'utf8'), 'docs/calibration/report.md is stale: rerun the report command in docs/calibration.md');
});

test('the learning-curve tables of docs/calibration.md are the records\' final means', () => {
  const doc = readFileSync(path.join(ROOT, 'docs/calibration.md'), 'utf8');
  const report = readFileSync(path.join(DOCS, 'report.md'), 'utf8');
  // Each study's last column in the doc (e.g. "| binary | ... | 9.08 ± 0.16 |") appears in the generated report.
  for (const cell of ['12.93 ± 0.19', '9.08 ± 0.16', '14.90 ± 0.88', '8.83 ± 0.10', '68.51 ± 0.23', '52.84 ± 1.24', '73.04 ± 0.86', '61.26 ± 1.12']) {
    assert.ok(doc.includes(cell), `docs/calibration.md lacks ${cell}`);
    const [mean, sd] = cell.split(' ± ').map(Number);
    const rounded = `${mean!.toFixed(1)} ± ${sd!.toFixed(1)} |`;   // the report prints one decimal
    assert.ok(report.includes(rounded), `the generated report has no ${rounded} for ${cell}`);
  }
});
