/**
 * The CI gate: current results against a committed baseline.
 *
 * A row regresses when its mean falls below `baseline mean − max(k·std, tolerance)` (k = --sigma,
 * std = the baseline's sample std over seeds): gating on the spread seen over seeds, not on a
 * fixed number, is what keeps accuracy gates from flaking (sgl-project/sglang PR #20304,
 * awslabs/gluonts #764). A paper finding that held ("reproduced") in the baseline must still
 * hold. Rows and findings new since the baseline are reported, never failed.
 */
import { DataError } from '../errors.ts';
import type { BaselineExperiment } from './baseline.ts';
import { fixed, mdTable, signed } from './format.ts';
import type { ExperimentReport } from './types.ts';

export interface CheckOptions {
  /** k in `mean − max(k·std, tolerance)`. */
  sigma: number;
  /** Absolute floor of the allowed drop, in points. */
  tolerance: number;
}

export const DEFAULT_CHECK: CheckOptions = { sigma: 2, tolerance: 0 };

export interface CheckCase {
  experiment: string;
  kind: 'row' | 'finding';
  name: string;
  status: 'pass' | 'fail' | 'skip';
  detail: string;
}

/** Refuses comparisons that would be meaningless: another task, metric, preset or --set. */
function assertComparable(report: ExperimentReport, base: BaselineExperiment): void {
  const what = (field: string, a: unknown, b: unknown) =>
    new DataError(`${report.experiment}: the baseline was made with ${field} ${JSON.stringify(b)}, these results with ${JSON.stringify(a)}; rerun with the same settings or re-baseline with --update`);
  if (base.task !== report.task) throw what('task', report.task, base.task);
  if (base.headline !== report.headline) throw what('headline column', report.headline, base.headline);
  if ((base.preset ?? null) !== report.preset) throw what('preset', report.preset, base.preset);
  if (JSON.stringify(base.sets ?? []) !== JSON.stringify(report.sets)) throw what('--set', report.sets, base.sets);
}

export function checkExperiment(report: ExperimentReport, base: BaselineExperiment, options: CheckOptions = DEFAULT_CHECK): CheckCase[] {
  assertComparable(report, base);
  const cases: CheckCase[] = [];
  const metric = report.headline;
  for (const b of base.rows) {
    const row = report.rows.find((r) => r.key === b.key);
    const stat = row?.columns[metric];
    const name = `${b.label}: ${metric}`;
    const spread = b.std === null ? 0 : options.sigma * b.std;
    const margin = Math.max(spread, options.tolerance);
    const floor = b.mean - margin;
    const baseText = `baseline ${fixed(b.mean, 2)}${b.std === null ? '' : ` ± ${fixed(b.std, 2)}`} (n=${b.n}), floor ${fixed(floor, 2)} = mean − max(${options.sigma}·std, ${options.tolerance})`;
    if (!stat || stat.mean === null) {
      cases.push({ experiment: report.experiment, kind: 'row', name, status: 'fail', detail: `no finished run; ${baseText}` });
      continue;
    }
    const fewer = stat.n < b.n ? `; only ${stat.n} of the baseline's ${b.n} seeds finished` : '';
    const single = b.std === null && options.tolerance === 0 ? '; the baseline has one seed and --tolerance is 0, so any drop fails' : '';
    const now = `${fixed(stat.mean, 2)} (${signed(stat.mean - b.mean)} vs baseline)`;
    cases.push(stat.mean < floor
      ? { experiment: report.experiment, kind: 'row', name, status: 'fail', detail: `${now} < floor; ${baseText}${fewer}` }
      : { experiment: report.experiment, kind: 'row', name, status: 'pass', detail: `${now} ≥ floor; ${baseText}${fewer}${single}` });
  }
  const known = new Set(base.rows.map((b) => b.key));
  for (const row of report.rows) {
    if (!known.has(row.key)) cases.push({ experiment: report.experiment, kind: 'row', name: `${row.label}: ${metric}`, status: 'skip', detail: 'not in the baseline (a new row): not gated' });
  }

  for (const b of base.findings) {
    const now = report.findings.find((f) => f.finding.id === b.id && f.row === b.row && f.comparison.versus === b.versus);
    const name = `finding ${b.id}: ${b.rowLabel} vs ${b.versusLabel}`;
    const nowText = now ? `now ${now.verdict} (Δ ${now.comparison.delta === null ? 'n/a' : signed(now.comparison.delta)}${now.comparison.se === null ? '' : ` ± ${fixed(now.comparison.se, 2)} SE`})` : 'no longer measurable (a row has no finished run)';
    if (b.verdict !== 'reproduced') {
      cases.push({ experiment: report.experiment, kind: 'finding', name, status: 'skip', detail: `was ${b.verdict} in the baseline: not gated; ${nowText}` });
    } else {
      cases.push({ experiment: report.experiment, kind: 'finding', name, status: now?.verdict === 'reproduced' ? 'pass' : 'fail', detail: `held in the baseline; ${nowText}` });
    }
  }
  return cases;
}

export function checkSummaryMarkdown(cases: CheckCase[], context: { baseline: string; options: CheckOptions; notes?: string[] }): string {
  const failures = cases.filter((c) => c.status === 'fail').length;
  const icon = { pass: 'pass', fail: '**FAIL**', skip: 'skip' } as const;
  const lines = [
    `## bnn-ablate check: ${failures === 0 ? 'passed' : `FAILED (${failures} regression${failures === 1 ? '' : 's'})`}`,
    '',
    `Baseline \`${context.baseline}\`; a row fails below baseline mean − max(${context.options.sigma}·std, ${context.options.tolerance} points); a finding that held must still hold.`,
    '',
    mdTable(['Study', 'Check', 'Result', 'Detail'], cases.map((c) => [c.experiment, c.name, icon[c.status], c.detail])),
  ];
  if (context.notes?.length) lines.push('', ...context.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JUnit XML: one suite per study, one test case per row and finding (skips as <skipped/>). */
export function junitXml(cases: CheckCase[]): string {
  const studies = [...new Set(cases.map((c) => c.experiment))];
  const count = (list: CheckCase[], s: CheckCase['status']) => list.filter((c) => c.status === s).length;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="bnn-ablate check" tests="${cases.length}" failures="${count(cases, 'fail')}" skipped="${count(cases, 'skip')}">`];
  for (const study of studies) {
    const list = cases.filter((c) => c.experiment === study);
    out.push(`  <testsuite name="${xml(study)}" tests="${list.length}" failures="${count(list, 'fail')}" skipped="${count(list, 'skip')}">`);
    for (const c of list) {
      const open = `    <testcase classname="${xml(`${study}.${c.kind}s`)}" name="${xml(c.name)}"`;
      if (c.status === 'pass') out.push(`${open}/>`);
      else if (c.status === 'skip') out.push(`${open}><skipped message="${xml(c.detail)}"/></testcase>`);
      else out.push(`${open}><failure message="${xml(c.detail)}">${xml(c.detail)}</failure></testcase>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
