/**
 * Reusing a run's dataset for the next run in the same process (a pooled worker, runner/worker.ts).
 * A grid's runs mostly share their data config, and a real-photo loader costs seconds per run
 * that are the same every time: coco-keypoints reads and checks the annotation files and every
 * image at open (about 1–2 s for the CI pose gate's LSPET split), then decodes each image the
 * first time a crop of it is needed, inside the training loop (about 15 s of CPU for 4,000 crops
 * at input 32). Kept, the second run of a worker finds it all done.
 *
 * Only loaders whose dataset is a pure function of the config and the files are reused: their
 * batches depend on (seed, epoch) passed per call, and their caches hold decoded pixels only, so a
 * reused dataset yields the batches a fresh one would, bit for bit (test/runner/worker.test.ts).
 * One dataset is kept at a time: memory stays bounded by the largest single dataset.
 */
import type { RunConfig } from '../config/schema.ts';
import { createDataset } from './index.ts';
import type { Dataset } from './types.ts';

/** What a reused dataset depends on, as one string; undefined where a loader's dataset is not reused. */
export async function reuseKey(config: RunConfig): Promise<string | undefined> {
  if (config.data.name !== 'coco-keypoints') return undefined;
  const { cocoOptionsFromConfig } = await import('./coco-keypoints.ts');
  return JSON.stringify(['coco-keypoints', cocoOptionsFromConfig(config)]);
}

export class DatasetCache {
  private last?: { key: string; dataset: Promise<Dataset> };

  /** The dataset for `config`: the kept one when its key matches, else a fresh one (kept if reusable). */
  async open(config: RunConfig): Promise<{ dataset: Dataset; reused: boolean }> {
    const key = await reuseKey(config);
    const reused = key !== undefined && this.last?.key === key;
    if (!reused) {
      // Dropped before the next one opens, so two are never held at once.
      this.last = undefined;
      const dataset = createDataset(config);
      if (key === undefined) return { dataset: await dataset, reused };
      this.last = { key, dataset };
    }
    const kept = this.last!;
    try {
      return { dataset: await kept.dataset, reused };
    } catch (err) {
      // A failed open is not kept: the next run tries again.
      if (this.last === kept) this.last = undefined;
      throw err;
    }
  }
}
