/**
 * Statistical power: Student t quantiles against printed tables and an independent closed form,
 * and the MDE / seeds-needed arithmetic against hand computations.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { minimumDetectable, powerAnalysis, powerRow, seedsNeeded, tTestP } from '../../src/report/power.ts';
import { runPower } from '../../src/report/run.ts';
import { compareSeeds } from '../../src/report/stats.ts';
import { incompleteBeta, lnGamma, studentTCdf, studentTQuantile } from '../../src/report/student-t.ts';
import type { Comparison } from '../../src/report/types.ts';
import { writeClsFixture, writePoseFixture } from './fixture.ts';

const close = (a: number | null, b: number, eps: number, what = '') => assert.ok(a !== null && Math.abs(a - b) <= eps, `${what}: ${a} vs ${b}`);

/**
 * P(|T| ≤ t) for integer ν by the finite trigonometric series of Abramowitz & Stegun 26.7.3/4
 * (θ = atan(t/√ν)): an implementation independent of the incomplete beta function.
 */
function absCdfSeries(t: number, nu: number): number {
  const th = Math.atan(t / Math.sqrt(nu));
  const c2 = Math.cos(th) ** 2;
  let term = 1, sum = 1;
  if (nu % 2 === 0) {
    for (let k = 2; k <= nu - 2; k += 2) { term *= ((k - 1) / k) * c2; sum += term; }
    return Math.sin(th) * sum;
  }
  if (nu === 1) return (2 * th) / Math.PI;
  for (let k = 3; k <= nu - 2; k += 2) { term *= ((k - 1) / k) * c2; sum += term; }
  return (2 / Math.PI) * (th + Math.sin(th) * Math.cos(th) * sum);
}

describe('Student t', () => {
  it('two-sided 95 % and 99 % critical values match the printed table (3 decimals)', () => {
    // Fisher & Yates / any statistics textbook's t table.
    const table: Array<[number, number, number]> = [
      [1, 12.706, 63.657], [2, 4.303, 9.925], [3, 3.182, 5.841], [4, 2.776, 4.604], [5, 2.571, 4.032],
      [9, 2.262, 3.25], [10, 2.228, 3.169], [20, 2.086, 2.845], [30, 2.042, 2.75], [120, 1.98, 2.617],
    ];
    for (const [df, t95, t99] of table) {
      close(studentTQuantile(0.975, df), t95, 5e-4, `t(0.975, ${df})`);
      close(studentTQuantile(0.995, df), t99, 5e-4, `t(0.995, ${df})`);
    }
    // One-sided 80 % (the power quantile): 1.376 (1), 1.061 (2), 0.978 (3), 0.879 (10).
    for (const [df, t] of [[1, 1.376], [2, 1.061], [3, 0.978], [10, 0.879]] as const) close(studentTQuantile(0.8, df), t, 5e-4, `t(0.8, ${df})`);
  });

  it('is not the normal approximation, and tends to it for large ν', () => {
    assert.ok(studentTQuantile(0.975, 2) > 4.3);
    close(studentTQuantile(0.975, 1e6), 1.959966, 1e-5, 'ν → ∞');
  });

  it('closed forms: ν = 1 is Cauchy, ν = 2 has t = (2p − 1)/√(2p(1 − p))', () => {
    for (const p of [0.6, 0.9, 0.975, 0.999]) {
      close(studentTQuantile(p, 1), Math.tan(Math.PI * (p - 0.5)), 1e-8 * Math.max(1, Math.tan(Math.PI * (p - 0.5))), `cauchy ${p}`);
      close(studentTQuantile(p, 2), (2 * p - 1) / Math.sqrt(2 * p * (1 - p)), 1e-8, `ν=2 ${p}`);
    }
  });

  it('the CDF agrees with the independent A&S series for integer ν, and is symmetric', () => {
    for (const nu of [1, 2, 3, 4, 5, 7, 12, 25]) {
      for (const t of [0.1, 0.7, 1.5, 2.5, 4, 9]) {
        close(2 * studentTCdf(t, nu) - 1, absCdfSeries(t, nu), 1e-10, `ν=${nu} t=${t}`);
        close(studentTCdf(-t, nu), 1 - studentTCdf(t, nu), 1e-12, 'symmetry');
      }
    }
    close(studentTCdf(0, 3), 0.5, 1e-15, 'median');
  });

  it('quantile inverts the CDF, also for non-integer ν (Welch)', () => {
    for (const nu of [1.5, 2.7, 8.3]) for (const p of [0.55, 0.8, 0.975]) close(studentTCdf(studentTQuantile(p, nu), nu), p, 1e-10, `ν=${nu}`);
    assert.throws(() => studentTQuantile(1, 3), RangeError);
    assert.throws(() => studentTCdf(1, 0), RangeError);
  });

  it('ln Γ and the incomplete beta at known values', () => {
    close(lnGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-12, 'Γ(½)');
    close(lnGamma(10), Math.log(362880), 1e-10, 'Γ(10) = 9!');
    close(incompleteBeta(0.3, 1, 1), 0.3, 1e-12, 'I_x(1,1) = x');
    close(incompleteBeta(0.3, 2, 3), 0.3483, 1e-12, 'I_0.3(2,3) = Σ_{j≥2} C(4,j)·0.3^j·0.7^(4−j)');
  });
});

const paired = (deltas: number[]): Comparison => {
  const a = Object.fromEntries(deltas.map((d, i) => [String(i), 50 + d]));
  const b = Object.fromEntries(deltas.map((_, i) => [String(i), 50]));
  return { versus: 'b', versusLabel: 'base', ...compareSeeds(a, b) };
};

describe('power of a comparison', () => {
  it('3 paired seeds with differences 1, 2, 3: σ = 1, SE = 1/√3, MDE by hand', () => {
    const c = paired([1, 2, 3]);
    close(c.sd, 1, 1e-12, 'σ');
    assert.equal(c.df, 2);
    const m = minimumDetectable(c);
    const se = 1 / Math.sqrt(3);
    close(m.mde2se, 2 * se, 1e-12, '2 SE');
    close(m.mdeT, 4.302653 * se, 1e-6, 't(0.975, 2)·SE');
    close(m.mde80, (4.302653 + 1.060660) * se, 1e-6, '80 %');
    // Δ = 2, SE = 0.5774: t = 3.4641 on 2 df; p = 1 − 2·F... for ν = 2, P(|T| > t) = 1 − t/√(2 + t²).
    const t = 2 / se;
    close(tTestP(c), 1 - t / Math.sqrt(2 + t * t), 1e-10, 'p');
  });

  it('seeds needed, by hand: σ = 1, Δ = 0.5', () => {
    // 2 SE: 2/√n ≤ 0.5 ⇔ n ≥ 16.
    // t-test: t(0.975, n − 1)/√n ≤ 0.5: n = 18 gives 2.1098/4.2426 = 0.4973, n = 17 gives 2.1199/4.1231 = 0.5142.
    // 80 %: (t(0.975) + t(0.8))/√n ≤ 0.5: n = 34 gives (2.0345 + 0.8530)/5.8310 = 0.4952, n = 33: (2.0369 + 0.8535)/5.7446 = 0.5032.
    assert.deepEqual(seedsNeeded(1, 0.5, 'paired'), { twoSe: 16, tTest: 18, power80: 34 });
    // The sign of Δ does not matter; σ scales n with (σ/Δ)².
    assert.deepEqual(seedsNeeded(2, -1, 'paired'), { twoSe: 16, tTest: 18, power80: 34 });
    // Unpaired rows use 2n − 2 degrees of freedom: fewer seeds than paired for the t bars.
    const u = seedsNeeded(1, 0.5, 'unpaired');
    assert.equal(u.twoSe, 16);
    assert.ok(u.tTest! <= 18 && u.tTest! >= 16);
    assert.deepEqual(seedsNeeded(null, 0.5, 'paired'), { twoSe: null, tTest: null, power80: null });
    assert.deepEqual(seedsNeeded(0, 0.5, 'paired'), { twoSe: 2, tTest: 2, power80: 2 });
    // Out of reach: σ = 1000, Δ = 0.001 would need ~4·10¹² seeds.
    assert.equal(seedsNeeded(1000, 0.001, 'paired').twoSe, null);
  });

  it('the target is --delta, else the paper\'s Δ, else the 1-point goal', () => {
    const c = paired([0.2, 0.5, 0.1]);
    assert.deepEqual(powerRow(c, 'row', undefined).target, { delta: 1, source: 'goal' });
    assert.deepEqual(powerRow(c, 'row', undefined, 0.3).target, { delta: 0.3, source: 'flag' });
    const finding = { finding: { id: 'x', delta: 0.8 }, row: 'r', rowLabel: 'row', comparison: c, verdict: 'not significant' } as never;
    assert.deepEqual(powerRow(c, 'row', finding).target, { delta: 0.8, source: 'paper' });
    assert.deepEqual(powerRow(c, 'row', finding, 2).target, { delta: 2, source: 'flag' });
  });

  it('one seed: no σ, no MDE, no seed count', () => {
    const r = powerRow(paired([1]), 'row', undefined);
    assert.deepEqual([r.comparison.sd, r.mde2se, r.mdeT, r.p, r.seeds.tTest], [null, null, null, null, null]);
  });
});

describe('power in reports and on the command line', () => {
  const root = mkdtempSync(join(tmpdir(), 'bnn-power-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const poseDir = writePoseFixture(root);
  writeClsFixture(root);

  it('covers every row comparison and every finding measured against another row', async () => {
    const { json, markdown } = await runPower({ targets: [poseDir], cwd: root });
    const power = json.experiments[0]!.power;
    // pose-fixture: 2 distilled rows + the 2-stack baseline vs 1 (a finding between two baseline rows).
    assert.deepEqual(power.map((p) => `${p.rowLabel} vs ${p.versusLabel}: ${p.target.source} ${p.target.delta}`), [
      'teacher={binary=false},stacks=1 vs teacher=null,stacks=1: paper 0.6',
      'teacher={binary=false},stacks=2 vs teacher=null,stacks=2: paper 0.6',
      'teacher=null,stacks=2 vs teacher=null,stacks=1: paper 1.5',
    ]);
    for (const p of power) {
      // σ and MDE are the comparison's own: MDE(t) = t(0.975, n − 1) · σ/√n.
      close(p.mdeT, studentTQuantile(0.975, p.comparison.n - 1) * p.comparison.sd! / Math.sqrt(p.comparison.n), 1e-9, p.rowLabel);
    }
    assert.match(markdown, /\| Row \| vs \| n \| σ \| MDE 2 SE \| MDE t 95 % \|/);
    assert.match(markdown, /two-sided paired t-test at 95 %/);
  });

  it('--delta replaces every target; a bad --delta is a usage error', async () => {
    const { json } = await runPower({ targets: [root], delta: 0.25, cwd: root });
    assert.equal(json.experiments.length, 2);
    for (const e of json.experiments) for (const p of e.power) assert.deepEqual(p.target, { delta: 0.25, source: 'flag' });
    for (const bad of [0, -1, Number.NaN]) await assert.rejects(runPower({ targets: [root], delta: bad, cwd: root }), /--delta must be a number of points > 0/);
  });

  it('the report carries the same analysis', async () => {
    const { buildReport } = await import('../../src/report/build.ts');
    const { loadResults } = await import('../../src/report/load.ts');
    const report = buildReport(loadResults(poseDir));
    assert.deepEqual(report.power, powerAnalysis(report));
    assert.equal(report.power.length, 3);
  });

  it('bnn-ablate power prints Markdown or JSON; bad flags and folders exit 2 with one line', () => {
    const bin = fileURLToPath(new URL('../../bin/bnn-ablate.js', import.meta.url));
    const cli = (...args: string[]) => spawnSync(process.execPath, [bin, 'power', ...args], { encoding: 'utf8', cwd: root });
    const md = cli(poseDir);
    assert.equal(md.status, 0, md.stderr);
    assert.match(md.stdout, /^## pose-fixture \(pose, Δ of Mean\)\n/);
    const js = cli(poseDir, '--delta', '0.5', '--json');
    assert.equal(js.status, 0, js.stderr);
    const parsed = JSON.parse(js.stdout);
    assert.equal(parsed.format, 'bnn-ablate-power@1');
    assert.equal(parsed.delta, 0.5);
    for (const args of [[poseDir, '--delta', 'abc'], [poseDir, '--delta', '-1'], [join(root, 'nowhere')]]) {
      const r = cli(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^bnn-ablate: /);
    }
  });
});
