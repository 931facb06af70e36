/**
 * The CI gate: passes on the results it was baselined from, fails on a doctored copy with a
 * lowered metric or a lost finding, and exits 2 on a missing or malformed baseline.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BnnError, DataError, UsageError } from '../../src/errors.ts';
import { runCheck } from '../../src/report/run.ts';
import { writeClsFixture, writePoseFixture } from './fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'bnn-check-'));
after(() => rmSync(root, { recursive: true, force: true }));
const good = join(root, 'good');
const poseDir = writePoseFixture(good);
const clsDir = writeClsFixture(good);
const baseline = join(root, 'baseline.json');

/** A copy of the pose fixture with `delta` added to the final PCKh of every run whose name starts with `prefix`. */
function doctored(name: string, prefix: string, delta: number): string {
  const dir = join(root, name, 'pose-fixture');
  cpSync(poseDir, dir, { recursive: true });
  for (const id of readdirSync(dir)) {
    const path = join(dir, id, 'final.json');
    let final: { metrics: { pckh: number; pckh_columns: Record<string, number> } };
    try {
      final = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      continue;
    }
    const meta = JSON.parse(readFileSync(join(dir, id, 'meta.json'), 'utf8')) as { name: string };
    if (!meta.name.startsWith(prefix)) continue;
    final.metrics.pckh += delta;
    final.metrics.pckh_columns.Mean += delta;
    writeFileSync(path, JSON.stringify(final));
  }
  return dir;
}

const BIN = fileURLToPath(new URL('../../bin/bnn-ablate.js', import.meta.url));

/**
 * Runs the real CLI in a child process. (Not in-process: node:test streams its own reports
 * through this process's stdout, so capturing stdout here would swallow them.)
 */
function cli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, GITHUB_STEP_SUMMARY: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('check', () => {
  it('--update writes a baseline of both studies; check then passes on the same results', async () => {
    const up = await runCheck({ targets: [poseDir, clsDir], baseline, update: true });
    assert.match(up.markdown, /pose-fixture: 6 rows, 2 of 3 findings held/);
    const file = JSON.parse(readFileSync(baseline, 'utf8'));
    assert.deepEqual(Object.keys(file.experiments), ['pose-fixture', 'cls-fixture']);
    const ok = await runCheck({ targets: [poseDir, clsDir], baseline, stepSummary: join(root, 'summary.md') });
    assert.equal(ok.failures, 0);
    // 6 + 4 rows, and the 2 + 2 findings that held.
    assert.equal(ok.cases.filter((c) => c.status === 'pass').length, 14);
    assert.match(readFileSync(join(root, 'summary.md'), 'utf8'), /^## bnn-ablate check: passed/);
  });

  it('fails a row whose mean dropped below mean − 2·std, and writes it to JUnit', async () => {
    const dir = doctored('lowered', 'teacher=null,stacks=1,', -5);
    const junit = join(root, 'junit.xml');
    const out = await runCheck({ targets: [dir], baseline, junit });
    assert.deepEqual(out.cases.filter((c) => c.status === 'fail').map((c) => c.name), [
      'teacher=null,stacks=1: Mean',
      // The real teacher now "helps" by +5.9: still reproduced. 2 vs 1 stacks was not gated.
    ]);
    assert.match(out.markdown, /FAILED \(1 regression\)/);
    const xml = readFileSync(junit, 'utf8');
    assert.match(xml, /<testsuite name="pose-fixture" tests="9" failures="1" skipped="1">/);
    assert.match(xml, /name="teacher=null,stacks=1: Mean"><failure message="54\.90 \(−5\.00 vs baseline\) &lt; floor/);
  });

  it('honours --tolerance and --sigma', async () => {
    const dir = doctored('slightly', 'teacher=null,stacks=1,', -1.5);
    assert.equal((await runCheck({ targets: [dir], baseline })).failures, 0);
    assert.equal((await runCheck({ targets: [dir], baseline, sigma: 1 })).failures, 1);
    assert.equal((await runCheck({ targets: [dir], baseline, sigma: 0, tolerance: 2 })).failures, 0);
  });

  it('fails when a finding that held no longer holds, though every row is within its margin', async () => {
    const dir = doctored('lost-finding', 'teacher={binary=false},stacks=1,', -0.9);
    const out = await runCheck({ targets: [dir], baseline });
    assert.deepEqual(out.cases.filter((c) => c.status === 'fail').map((c) => c.name), ['finding distill-real-teacher: teacher={binary=false},stacks=1 vs teacher=null,stacks=1']);
  });

  it('exits 1 on a regression and 2 on a missing baseline through the CLI', () => {
    const bad = cli(['check', join(root, 'lowered', 'pose-fixture'), '--baseline', baseline]);
    assert.equal(bad.code, 1, bad.err);
    assert.match(bad.out, /\| pose-fixture \| teacher=null,stacks=1: Mean \| \*\*FAIL\*\* \|/);
    assert.match(bad.err, /check: 1 regression\(s\)/);
    const missing = cli(['check', poseDir, '--baseline', join(root, 'nope.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /does not exist \(create it from known-good results with --update\)/);
  });

  it('rejects a missing, malformed or unrelated baseline with exit-2 errors', async () => {
    const bad = join(root, 'bad.json');
    for (const text of ['{not json', '{"format":"other","experiments":{}}', '{"format":"bnn-ablate-baseline@1","experiments":{"x":{"headline":"Mean","rows":[{"key":"k"}],"findings":[]}}}']) {
      writeFileSync(bad, text);
      await assert.rejects(runCheck({ targets: [poseDir], baseline: bad }), (e: BnnError) => e instanceof DataError && e.exitCode === 2);
    }
    writeFileSync(bad, '{"format":"bnn-ablate-baseline@1","createdAt":"","experiments":{}}');
    await assert.rejects(runCheck({ targets: [poseDir], baseline: bad }), /has no entry for 'pose-fixture'/);
    await assert.rejects(runCheck({ targets: [poseDir], baseline: join(root, 'nope.json') }), (e: BnnError) => e instanceof UsageError && e.exitCode === 2);
  });

  it('refuses results made with another preset than the baseline', async () => {
    const dir = join(root, 'other-preset', 'pose-fixture');
    cpSync(poseDir, dir, { recursive: true });
    const plan = JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8'));
    writeFileSync(join(dir, 'experiment.json'), JSON.stringify({ ...plan, preset: 'ci' }));
    await assert.rejects(runCheck({ targets: [dir], baseline }), /baseline was made with preset "smoke", these results with "ci"/);
  });
});
