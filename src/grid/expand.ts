/**
 * Grid expansion: the cartesian product of the axes (grid keys, then zip groups, in file order;
 * the first axis varies slowest), minus `exclude` matches, plus `include` points. With no axes the
 * grid is the single empty point (the base config), so `include` always adds to something.
 */
import { canonicalJson } from '../config/canonical.ts';
import type { Override } from '../config/assign.ts';
import type { ExperimentSpec, PartialPoint } from '../config/experiment.ts';
import { ConfigError } from '../errors.ts';

export interface Point {
  /** The overrides this point applies on top of base, set and preset. */
  overrides: Override[];
  origin: 'grid' | 'include';
}

function matches(point: Override[], partial: PartialPoint): boolean {
  return partial.overrides.every((want) => point.some((o) => o.key === want.key && canonicalJson(o.value) === canonicalJson(want.value)));
}

/** Runs one invocation plans at most unless --max-runs raises it: far above any study, far below what exhausts memory. */
export const DEFAULT_MAX_RUNS = 10_000;

/**
 * Refuses a grid larger than `maxRuns` from its axis lengths alone, before anything is expanded
 * (a 5 KB file could expand to millions of points and run out of memory doing it).
 */
export function checkGridSize(spec: ExperimentSpec, seeds: number, maxRuns: number): void {
  const factors = spec.axes.map((a) => a.rows.length);
  const points = factors.reduce((n, f) => n * f, 1) + spec.include.length;
  const runs = points * Math.max(1, seeds);
  if (runs <= maxRuns) return;
  const terms = [...factors.map(String), ...(seeds > 1 ? [`${seeds} seeds`] : [])];
  const plus = spec.include.length ? ` (+${spec.include.length} included point(s))` : '';
  const product = terms.length > 1 || plus ? `${terms.join(' × ')}${plus} = ` : '';
  throw new ConfigError(`the grid is ${product}${runs.toLocaleString('en-US')} runs, above the limit of ${maxRuns.toLocaleString('en-US')}; narrow it or raise --max-runs`,
    spec.axes[0]?.pos ?? { file: spec.display });
}

export function expandPoints(spec: ExperimentSpec): Point[] {
  let grid: Override[][] = [[]];
  for (const axis of spec.axes) grid = grid.flatMap((point) => axis.rows.map((row) => [...point, ...row]));
  const kept = grid.filter((point) => !spec.exclude.some((partial) => matches(point, partial)));
  if (kept.length === 0 && spec.include.length === 0) {
    throw new ConfigError('exclude drops every point of the grid: nothing to run', spec.exclude[0]?.pos ?? { file: spec.display });
  }
  return [
    ...kept.map((overrides) => ({ overrides, origin: 'grid' as const })),
    ...spec.include.map((p) => ({ overrides: p.overrides, origin: 'include' as const })),
  ];
}

/** Keys set by any point, in first-seen order: the candidates for a run's name and params. */
export function pointKeys(points: Point[]): string[] {
  const keys = new Set<string>();
  for (const p of points) for (const o of p.overrides) keys.add(o.key);
  return [...keys];
}
