/** Snapshots of report.md and report.csv of fixed fixtures, the files `report` writes, and the plots. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildReport } from '../../src/report/build.ts';
import { renderCsv } from '../../src/report/csv.ts';
import { loadResults } from '../../src/report/load.ts';
import { renderExperimentMarkdown } from '../../src/report/markdown.ts';
import { barsSvg, curvesSvg, renderPng } from '../../src/report/plots.ts';
import { runReport } from '../../src/report/run.ts';
import { writeClsFixture, writePoseFixture } from './fixture.ts';
import { matchSnapshot } from './snapshot.ts';

const root = mkdtempSync(join(tmpdir(), 'bnn-report-'));
after(() => rmSync(root, { recursive: true, force: true }));
const poseDir = writePoseFixture(root);
const clsDir = writeClsFixture(root);

describe('report snapshots', () => {
  for (const [name, dir] of [['pose-fixture', poseDir], ['cls-fixture', clsDir]] as const) {
    it(`${name}: Markdown and CSV`, () => {
      const report = buildReport(loadResults(dir));
      matchSnapshot(`${name}.report.md`, renderExperimentMarkdown(report, { plots: { curves: 'plots/curves.png', bars: 'plots/bars.png' } }));
      matchSnapshot(`${name}.report.csv`, renderCsv(report));
    });
  }
});

describe('report files', () => {
  it('writes report.md/.csv/.json per study and a combined report; SVG only with png: false', async () => {
    const outcome = await runReport({ targets: [root], png: false, cwd: root });
    for (const dir of [poseDir, clsDir]) {
      for (const f of ['report.md', 'report.csv', 'report.json', 'plots/curves.svg', 'plots/bars.svg']) assert.ok(existsSync(join(dir, f)), f);
      assert.ok(!existsSync(join(dir, 'plots/curves.png')));
    }
    assert.ok(existsSync(join(root, 'report.md')));
    assert.match(outcome.markdown, /^# bnn-ablate report\n/);
    assert.match(outcome.markdown, /\| cls-fixture \| binary AlexNet/);
    assert.match(outcome.markdown, /!\[training curves of pose-fixture\]\(pose-fixture\/plots\/curves\.svg\)/);
    const json = JSON.parse(readFileSync(join(poseDir, 'report.json'), 'utf8'));
    assert.equal(json.format, 'bnn-ablate-report@1');
    assert.equal(json.dir, undefined);
    assert.equal(json.rows.length, 6);
    assert.deepEqual(json.rows[0].values.Mean, { 0: 60, 1: 58.8, 2: 60.9 });
  });

  it('draws one mean line per row with ±std bands, and renders PNG through sharp', async () => {
    const exp = loadResults(poseDir);
    const report = buildReport(exp);
    const curves = curvesSvg(report, exp);
    assert.match(curves, /^<svg xmlns/);
    // 6 rows × (train loss + metric) solid lines + 6 dashed validation-loss lines.
    assert.equal((curves.match(/<polyline/g) ?? []).length, 18);
    assert.ok((curves.match(/<polygon/g) ?? []).length >= 10);
    const bars = barsSvg(report);
    assert.equal((bars.match(/fill-opacity=/g) ?? []).length, 6);
    const png = await renderPng(bars);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('the CLI prints the table and writes the PNGs (a child process: stdout belongs to node:test here)', () => {
    const bin = fileURLToPath(new URL('../../bin/bnn-ablate.js', import.meta.url));
    const r = spawnSync(process.execPath, [bin, 'report', clsDir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^# cls-fixture: fixture study \(classification\)\n/);
    assert.match(r.stdout, /\| activation=relu,order=joint,binary=false \| reference \| 3 \| one stage \| 98\.5 ± 0\.6 \| 99\.8 ± 0\.1 \| \+8\.18 ± 0\.24 \| n\/a \(\+\) \[3\] \| reproduced \|/);
    for (const f of ['report.md', 'report.csv', 'report.json', 'plots/curves.png', 'plots/bars.png']) assert.ok(existsSync(join(clsDir, f)), f);
  });

  it('a suite name reports its studies under --results and a combined report in <results>/<suite>', async () => {
    const cwd = join(root, 'project');
    mkdirSync(join(cwd, 'experiments'), { recursive: true });
    const study = (name: string) => writeFileSync(join(cwd, 'experiments', `${name}.yaml`), `name: ${name}\ngrid:\n  model.stacks: [1, 2]\n`);
    ['pose-fixture', 'cls-fixture', 'not-run'].forEach(study);
    writeFileSync(join(cwd, 'experiments', 'paper.yaml'), 'name: paper\nexperiments: [pose-fixture.yaml, cls-fixture.yaml, not-run.yaml]\n');
    writePoseFixture(join(cwd, 'results'));
    writeClsFixture(join(cwd, 'results'));
    const outcome = await runReport({ targets: ['paper'], cwd, plots: false });
    assert.ok(existsSync(join(cwd, 'results', 'paper', 'report.csv')));
    assert.match(outcome.markdown, /^# bnn-ablate report: paper\n\n2 studies: pose-fixture, cls-fixture\.\nNot run yet \(no results folder\): not-run\./);
  });
});
