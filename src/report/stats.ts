/**
 * Statistics over seeds. Definitions (printed in every report, because users ask how std is
 * computed: facebookresearch/DomainBed #103):
 * - std is the sample standard deviation of the per-seed final values, with n − 1 in the
 *   denominator; it is undefined (null) for a single seed.
 * - Δ between two rows is paired by seed when at least two seeds finished in both: the mean of the
 *   per-seed differences, with standard error sd(d) / √n. Pairing removes the seed-to-seed
 *   variation both rows share (same data order, same initialisation stream).
 * - Otherwise (seeds do not overlap) Δ is the difference of the means, with Welch's standard error
 *   √(s₁²/n₁ + s₂²/n₂) and the Welch–Satterthwaite degrees of freedom.
 * - `sd` is the spread of one seed's difference: sd(d) when paired, √(s₁² + s₂²) when not; the
 *   power analysis (power.ts) scales it to other seed counts.
 */
import type { Comparison, Stat, Verdict } from './types.ts';

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The median (the mean of the middle two for an even count); benchmarks report it over repeats. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Sample standard deviation (n − 1); null below two values. */
export function sampleStd(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const m = mean(values)!;
  return Math.sqrt(values.reduce((acc, v) => acc + (v - m) ** 2, 0) / (values.length - 1));
}

export function summarize(values: readonly number[]): Stat {
  return { n: values.length, mean: mean(values), std: sampleStd(values) };
}

/** Seed → value; JSON keys are strings, so seeds are too. */
export type PerSeed = Record<string, number>;

/** Δ = a − b over seeds (see the file comment for the method). */
export type SeedComparison = Pick<Comparison, 'delta' | 'se' | 'sd' | 'df' | 'n' | 'method'>;

export function compareSeeds(a: PerSeed, b: PerSeed): SeedComparison {
  const shared = Object.keys(a).filter((seed) => seed in b);
  const paired = (): SeedComparison => {
    const diffs = shared.map((seed) => a[seed]! - b[seed]!);
    const sd = sampleStd(diffs);
    const n = diffs.length;
    return { delta: mean(diffs), se: sd === null ? null : sd / Math.sqrt(n), sd, df: sd === null ? null : n - 1, n, method: 'paired' };
  };
  if (shared.length >= 2) return paired();
  const va = Object.values(a), vb = Object.values(b);
  if (va.length >= 2 && vb.length >= 2) {
    const qa = sampleStd(va)! ** 2 / va.length, qb = sampleStd(vb)! ** 2 / vb.length;
    const se = Math.sqrt(qa + qb);
    // Welch–Satterthwaite; undefined (null) when both rows have zero spread.
    const df = qa + qb === 0 ? null : (qa + qb) ** 2 / (qa ** 2 / (va.length - 1) + qb ** 2 / (vb.length - 1));
    const sd = Math.sqrt(sampleStd(va)! ** 2 + sampleStd(vb)! ** 2);
    return { delta: mean(va)! - mean(vb)!, se, sd, df, n: Math.min(va.length, vb.length), method: 'unpaired' };
  }
  // Too few seeds for any standard error: still show the difference, without a verdict of weight.
  if (shared.length === 1) return paired();
  if (va.length === 0 || vb.length === 0) return { delta: null, se: null, sd: null, df: null, n: 0, method: 'none' };
  return { delta: mean(va)! - mean(vb)!, se: null, sd: null, df: null, n: Math.min(va.length, vb.length), method: 'unpaired' };
}

/** How many standard errors a Δ must exceed to count (the rule; see `verdict`). */
export const SIGNIFICANCE_SE = 2;

/**
 * "reproduced": our Δ has the expected sign and exceeds 2 SE; "contradicted": opposite sign and
 * beyond 2 SE; otherwise (or with no SE at all) "not significant"; "no data" while a row of the
 * pair has no finished run (an unfinished study must not read as a measured null result). 2 SE is a loose rule: with 3
 * paired seeds a two-sided 95 % t-test would need t(2) = 4.30 SE, so read "reproduced" at n = 3
 * as "consistent with", not as proof; the power section of every report prints both bars.
 */
export function verdict(sign: 1 | -1, delta: number | null, se: number | null, k = SIGNIFICANCE_SE): Verdict {
  if (delta === null) return 'no data';
  if (se === null) return 'not significant';
  const signed = sign * delta;
  if (signed > k * se) return 'reproduced';
  if (signed < -k * se) return 'contradicted';
  return 'not significant';
}
