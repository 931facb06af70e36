/**
 * MPII annotation files → validated records. Two public layouts are read:
 *
 * - HRNet (leoxiaobin/deep-high-resolution-net.pytorch, "Data preparation"):
 *   `<root>/annot/train.json`, `<root>/annot/valid.json`, records
 *   `{image, center: [x, y], scale, joints: [[x, y] ×16], joints_vis: [0|1 ×16]}`. joints_vis is
 *   1 for every *labelled* joint, occluded ones included (leoxiaobin in
 *   microsoft/human-pose-estimation.pytorch#7), i.e. exactly what PCKh counts.
 * - bearpaw (bearpaw/pytorch-pose `data/mpii/mpii_annotations.json`, written by
 *   `miscs/gen_mpii.m`): one list, records `{isValidation, img_paths, objpos: [x, y],
 *   scale_provided, joint_self: [[x, y, is_visible] ×16], …}`; unlabelled joints are zero-padded,
 *   so "labelled" = not (0, 0); is_visible (occlusion) is not used, as bearpaw's loader does.
 *
 * Both hold MATLAB 1-based pixel coordinates; records here are 0-based (x − 1, as HRNet's loader
 * does), the convention of PoseBatch.joints and of toOriginal. Neither file has head boxes, which
 * PCKh needs: they come from a companion JSON (see HEAD_BOX_FILES) or a `head_box` field per record.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../../errors.ts';
import { NUM_JOINTS, type Split } from '../types.ts';

export interface MpiiRecord {
  /** Annotation file and record index in it, for messages. */
  file: string;
  index: number;
  /** Rank of the record among its split's records in the file (the index into head-box files). */
  ordinal: number;
  /** Image file name relative to `<root>/images/`. */
  image: string;
  /** Person centre and scale as annotated (0-based, before the +15·s / ×1.25 adjustment). */
  center: [number, number];
  scale: number;
  /** [16, 2] 0-based joint positions; entries of unlabelled joints are meaningless. */
  joints: Float64Array;
  /** [16] 1 = labelled (counts for the loss weight and for PCKh). */
  labelled: Uint8Array;
  /** x1, y1, x2, y2 (0-based) or null when unknown. */
  headBox: [number, number, number, number] | null;
}

export interface BadRecord {
  file: string;
  index: number;
  message: string;
}

export type MpiiFormat = 'hrnet' | 'bearpaw';

/**
 * Companion head-box files, one entry per record of the split in annotation-file order, each
 * `[[x1,y1],[x2,y2]]` or `[x1,y1,x2,y2]` (MPII 1-based, like the annotations). For HRNet's
 * layout, `annot/gt_valid.mat` holds them as `headboxes_src` (2×2×N); convert once with
 *   python -c "import json,scipy.io as s; h=s.loadmat('annot/gt_valid.mat')['headboxes_src'];
 *   json.dump([[[float(h[0,0,i]),float(h[0,1,i])],[float(h[1,0,i]),float(h[1,1,i])]] for i in
 *   range(h.shape[2])], open('annot/head_boxes_valid.json','w'))"
 * For bearpaw's layout take `annorect(people_index).x1/y1/x2/y2` of `annolist(annolist_index)` in
 * the official `mpii_human_pose_v1_u12_1.mat`.
 */
export const HEAD_BOX_FILES: Record<MpiiFormat, Record<Split, string>> = {
  hrnet: { train: 'annot/head_boxes_train.json', val: 'annot/head_boxes_valid.json' },
  bearpaw: { train: 'head_boxes_train.json', val: 'head_boxes_valid.json' },
};

const exists = (p: string) => access(p).then(() => true, () => false);

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new DataError(`mpii: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DataError(`mpii: ${file} is not valid JSON (${(err as Error).message})`);
  }
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

class RecordProblem extends Error {}
const problem = (message: string): never => { throw new RecordProblem(message); };

function point(value: unknown, what: string, length: 2 | 3 = 2): number[] {
  if (!Array.isArray(value) || value.length < 2 || value.length > length) problem(`${what} is not an [x, y${length === 3 ? ', v' : ''}] array`);
  const v = value as unknown[];
  if (!isNum(v[0]) || !isNum(v[1])) problem(`${what} has a non-numeric or NaN value ${JSON.stringify(value)}`);
  return v as number[];
}

function headBox(value: unknown, what: string): [number, number, number, number] {
  const flat = Array.isArray(value) && value.length === 2 ? [...point(value[0], what), ...point(value[1], what)] : value;
  if (!Array.isArray(flat) || flat.length !== 4 || !flat.every(isNum)) problem(`${what} is not [[x1,y1],[x2,y2]] with numbers`);
  const [x1, y1, x2, y2] = flat as number[];
  if (!(Math.hypot(x2 - x1, y2 - y1) > 0)) problem(`${what} is degenerate (zero diagonal)`);
  return [x1 - 1, y1 - 1, x2 - 1, y2 - 1];
}

function common(r: Record<string, unknown>, image: unknown, center: unknown, scale: unknown) {
  if (typeof image !== 'string' || image.length === 0) problem('image name is missing');
  const c = point(center, 'center');
  if (c[0] === -1 && c[1] === -1) problem('no person centre (-1, -1)');
  if (!isNum(scale) || scale <= 0) problem(`scale ${JSON.stringify(scale)} is not a positive number`);
  return { image: image as string, center: [c[0] - 1, c[1] - 1] as [number, number], scale: scale as number, headBox: r.head_box === undefined ? null : headBox(r.head_box, 'head_box') };
}

/** One HRNet record, or a RecordProblem. */
function hrnetRecord(r: Record<string, unknown>, file: string, index: number): MpiiRecord {
  const base = common(r, r.image, r.center, r.scale);
  const joints = r.joints, vis = r.joints_vis;
  if (!Array.isArray(joints) || joints.length !== NUM_JOINTS) problem(`joints must be ${NUM_JOINTS} [x, y] pairs`);
  if (!Array.isArray(vis) || vis.length !== NUM_JOINTS) problem(`joints_vis must have ${NUM_JOINTS} entries`);
  const out = new Float64Array(NUM_JOINTS * 2), labelled = new Uint8Array(NUM_JOINTS);
  for (let j = 0; j < NUM_JOINTS; j++) {
    const [x, y] = point((joints as unknown[])[j], `joint ${j}`);
    out[2 * j] = x - 1; out[2 * j + 1] = y - 1;
    const v = (vis as unknown[])[j];
    if (v !== 0 && v !== 1) problem(`joints_vis[${j}] is ${JSON.stringify(v)}, expected 0 or 1`);
    labelled[j] = v as number;
  }
  return { file, index, ordinal: index, ...base, joints: out, labelled };
}

/** One bearpaw record, or a RecordProblem. */
function bearpawRecord(r: Record<string, unknown>, file: string, index: number): MpiiRecord {
  const base = common(r, r.img_paths, r.objpos, r.scale_provided);
  const joints = r.joint_self;
  if (!Array.isArray(joints) || joints.length !== NUM_JOINTS) problem(`joint_self must be ${NUM_JOINTS} [x, y, v] triples`);
  const out = new Float64Array(NUM_JOINTS * 2), labelled = new Uint8Array(NUM_JOINTS);
  for (let j = 0; j < NUM_JOINTS; j++) {
    const [x, y] = point((joints as unknown[])[j], `joint_self ${j}`, 3);
    labelled[j] = x === 0 && y === 0 ? 0 : 1;
    out[2 * j] = x - 1; out[2 * j + 1] = y - 1;
  }
  return { file, index, ordinal: index, ...base, joints: out, labelled };
}

export interface ParsedSplit {
  records: MpiiRecord[];
  bad: BadRecord[];
}

/** Validates records; a bad one is a DataError naming it, or is collected when `skipBad`. */
function parseAll(list: Array<{ raw: unknown; index: number }>, file: string, parse: typeof hrnetRecord, skipBad: boolean): ParsedSplit {
  const out: ParsedSplit = { records: [], bad: [] };
  for (const { raw, index } of list) {
    try {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) problem('not an object');
      out.records.push(parse(raw as Record<string, unknown>, file, index));
    } catch (err) {
      if (!(err instanceof RecordProblem)) throw err;
      if (!skipBad) throw new DataError(`mpii: ${file} record ${index}: ${err.message} (set data.skip_bad_records to skip such records)`);
      out.bad.push({ file, index, message: err.message });
    }
  }
  return out;
}

/** Applies a companion head-box file (if present) to the records of one split, by record index. */
async function attachHeadBoxes(root: string, format: MpiiFormat, split: Split, records: MpiiRecord[], total: number): Promise<void> {
  const rel = HEAD_BOX_FILES[format][split];
  const file = join(root, rel);
  if (!(await exists(file))) return;
  const boxes = await readJson(file);
  if (!Array.isArray(boxes)) throw new DataError(`mpii: ${file} must be a JSON array of head boxes`);
  if (boxes.length !== total) throw new DataError(`mpii: ${file} has ${boxes.length} head boxes for ${total} ${split} records`);
  for (const r of records) {
    try {
      r.headBox = headBox(boxes[r.ordinal], 'head box');
    } catch (err) {
      throw new DataError(`mpii: ${file} entry ${r.ordinal}: ${(err as Error).message}`);
    }
  }
}

export interface MpiiAnnotations {
  format: MpiiFormat;
  train: MpiiRecord[];
  val: MpiiRecord[];
  bad: BadRecord[];
}

/** Reads `<root>`'s annotations in whichever layout it has. */
export async function loadMpiiAnnotations(root: string, skipBad: boolean): Promise<MpiiAnnotations> {
  const hrnet = { train: join(root, 'annot/train.json'), val: join(root, 'annot/valid.json') };
  const bearpaw = join(root, 'mpii_annotations.json');
  const out: MpiiAnnotations = { format: 'hrnet', train: [], val: [], bad: [] };
  if ((await exists(hrnet.train)) || (await exists(hrnet.val))) {
    for (const split of ['train', 'val'] as const) {
      const json = await readJson(hrnet[split]);
      if (!Array.isArray(json)) throw new DataError(`mpii: ${hrnet[split]} must be a JSON array of records`);
      const parsed = parseAll(json.map((raw, index) => ({ raw, index })), hrnet[split], hrnetRecord, skipBad);
      await attachHeadBoxes(root, 'hrnet', split, parsed.records, json.length);
      out[split] = parsed.records;
      out.bad.push(...parsed.bad);
    }
    return out;
  }
  if (await exists(bearpaw)) {
    out.format = 'bearpaw';
    const json = await readJson(bearpaw);
    if (!Array.isArray(json)) throw new DataError(`mpii: ${bearpaw} must be a JSON array of records`);
    for (const split of ['train', 'val'] as const) {
      // Head-box files count records of their split only, so remember each one's rank in it.
      const list = json.map((raw, index) => ({ raw, index }))
        .filter(({ raw }) => Boolean((raw as Record<string, unknown> | null)?.isValidation) === (split === 'val'));
      const parsed = parseAll(list, bearpaw, bearpawRecord, skipBad);
      const rank = new Map(list.map(({ index }, i) => [index, i]));
      parsed.records.forEach((r) => { r.ordinal = rank.get(r.index)!; });
      await attachHeadBoxes(root, 'bearpaw', split, parsed.records, list.length);
      out[split] = parsed.records;
      out.bad.push(...parsed.bad);
    }
    return out;
  }
  throw new DataError(`mpii: no annotations under ${root}: expected annot/train.json + annot/valid.json (HRNet) or mpii_annotations.json (bearpaw)`);
}
