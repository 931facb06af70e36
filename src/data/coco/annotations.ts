/**
 * COCO keypoints files → validated person records. The format (cocodataset.org/#format-data,
 * "Keypoint Detection"): `images: [{id, file_name, width, height}]`, `categories: [{id, name,
 * keypoints: [K names], skeleton: [[a, b] 1-based]}]`, `annotations: [{id, image_id, category_id,
 * keypoints: [x, y, v] ×K, bbox: [x, y, w, h], iscrowd, num_keypoints}]`; v = 0 not labelled
 * (x = y = 0), 1 labelled but not visible, 2 labelled and visible. mmpose, LSPET's copy and most
 * keypoint tools write this layout.
 *
 * One record per person annotation of the keypoint category. Crowd regions (iscrowd = 1) and
 * persons with no labelled keypoint are left out (they train nothing; mmpose's top-down COCO
 * loader drops them too) and counted, not treated as bad. Everything else that is wrong is a
 * DataError naming the file and the annotation index, or a counted skip with data.skip_bad_records.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DataError } from '../../errors.ts';
import { readJsonFile } from '../../metrics/pckh-io.ts';
import type { BadRecord } from '../mpii/annotations.ts';

export interface CocoCategory {
  id: number;
  names: string[];
  /** 0-based bone pairs. */
  skeleton: Array<[number, number]>;
}

export interface CocoRecord {
  /** Annotation file and annotation index in it, for messages. */
  file: string;
  index: number;
  annotationId: number | null;
  imageId: number;
  /** Image file name relative to the image folder. */
  image: string;
  /** Image size from the `images` entry, when it gives one. */
  imageWidth?: number;
  imageHeight?: number;
  /** x, y, w, h in image pixels. */
  bbox: [number, number, number, number];
  /** [K, 2] keypoint (x, y); meaningless where v = 0. */
  joints: Float64Array;
  /** [K] COCO v: 0 not labelled, 1 labelled hidden, 2 labelled visible. */
  v: Uint8Array;
}

export interface CocoFile {
  file: string;
  category: CocoCategory;
  records: CocoRecord[];
  bad: BadRecord[];
  /** Crowd annotations and persons without a labelled keypoint, left out. */
  filtered: number;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class RecordProblem extends Error {}
const problem = (message: string): never => { throw new RecordProblem(message); };

/** The (single) category that has keypoints. */
export function keypointCategory(json: Record<string, unknown>, file: string): CocoCategory {
  const cats = json.categories;
  if (!Array.isArray(cats)) throw new DataError(`${file}: 'categories' is missing or not an array`);
  const withKp = cats.filter((c) => isObj(c) && Array.isArray(c.keypoints) && c.keypoints.length > 0) as Array<Record<string, unknown>>;
  if (withKp.length === 0) throw new DataError(`${file}: no category has a 'keypoints' list`);
  if (withKp.length > 1) throw new DataError(`${file}: ${withKp.length} categories have keypoints; this loader reads files with one`);
  const c = withKp[0]!;
  if (!isNum(c.id)) throw new DataError(`${file}: category '${String(c.name)}' has no numeric id`);
  const names = c.keypoints as unknown[];
  if (!names.every((n) => typeof n === 'string' && n.length > 0) || new Set(names).size !== names.length) {
    throw new DataError(`${file}: category ${c.id} keypoints must be distinct non-empty names`);
  }
  const K = names.length;
  const skeleton: Array<[number, number]> = [];
  const sk = c.skeleton ?? [];
  if (!Array.isArray(sk)) throw new DataError(`${file}: category ${c.id} skeleton is not an array`);
  sk.forEach((b: unknown, i: number) => {
    if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => Number.isInteger(x) && x >= 1 && x <= K)) {
      throw new DataError(`${file}: category ${c.id} skeleton entry ${i} ${JSON.stringify(b)} is not a pair of 1-based keypoint numbers in 1..${K}`);
    }
    skeleton.push([b[0] - 1, b[1] - 1]);
  });
  return { id: c.id as number, names: names as string[], skeleton };
}

interface ImageEntry {
  name: string;
  width?: number;
  height?: number;
}

function imageTable(json: Record<string, unknown>, file: string): Map<number, ImageEntry> {
  const images = json.images;
  if (!Array.isArray(images)) throw new DataError(`${file}: 'images' is missing or not an array`);
  const out = new Map<number, ImageEntry>();
  images.forEach((im: unknown, i: number) => {
    if (!isObj(im) || !isNum(im.id) || typeof im.file_name !== 'string' || !im.file_name) throw new DataError(`${file}: images[${i}] needs a numeric id and a file_name`);
    const sized = Number.isInteger(im.width) && Number.isInteger(im.height) && (im.width as number) > 0 && (im.height as number) > 0;
    out.set(im.id, { name: im.file_name, ...(sized ? { width: im.width as number, height: im.height as number } : {}) });
  });
  return out;
}

/** One annotation → record, null when filtered, or a RecordProblem. */
function parseAnnotation(a: unknown, index: number, file: string, cat: CocoCategory, images: Map<number, ImageEntry>): CocoRecord | null {
  if (!isObj(a)) problem('not an object');
  const r = a as Record<string, unknown>;
  if (r.category_id !== cat.id) return null; // another category: not a person of this set
  if (r.iscrowd === 1) return null;
  if (!isNum(r.image_id)) problem("'image_id' is missing or not a number");
  const entry = images.get(r.image_id as number) ?? problem(`image_id ${r.image_id} is not in 'images'`);
  const kp = r.keypoints;
  const K = cat.names.length;
  if (!Array.isArray(kp)) problem("'keypoints' is missing or not an array");
  if ((kp as unknown[]).length !== 3 * K) problem(`'keypoints' has ${(kp as unknown[]).length} values, the category's ${K} keypoints need ${3 * K}`);
  const bbox = r.bbox;
  if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every(isNum)) problem("'bbox' is missing or not [x, y, w, h] numbers");
  const [bx, by, bw, bh] = bbox as number[];
  if (!(bw! > 0 && bh! > 0)) problem(`'bbox' [${(bbox as number[]).join(', ')}] has no area`);
  const joints = new Float64Array(2 * K), v = new Uint8Array(K);
  for (let j = 0; j < K; j++) {
    const [x, y, vis] = [(kp as unknown[])[3 * j], (kp as unknown[])[3 * j + 1], (kp as unknown[])[3 * j + 2]];
    if (!isNum(x) || !isNum(y)) problem(`keypoint ${j} (${cat.names[j]}) has a non-numeric coordinate`);
    if (vis !== 0 && vis !== 1 && vis !== 2) problem(`keypoint ${j} (${cat.names[j]}) has v = ${JSON.stringify(vis)}, expected 0, 1 or 2`);
    joints[2 * j] = x as number; joints[2 * j + 1] = y as number; v[j] = vis as number;
  }
  if (!v.some((x) => x > 0)) return null;
  return { file, index, annotationId: isNum(r.id) ? r.id : null, imageId: r.image_id as number, image: entry.name, imageWidth: entry.width, imageHeight: entry.height, bbox: [bx!, by!, bw!, bh!], joints, v };
}

/** Parses one COCO keypoints file. */
export async function loadCocoFile(file: string, skipBad: boolean): Promise<CocoFile> {
  const json = await readJsonFile(file);
  if (!isObj(json)) throw new DataError(`${file}: expected a COCO object with images, annotations and categories`);
  const category = keypointCategory(json, file);
  const images = imageTable(json, file);
  const anns = json.annotations;
  if (!Array.isArray(anns)) throw new DataError(`${file}: 'annotations' is missing or not an array`);
  const out: CocoFile = { file, category, records: [], bad: [], filtered: 0 };
  anns.forEach((a: unknown, index: number) => {
    try {
      const rec = parseAnnotation(a, index, file, category, images);
      if (rec) out.records.push(rec); else out.filtered++;
    } catch (err) {
      if (!(err instanceof RecordProblem)) throw err;
      if (!skipBad) throw new DataError(`${file}: annotation ${index}: ${err.message} (set data.skip_bad_records to skip such records)`);
      out.bad.push({ file, index, message: err.message });
    }
  });
  return out;
}

/**
 * `pattern` relative to `root`, with `*` allowed in the last path part only (e.g.
 * `annotations/*_train.json`): the one file it matches, a DataError when none or several match.
 */
export async function resolvePattern(root: string, pattern: string, key: string): Promise<string> {
  const full = join(root, pattern);
  const name = basename(full);
  if (!name.includes('*')) return full;
  if (dirname(pattern).includes('*')) throw new DataError(`${key}: '${pattern}': '*' is allowed in the file name only`);
  const dir = dirname(full);
  const re = new RegExp(`^${name.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    throw new DataError(`${key}: cannot list ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const hits = entries.filter((e) => re.test(e)).sort();
  if (hits.length === 0) throw new DataError(`${key}: no file matches ${full}`);
  if (hits.length > 1) throw new DataError(`${key}: ${hits.length} files match ${full} (${hits.slice(0, 3).join(', ')}); name one`);
  return join(dir, hits[0]!);
}
