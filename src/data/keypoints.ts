/**
 * Keypoint sets: the names, skeleton, sides and flip pairs of a pose dataset, for any K. MPII's
 * 16 joints are one such set; a COCO keypoints file brings its own (category.keypoints and
 * category.skeleton). Left/right come from name prefixes (`left_`/`right_`, `l_`/`r_`, case
 * ignored), which covers COCO (`left_shoulder`), LSP and MPII (`l_shoulder`); a flip pair is a left
 * name and the right name with the same rest. Config `data.flip_pairs` ("a:b" strings) replaces
 * the derived pairs for sets named otherwise.
 */
import { DataError } from '../errors.ts';
import { MPII_FLIP_PAIRS, MPII_JOINTS } from './types.ts';

/** −1: the person's right side, +1 their left, 0 the centre line. */
export type Side = -1 | 0 | 1;

export interface KeypointSet {
  /** Short label for messages and variant names, e.g. "lsp-14", "coco-17", "mpii-16". */
  readonly label: string;
  readonly names: readonly string[];
  /** Bones as 0-based index pairs (for drawing). */
  readonly skeleton: ReadonlyArray<readonly [number, number]>;
  /** Index pairs swapped by a horizontal flip. */
  readonly flipPairs: ReadonlyArray<readonly [number, number]>;
  readonly sides: readonly Side[];
}

const PREFIXES: ReadonlyArray<readonly [RegExp, Side]> = [[/^left[_\s-]?/i, 1], [/^right[_\s-]?/i, -1], [/^l_/i, 1], [/^r_/i, -1]];

/** The side a name's prefix says and the name without it. */
export function splitSide(name: string): { side: Side; base: string } {
  for (const [re, side] of PREFIXES) if (re.test(name)) return { side, base: name.replace(re, '').toLowerCase() };
  return { side: 0, base: name.toLowerCase() };
}

/** Left/right pairs by name: every left name whose right twin exists. */
export function deriveFlipPairs(names: readonly string[]): Array<[number, number]> {
  const parts = names.map(splitSide);
  const pairs: Array<[number, number]> = [];
  parts.forEach((p, i) => {
    if (p.side !== 1) return;
    const j = parts.findIndex((q) => q.side === -1 && q.base === p.base);
    if (j >= 0) pairs.push([i, j]);
  });
  return pairs;
}

/** `["l_hip:r_hip", …]` → index pairs, with a DataError naming a bad entry. */
export function parseFlipPairs(spec: readonly string[], names: readonly string[], where: string): Array<[number, number]> {
  const used = new Set<number>();
  return spec.map((s) => {
    const [a, b, extra] = s.split(':');
    const i = names.indexOf(a ?? ''), j = names.indexOf(b ?? '');
    if (extra !== undefined || i < 0 || j < 0 || i === j) throw new DataError(`${where}: data.flip_pairs entry '${s}' must be 'name:name' with two different keypoint names of ${names.join(', ')}`);
    if (used.has(i) || used.has(j)) throw new DataError(`${where}: data.flip_pairs names a keypoint twice ('${s}')`);
    used.add(i); used.add(j);
    return [i, j] as [number, number];
  });
}

/** Index permutation of a flip: position j takes keypoint perm[j]. */
export function flipPermutation(set: KeypointSet): number[] {
  const p = set.names.map((_, j) => j);
  for (const [a, b] of set.flipPairs) { p[a] = b; p[b] = a; }
  return p;
}

export function makeKeypointSet(label: string, names: readonly string[], skeleton: ReadonlyArray<readonly [number, number]>, flipPairs?: ReadonlyArray<readonly [number, number]>): KeypointSet {
  return { label, names, skeleton, flipPairs: flipPairs ?? deriveFlipPairs(names), sides: names.map((n) => splitSide(n).side) };
}

/** MPII's bones (also drawn by previews of mpii and synthetic-pose). */
const MPII_SKELETON: ReadonlyArray<readonly [number, number]> = [
  [0, 1], [1, 2], [2, 6], [3, 6], [3, 4], [4, 5], [6, 7], [7, 8], [8, 9], [10, 11], [11, 12], [12, 7], [13, 7], [13, 14], [14, 15],
];
export const MPII_KEYPOINTS: KeypointSet = makeKeypointSet('mpii-16', MPII_JOINTS, MPII_SKELETON, MPII_FLIP_PAIRS);

/** LSP's 14 joints in LSP order (Johnson & Everingham; also the order of the lspet copy). */
export const LSP_JOINTS = ['r_ankle', 'r_knee', 'r_hip', 'l_hip', 'l_knee', 'l_ankle', 'r_wrist', 'r_elbow', 'r_shoulder', 'l_shoulder', 'l_elbow', 'l_wrist', 'neck', 'head_top'] as const;

/** Index of a keypoint by side and base name (`left`, `shoulder` matches l_shoulder and left_shoulder), or −1. */
export function findKeypoint(set: KeypointSet, side: Side, base: string): number {
  return set.names.findIndex((n) => { const p = splitSide(n); return p.side === side && p.base === base; });
}

/** First index whose (side-free) name is one of `bases`, or −1. */
export function findCentre(set: KeypointSet, bases: readonly string[]): number {
  for (const b of bases) {
    const i = set.names.findIndex((n) => { const p = splitSide(n); return p.side === 0 && p.base === b; });
    if (i >= 0) return i;
  }
  return -1;
}
