/**
 * Statistical power of every comparison a report makes: how big a Δ its seeds could have shown,
 * and how many seeds a given Δ would need. The paper's effects are 0.4–2 points, so a study has to
 * say whether it could have seen them at all before its "not significant" means anything.
 *
 * For a comparison with n seeds, σ = the spread of one seed's difference (stats.ts: sd of the
 * paired differences, or √(s₁² + s₂²) unpaired) and SE = σ/√n:
 * - MDE (2 SE): 2·SE, the smallest |Δ| the report's verdict rule (SIGNIFICANCE_SE) calls a finding.
 * - MDE (t, 95 %): t(0.975, ν)·SE, the smallest |Δ| a two-sided t-test at 95 % calls significant;
 *   ν = n − 1 paired (Welch–Satterthwaite unpaired). A true effect of exactly this size is seen
 *   only half of the time.
 * - MDE (80 % power): (t(0.975, ν) + t(0.80, ν))·SE, the effect the t-test detects 4 times in 5
 *   (the usual approximation of the noncentral t).
 * - Seeds for Δ: the smallest n ≥ 2 at which each bar above drops to |Δ|, σ held at its current
 *   estimate (ν = n − 1 paired, 2n − 2 unpaired with n seeds per row). σ from 2–3 seeds is itself
 *   rough, so read these as orders of magnitude.
 * The target Δ is the `--delta` flag, else the paper's Δ for the finding (docs/paper.md §2), else
 * the reproduction's design goal of resolving 1 point (POWER_GOAL_POINTS).
 */
import { SIGNIFICANCE_SE } from './stats.ts';
import { studentTCdf, studentTQuantile } from './student-t.ts';
import type { Comparison, ExperimentReport, FindingResult, ReportRow } from './types.ts';

/** Δ (points) the reproduction should resolve where the paper gives none (issue 13's goal: MDE ≤ 1 point). */
export const POWER_GOAL_POINTS = 1;
/** Two-sided 95 %: the t-test's quantile. */
export const T_LEVEL = 0.975;
/** 80 % power: the second quantile of the power approximation. */
export const POWER_LEVEL = 0.8;
/** Seed counts searched up to this; beyond it a Δ is reported as out of reach (null with `beyond`). */
export const MAX_SEEDS = 1_000_000;

export type TargetSource = 'flag' | 'paper' | 'goal';

export interface SeedsNeeded {
  /** Seeds at which 2 SE ≤ |Δ|. */
  twoSe: number | null;
  /** Seeds at which a two-sided 95 % t-test calls |Δ| significant. */
  tTest: number | null;
  /** Seeds at which a true |Δ| is detected with 80 % power. */
  power80: number | null;
}

export interface PowerRow {
  rowLabel: string;
  versusLabel: string;
  /** The paper finding this comparison measures, when there is one. */
  finding: string | null;
  comparison: Comparison;
  /** t(0.975, ν); null without an SE. */
  tCritical: number | null;
  /** Two-sided p of the t-test on the observed Δ. */
  p: number | null;
  mde2se: number | null;
  mdeT: number | null;
  mde80: number | null;
  target: { delta: number; source: TargetSource };
  seeds: SeedsNeeded;
}

/** The smallest |Δ| each bar lets through at the comparison's own seeds. */
export function minimumDetectable(c: Pick<Comparison, 'se' | 'df'>): { tCritical: number | null; mde2se: number | null; mdeT: number | null; mde80: number | null } {
  if (c.se === null || c.df === null) return { tCritical: null, mde2se: c.se === null ? null : SIGNIFICANCE_SE * c.se, mdeT: null, mde80: null };
  const t = studentTQuantile(T_LEVEL, c.df);
  return { tCritical: t, mde2se: SIGNIFICANCE_SE * c.se, mdeT: t * c.se, mde80: (t + studentTQuantile(POWER_LEVEL, c.df)) * c.se };
}

/** Two-sided p-value of Δ / SE under t(ν). */
export function tTestP(c: Pick<Comparison, 'delta' | 'se' | 'df'>): number | null {
  if (c.delta === null || c.se === null || c.df === null) return null;
  if (c.se === 0) return c.delta === 0 ? 1 : 0;
  return 2 * (1 - studentTCdf(Math.abs(c.delta / c.se), c.df));
}

/** Smallest n in [2, MAX_SEEDS] with bar(n)·σ/√n ≤ |Δ| (bar(n)/√n falls with n), or null when none. */
function smallestN(sd: number, delta: number, bar: (n: number) => number): number | null {
  const fits = (n: number) => (bar(n) * sd) / Math.sqrt(n) <= Math.abs(delta);
  if (fits(2)) return 2;
  if (!fits(MAX_SEEDS)) return null;
  let lo = 2, hi = MAX_SEEDS; // fits(lo) false, fits(hi) true
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Seeds each bar needs for |delta|, given σ of one seed's difference (null σ: unknown). */
export function seedsNeeded(sd: number | null, delta: number, method: Comparison['method']): SeedsNeeded {
  if (sd === null || !(Math.abs(delta) > 0)) return { twoSe: null, tTest: null, power80: null };
  const df = (n: number) => (method === 'unpaired' ? 2 * n - 2 : n - 1);
  return {
    twoSe: smallestN(sd, delta, () => SIGNIFICANCE_SE),
    tTest: smallestN(sd, delta, (n) => studentTQuantile(T_LEVEL, df(n))),
    power80: smallestN(sd, delta, (n) => studentTQuantile(T_LEVEL, df(n)) + studentTQuantile(POWER_LEVEL, df(n))),
  };
}

export function powerRow(comparison: Comparison, rowLabel: string, finding: FindingResult | undefined, flagDelta?: number): PowerRow {
  const paper = finding?.finding.delta ?? null;
  const target = flagDelta !== undefined ? { delta: flagDelta, source: 'flag' as const }
    : paper !== null ? { delta: paper, source: 'paper' as const } : { delta: POWER_GOAL_POINTS, source: 'goal' as const };
  return {
    rowLabel,
    versusLabel: comparison.versusLabel,
    finding: finding?.finding.id ?? null,
    comparison,
    ...minimumDetectable(comparison),
    p: tTestP(comparison),
    target,
    seeds: seedsNeeded(comparison.sd, target.delta, comparison.method),
  };
}

/**
 * Every comparison of a report: each row's Δ against its baseline row (with the paper finding it
 * measures, if any), then the findings measured against another row than the row's own baseline.
 */
export function powerAnalysis(report: Pick<ExperimentReport, 'rows' | 'findings'>, flagDelta?: number): PowerRow[] {
  const out: PowerRow[] = [];
  const seen = new Set<string>();
  const withComparison = report.rows.filter((r): r is ReportRow & { comparison: Comparison } => r.comparison !== undefined);
  for (const row of withComparison) {
    seen.add(`${row.key}\u0000${row.comparison.versus}`);
    const finding = report.findings.find((f) => f.row === row.key && f.comparison.versus === row.comparison.versus);
    out.push(powerRow(row.comparison, row.label, finding, flagDelta));
  }
  for (const f of report.findings) {
    if (seen.has(`${f.row}\u0000${f.comparison.versus}`)) continue;
    seen.add(`${f.row}\u0000${f.comparison.versus}`);
    out.push(powerRow(f.comparison, f.rowLabel, f, flagDelta));
  }
  return out;
}
