/**
 * Reading and printing for `bnn-ablate pck`: a COCO keypoints ground-truth file and a COCO results
 * file (`[{image_id, category_id, keypoints: [x, y, score] ×K, score}]`, the format COCO's own
 * evaluation and mmpose write) into the flat PckInput, then the table or JSON.
 *
 * Matching predictions to persons: per image, every (person, prediction) pair of the keypoint
 * category gets the mean distance over the person's labelled keypoints divided by its longer bbox
 * side; pairs are taken greedily, smallest first, each person and prediction at most once (one
 * person per image, as LSP, needs none of this). A person with no prediction left scores a miss on
 * every labelled joint; predictions left over are counted and ignored. Coordinates are compared as
 * given (both files in the same pixel convention).
 */
import { DataError } from '../errors.ts';
import { loadCocoFile, type CocoRecord } from '../data/coco/annotations.ts';
import { makeKeypointSet, type KeypointSet } from '../data/keypoints.ts';
import { readJsonFile } from './pckh-io.ts';
import type { PckInput, PckResult } from './pck.ts';

export interface PckFiles {
  set: KeypointSet;
  input: PckInput;
  /** Persons without any prediction; predictions matched to no person. */
  unmatchedPersons: number;
  unusedPredictions: number;
}

interface Prediction {
  index: number;
  xy: Float64Array;
}

function readPredictions(json: unknown, file: string, categoryId: number, K: number): Map<number, Prediction[]> {
  if (!Array.isArray(json)) throw new DataError(`${file}: expected a COCO results array [{image_id, category_id, keypoints, score}]`);
  const out = new Map<number, Prediction[]>();
  json.forEach((r: unknown, index: number) => {
    const rec = r as Record<string, unknown> | null;
    if (typeof rec !== 'object' || rec === null) throw new DataError(`${file}: record ${index}: not an object`);
    if (typeof rec.image_id !== 'number') throw new DataError(`${file}: record ${index}: 'image_id' is missing or not a number`);
    if (rec.category_id !== undefined && rec.category_id !== categoryId) return;
    const kp = rec.keypoints;
    if (!Array.isArray(kp) || kp.length !== 3 * K) throw new DataError(`${file}: record ${index}: 'keypoints' must hold ${3 * K} numbers (x, y, score for ${K} keypoints), got ${Array.isArray(kp) ? kp.length : typeof kp}`);
    const xy = new Float64Array(2 * K);
    for (let j = 0; j < K; j++) {
      const x = kp[3 * j], y = kp[3 * j + 1];
      // null / NaN coordinates are allowed and score as misses.
      xy[2 * j] = typeof x === 'number' ? x : Number.NaN;
      xy[2 * j + 1] = typeof y === 'number' ? y : Number.NaN;
    }
    out.set(rec.image_id, [...(out.get(rec.image_id) ?? []), { index, xy }]);
  });
  return out;
}

/** Mean labelled-keypoint distance over the longer bbox side (the matching cost). */
function cost(p: CocoRecord, q: Prediction): number {
  let sum = 0, n = 0;
  for (let j = 0; j < p.v.length; j++) {
    if (!p.v[j]) continue;
    const d = Math.hypot(q.xy[2 * j]! - p.joints[2 * j]!, q.xy[2 * j + 1]! - p.joints[2 * j + 1]!);
    sum += Number.isFinite(d) ? d : 1e12;
    n++;
  }
  return sum / Math.max(1, n) / Math.max(p.bbox[2], p.bbox[3]);
}

export async function loadPckFiles(gtFile: string, predFile: string): Promise<PckFiles> {
  const gt = await loadCocoFile(gtFile, false);
  const K = gt.category.names.length;
  const set = makeKeypointSet(K === 14 ? 'lsp-14' : K === 17 ? 'coco-17' : `${K}-keypoint`, gt.category.names, gt.category.skeleton);
  const preds = readPredictions(await readJsonFile(predFile), predFile, gt.category.id, K);
  const persons = gt.records, n = persons.length;
  const input = { pred: new Float64Array(n * K * 2).fill(Number.NaN), gt: new Float64Array(n * K * 2), visible: new Uint8Array(n * K), bboxes: new Float64Array(n * 4) };
  const byImage = new Map<number, number[]>();
  persons.forEach((p, i) => {
    input.gt.set(p.joints, i * K * 2);
    p.v.forEach((v, j) => { input.visible[i * K + j] = v > 0 ? 1 : 0; });
    input.bboxes.set(p.bbox, i * 4);
    byImage.set(p.imageId, [...(byImage.get(p.imageId) ?? []), i]);
  });
  let matched = 0, total = 0;
  for (const list of preds.values()) total += list.length;
  for (const [imageId, ids] of byImage) {
    const cands = preds.get(imageId) ?? [];
    const pairs = ids.flatMap((i) => cands.map((q, c) => ({ i, c, cost: cost(persons[i]!, q) }))).sort((a, b) => a.cost - b.cost || a.i - b.i || a.c - b.c);
    const usedP = new Set<number>(), usedQ = new Set<number>();
    for (const { i, c } of pairs) {
      if (usedP.has(i) || usedQ.has(c)) continue;
      usedP.add(i); usedQ.add(c);
      input.pred.set(cands[c]!.xy, i * K * 2);
      matched++;
    }
  }
  return { set, input, unmatchedPersons: n - matched, unusedPredictions: total - matched };
}

const cell = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');

export function pckJson(r: PckResult, files?: Pick<PckFiles, 'unmatchedPersons' | 'unusedPredictions'>) {
  const nul = (v: number) => (Number.isFinite(v) ? v : null);
  return {
    variant: r.variant, normalizer: r.normalizer, alpha: r.alpha,
    persons: r.samples, scored: r.scored, left_out: r.leftOut,
    ...(files ? { unmatched_persons: files.unmatchedPersons, unused_predictions: files.unusedPredictions } : {}),
    joints: Object.fromEntries(Object.entries(r.joints).map(([k, v]) => [k, nul(v)])),
    columns: Object.fromEntries(Object.entries(r.columns).map(([k, v]) => [k, nul(v)])),
    mean: nul(r.columns.Mean!),
  };
}

export function formatPckTable(r: PckResult, files?: Pick<PckFiles, 'unmatchedPersons' | 'unusedPredictions'>): string {
  const cols = Object.keys(r.columns);
  const lines = [
    r.variant,
    `persons: ${r.samples}, scored ${r.scored}, left out ${r.leftOut} (reference keypoints not labelled)${files ? `; ${files.unmatchedPersons} without a prediction, ${files.unusedPredictions} predictions unmatched` : ''}`,
    cols.map((c) => c.padStart(9)).join(''),
    cols.map((c) => cell(r.columns[c]!).padStart(9)).join(''),
  ];
  return `${lines.join('\n')}\n`;
}
