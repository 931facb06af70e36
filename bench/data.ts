/**
 * Loader throughput, images per second, heatmaps included:
 *
 * - synthetic-pose: the generator on one core (this process's main thread), after a warm-up.
 * - real sets under data/ (`bnn-ablate data unpack ../shared/data` makes them; each is skipped with
 *   a note when absent): coco-keypoints on LSPET's 9,000 training crops, image-folder (padded crop)
 *   on CIFAR-10's 50,000 JPEGs, fashion-mnist's 60,000 IDX images. For each, the first epoch
 *   (annotation parsing and header checks at open, then JPEG decoding into the cache) and the
 *   cached epochs after it.
 *
 *   node --import tsx bench/data.ts [--size 64] [--heatmap 16] [--images 4000] [--batch 32] [--only synthetic,lspet,cifar10,fashion-mnist]
 *
 * On a shared machine other processes steal wall-clock time, so the rate per CPU-second of this
 * process (user + system, all its threads: sharp decodes in libuv's pool) is printed too: that is
 * what the machine would deliver uncontended, spread over its cores.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SyntheticPoseDataset } from '../src/data/synthetic-pose.ts';
import { defaultConfig } from '../src/config/schema.ts';
import type { Dataset } from '../src/data/types.ts';

export interface Round {
  /** Images per wall-clock second. */
  wall: number;
  /** Images per CPU-second of this process. */
  cpu: number;
}

export async function benchSyntheticPose(size: number, heatmap: number, images: number, batch: number): Promise<Round[]> {
  const ds = new SyntheticPoseDataset({ seed: 1, inputSize: size, heatmapSize: heatmap, sigma: 1, trainSize: images, valSize: 1 });
  const pass = async (epoch: number) => {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    for await (const b of ds.batches('train', { batchSize: batch, seed: 0, epoch, shuffle: true, dropLast: false })) n += b.size;
    const c = process.cpuUsage(c0);
    return { wall: n / (Number(process.hrtime.bigint() - t0) / 1e9), cpu: n / ((c.user + c.system) / 1e6) };
  };
  await pass(-1); // warm-up
  const rates: Round[] = [];
  for (let r = 0; r < 3; r++) rates.push(await pass(r));
  return rates;
}

/** One timed pass over a dataset's training split. */
async function timedPass(ds: Dataset, epoch: number, batch: number): Promise<Round & { seconds: number; images: number }> {
  let n = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for await (const b of ds.batches('train', { batchSize: batch, seed: 0, epoch, shuffle: true, dropLast: false })) n += b.size;
  const c = process.cpuUsage(c0);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { wall: n / seconds, cpu: n / ((c.user + c.system) / 1e6), seconds, images: n };
}

export interface RealResult {
  name: string;
  images: number;
  /** Seconds to open (parse, check headers) and the first epoch's wall and CPU seconds. */
  openSeconds: number;
  first: Round & { seconds: number };
  cached: Round[];
}

/** Opens a real set from a config and times the first epoch and two cached ones. */
export async function benchReal(name: string, set: (c: ReturnType<typeof defaultConfig>) => void, batch: number): Promise<RealResult> {
  const { createDataset } = await import('../src/data/index.ts');
  const config = defaultConfig();
  set(config);
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const ds = await createDataset(config);
  const openSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const first = await timedPass(ds, 0, batch);
  const c = process.cpuUsage(c0);
  const total = { ...first, seconds: first.seconds + openSeconds, cpu: first.images / ((c.user + c.system) / 1e6) };
  const cached = [await timedPass(ds, 1, batch), await timedPass(ds, 2, batch)];
  return { name, images: first.images, openSeconds, first: total, cached };
}

const REAL: Record<string, { root: string; set: (c: ReturnType<typeof defaultConfig>) => void }> = {
  lspet: { root: 'data/lspet', set: (c) => { c.task = 'pose'; c.data.name = 'coco-keypoints'; c.data.root = 'data/lspet'; c.data.train_size = 9000; } },
  cifar10: { root: 'data/cifar10', set: (c) => { c.task = 'classification'; c.data.name = 'image-folder'; c.data.root = 'data/cifar10'; c.data.input_size = 32; c.data.crop = 'padded'; c.data.train_size = 50000; } },
  'fashion-mnist': { root: 'data/fashion-mnist', set: (c) => { c.task = 'classification'; c.data.name = 'fashion-mnist'; c.data.root = 'data/fashion-mnist'; c.data.input_size = 28; c.data.train_size = 60000; } },
};

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '64' },
      heatmap: { type: 'string', default: '16' },
      images: { type: 'string', default: '4000' },
      batch: { type: 'string', default: '32' },
      only: { type: 'string', default: 'synthetic,lspet,cifar10,fashion-mnist' },
    },
  });
  const only = new Set(values.only!.split(','));
  const [size, heatmap, images, batch] = [values.size, values.heatmap, values.images, values.batch].map(Number) as [number, number, number, number];
  const fmt = (r: number) => r.toFixed(0);
  if (only.has('synthetic')) {
    const rates = await benchSyntheticPose(size, heatmap, images, batch);
    process.stdout.write(`synthetic-pose ${size}x${size} (heatmaps ${heatmap}x${heatmap}), batch ${batch}, ${images} images/round, one thread\n`);
    process.stdout.write(`  wall clock: ${rates.map((r) => fmt(r.wall)).join(', ')} images/s\n`);
    process.stdout.write(`  per CPU-second: ${rates.map((r) => fmt(r.cpu)).join(', ')} images/s\n`);
  }
  for (const [name, spec] of Object.entries(REAL)) {
    if (!only.has(name)) continue;
    if (!existsSync(spec.root)) { process.stdout.write(`${name}: skipped, ${spec.root} is absent (bnn-ablate data unpack ../shared/data)\n`); continue; }
    const r = await benchReal(name, spec.set, 64);
    process.stdout.write(`${name}: ${r.images} training images, batch 64\n`);
    process.stdout.write(`  open + first epoch (decode + cache): ${r.first.seconds.toFixed(1)} s wall (open ${r.openSeconds.toFixed(1)} s); ${fmt(r.first.wall)} images/s wall, ${fmt(r.first.cpu)} per CPU-second\n`);
    process.stdout.write(`  cached epochs: ${r.cached.map((c) => fmt(c.wall)).join(', ')} images/s wall; ${r.cached.map((c) => fmt(c.cpu)).join(', ')} per CPU-second\n`);
  }
}
