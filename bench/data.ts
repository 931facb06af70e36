/**
 * Synthetic-pose generator throughput: images per second on one core (this process's main
 * thread), heatmaps included, after a warm-up so the JIT has settled.
 *
 *   node --import tsx bench/data.ts [--size 64] [--heatmap 16] [--images 4000] [--batch 32]
 *
 * On a shared machine other processes steal wall-clock time, so the rate per CPU-second of this
 * process (user + system) is printed too: that is what one uncontended core would deliver.
 */
import { parseArgs } from 'node:util';
import { SyntheticPoseDataset } from '../src/data/synthetic-pose.ts';

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

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'));
if (isMain) {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '64' },
      heatmap: { type: 'string', default: '16' },
      images: { type: 'string', default: '4000' },
      batch: { type: 'string', default: '32' },
    },
  });
  const [size, heatmap, images, batch] = [values.size, values.heatmap, values.images, values.batch].map(Number) as [number, number, number, number];
  const rates = await benchSyntheticPose(size, heatmap, images, batch);
  const fmt = (r: number) => r.toFixed(0);
  process.stdout.write(`synthetic-pose ${size}x${size} (heatmaps ${heatmap}x${heatmap}), batch ${batch}, ${images} images/round, one thread\n`);
  process.stdout.write(`  wall clock: ${rates.map((r) => fmt(r.wall)).join(', ')} images/s\n`);
  process.stdout.write(`  per CPU-second: ${rates.map((r) => fmt(r.cpu)).join(', ')} images/s\n`);
}
