/**
 * Reading and printing for `bnn-ablate pckh`: ground-truth / prediction JSON files into the flat
 * PckhInput, with one-line DataErrors that name the file and the record, and the table / JSON
 * output. Coordinates are compared exactly as given: both files must use the same convention
 * (MPII's own annotations and HRNet's valid.json are 1-based; HRNet adds 1 to its 0-based
 * predictions before scoring, so do the same if your predictions are 0-based).
 */
import { readFile } from 'node:fs/promises';
import { DataError } from '../errors.ts';
import { MPII_JOINTS, NUM_JOINTS } from '../data/types.ts';
import { PCKH_COLUMNS, type PckhInput, type PckhResult } from './pckh.ts';

/** Reads and parses a JSON file, turning every failure into a DataError naming it. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(`${file}: cannot read (${code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // JSON.parse quotes the offending text, which for a binary file spans lines: keep one line.
    const why = (err as Error).message.replace(/\s+/g, ' ').replace(/[^\x20-\x7e]/g, '?').slice(0, 160);
    throw new DataError(`${file}: invalid JSON (${why})`);
  }
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** `[[x1,y1],[x2,y2]]` or `[x1,y1,x2,y2]` → [x1,y1,x2,y2], or undefined if neither shape. */
export function parseHeadBox(value: unknown): [number, number, number, number] | undefined {
  if (Array.isArray(value) && value.length === 4 && value.every(isNum)) return value as [number, number, number, number];
  if (Array.isArray(value) && value.length === 2 && value.every((p) => Array.isArray(p) && p.length === 2 && p.every(isNum))) {
    const [[x1, y1], [x2, y2]] = value as number[][];
    return [x1, y1, x2, y2];
  }
  return undefined;
}

function fail(file: string, index: number, what: string): never {
  throw new DataError(`${file}: record ${index}: ${what}`);
}

/** Writes 16 (x, y) pairs of `value` into `out` at sample `index`, checking shape and numbers. */
function readJoints(value: unknown, out: Float64Array, index: number, file: string): void {
  if (!Array.isArray(value)) fail(file, index, 'joints is missing or not an array');
  if (value.length !== NUM_JOINTS) fail(file, index, `joints has ${value.length} entries, expected ${NUM_JOINTS}`);
  value.forEach((p: unknown, j: number) => {
    if (!Array.isArray(p) || p.length !== 2) fail(file, index, `joint ${j} (${MPII_JOINTS[j]}) is not an [x, y] pair`);
    if (!isNum(p[0]) || !isNum(p[1])) fail(file, index, `joint ${j} (${MPII_JOINTS[j]}) has a non-numeric value ${JSON.stringify(p)}`);
    out[(index * NUM_JOINTS + j) * 2] = p[0];
    out[(index * NUM_JOINTS + j) * 2 + 1] = p[1];
  });
}

export interface GroundTruth {
  n: number;
  gt: Float64Array;
  visible: Uint8Array;
  headBoxes: Float64Array;
}

/**
 * Ground truth: an array of `{joints: [[x,y]×16], joints_vis: [0|1 ×16], head_box}` where
 * head_box is `[[x1,y1],[x2,y2]]` (or `[x1,y1,x2,y2]`). HRNet's `annot/valid.json` records
 * (image, center, scale, joints, joints_vis; no head box) are accepted together with a
 * companion head-box array in the same order (`headBoxes`, see parseHeadBoxFile), which then
 * takes precedence over any head_box in the records.
 */
export function parseGroundTruth(json: unknown, file: string, headBoxes?: { boxes: number[][]; file: string }): GroundTruth {
  if (!Array.isArray(json)) throw new DataError(`${file}: expected a JSON array of annotation records`);
  const n = json.length;
  if (headBoxes && headBoxes.boxes.length !== n) {
    throw new DataError(`${headBoxes.file}: has ${headBoxes.boxes.length} head boxes but ${file} has ${n} records`);
  }
  const out: GroundTruth = { n, gt: new Float64Array(n * NUM_JOINTS * 2), visible: new Uint8Array(n * NUM_JOINTS), headBoxes: new Float64Array(n * 4) };
  json.forEach((record: unknown, i: number) => {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) fail(file, i, 'not an object');
    const r = record as Record<string, unknown>;
    readJoints(r.joints, out.gt, i, file);
    const vis = r.joints_vis;
    if (!Array.isArray(vis)) fail(file, i, 'joints_vis is missing or not an array');
    if (vis.length !== NUM_JOINTS) fail(file, i, `joints_vis has ${vis.length} entries, expected ${NUM_JOINTS}`);
    vis.forEach((v: unknown, j: number) => {
      if (v !== 0 && v !== 1) fail(file, i, `joints_vis[${j}] is ${JSON.stringify(v)}, expected 0 or 1`);
      out.visible[i * NUM_JOINTS + j] = v;
    });
    let box: number[] | undefined;
    if (headBoxes) {
      box = headBoxes.boxes[i];
    } else {
      if (r.head_box === undefined) fail(file, i, 'no head_box (for HRNet valid.json records pass --head-boxes)');
      box = parseHeadBox(r.head_box);
      if (!box) fail(file, i, `head_box ${JSON.stringify(r.head_box)} is not [[x1,y1],[x2,y2]] with numbers`);
    }
    const [x1, y1, x2, y2] = box;
    if (!(Math.hypot(x2 - x1, y2 - y1) > 0)) {
      const where = headBoxes ? `${headBoxes.file}: record ${i}` : `${file}: record ${i}`;
      throw new DataError(`${where}: degenerate head box [[${x1}, ${y1}], [${x2}, ${y2}]] (zero diagonal)`);
    }
    out.headBoxes.set(box, i * 4);
  });
  return out;
}

/**
 * A companion head-box file: a JSON array, one entry per annotation record in the same order,
 * each `[[x1,y1],[x2,y2]]`, `[x1,y1,x2,y2]` or `{head_box: …}`. For HRNet's data this is
 * `headboxes_src` of `annot/gt_valid.mat`, converted once with scipy (see docs in src/data/mpii).
 */
export function parseHeadBoxFile(json: unknown, file: string): number[][] {
  if (!Array.isArray(json)) throw new DataError(`${file}: expected a JSON array of head boxes`);
  return json.map((entry: unknown, i: number) => {
    const value = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>).head_box : entry;
    const box = parseHeadBox(value);
    if (!box) fail(file, i, `head box ${JSON.stringify(value)} is not [[x1,y1],[x2,y2]] with numbers`);
    return box;
  });
}

/** Predictions: an array of `{joints: [[x,y]×16]}` (a bare `[[x,y]×16]` per record is accepted too). */
export function parsePredictions(json: unknown, file: string): Float64Array {
  if (!Array.isArray(json)) throw new DataError(`${file}: expected a JSON array of prediction records`);
  const out = new Float64Array(json.length * NUM_JOINTS * 2);
  json.forEach((record: unknown, i: number) => {
    const joints = Array.isArray(record) ? record
      : typeof record === 'object' && record !== null ? (record as Record<string, unknown>).joints : undefined;
    readJoints(joints, out, i, file);
  });
  return out;
}

export interface PckhFiles {
  pred: string;
  gt: string;
  headBoxes?: string;
}

/** Loads and cross-checks the files of one `pckh` invocation. */
export async function loadPckhFiles(files: PckhFiles): Promise<PckhInput & { n: number }> {
  const [predJson, gtJson, boxJson] = await Promise.all([
    readJsonFile(files.pred), readJsonFile(files.gt), files.headBoxes ? readJsonFile(files.headBoxes) : undefined,
  ]);
  const boxes = files.headBoxes ? { boxes: parseHeadBoxFile(boxJson, files.headBoxes), file: files.headBoxes } : undefined;
  const gt = parseGroundTruth(gtJson, files.gt, boxes);
  const pred = parsePredictions(predJson, files.pred);
  const np = pred.length / (NUM_JOINTS * 2);
  if (np !== gt.n) throw new DataError(`${files.pred}: has ${np} records but ${files.gt} has ${gt.n} (they must be in the same order)`);
  if (gt.n === 0) throw new DataError(`${files.gt}: no records`);
  return { n: gt.n, pred, gt: gt.gt, visible: gt.visible, headBoxes: gt.headBoxes };
}

/** The `--json` document; NaN (never-visible joints) becomes null. */
export function pckhJson(result: PckhResult): Record<string, unknown> {
  const num = (v: number) => (Number.isNaN(v) ? null : v);
  return {
    variant: result.variant,
    mean: result.mean,
    comparison: result.comparison === 'le' ? '<=' : '<',
    threshold: result.threshold,
    samples: result.samples,
    joints: Object.fromEntries(Object.entries(result.joints).map(([k, v]) => [k, num(v)])),
    columns: Object.fromEntries(PCKH_COLUMNS.map((c) => [c, num(result.columns[c])])),
    visible: Object.fromEntries(MPII_JOINTS.map((name, j) => [name, result.counts.visible[j]])),
  };
}

/** The printed table: summary columns, then per-joint values with their visible counts. */
export function formatPckhTable(result: PckhResult): string {
  const cell = (v: number) => (Number.isNaN(v) ? 'n/a' : v.toFixed(2));
  const width = 9;
  const lines = [
    `PCKh@${result.threshold} (%), ${result.variant}, ${result.samples} samples`,
    PCKH_COLUMNS.map((c) => c.padStart(width)).join(''),
    PCKH_COLUMNS.map((c) => cell(result.columns[c]).padStart(width)).join(''),
    '',
    `${'joint'.padEnd(12)}${'PCKh'.padStart(8)}${'visible'.padStart(9)}`,
    ...MPII_JOINTS.map((name, j) => `${name.padEnd(12)}${cell(result.joints[name]).padStart(8)}${String(result.counts.visible[j]).padStart(9)}`),
  ];
  return `${lines.join('\n')}\n`;
}
