import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { selectBackend } from '../../src/backend/index.ts';
import { loadPlans } from '../../src/grid/index.ts';
import { train } from '../../src/train/trainer.ts';
import { nativeSkip } from '../backend/helpers.ts';

/**
 * Same config, seed and thread count give bit-identical metrics on the native backend: two short
 * ci-preset smoke runs (binary HourGlass, pose) at 1 thread and two at 2 threads.
 */
const SKIP = await nativeSkip();

async function finalOf(threads: number): Promise<Record<string, unknown>> {
  const config = structuredClone(loadPlans('experiments/smoke.yaml', { preset: 'ci' })[0]!.runs[0]!.config);
  config.train.steps = 12;
  config.train.eval_every = 12;
  config.train.checkpoint_every = 12;
  config.train.threads = threads;
  await selectBackend('native', { threads });
  const dir = mkdtempSync(join(tmpdir(), 'bnn-native-det-'));
  try {
    const losses: number[] = [];
    const out = await train({ config, runDir: dir, hooks: { onProgress: (p) => losses.push(p.loss) } });
    assert.equal(out.status, 'done');
    return { ...(out as unknown as { final: Record<string, unknown> }).final, losses };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const threads of [1, 2]) {
  test(`native, ${threads} thread${threads > 1 ? 's' : ''}: a ci smoke run gives bit-identical metrics twice`, { skip: SKIP }, async () => {
    const a = await finalOf(threads);
    const b = await finalOf(threads);
    // Timings differ run to run; every other field (metrics, losses) must not.
    const strip = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(strip);
      if (v === null || typeof v !== 'object') return v;
      return Object.fromEntries(Object.entries(v).filter(([k]) => !/time|seconds|per_s|wall|_ms$|At$/i.test(k)).map(([k, x]) => [k, strip(x)]));
    };
    assert.deepEqual(strip(a), strip(b));
    assert.ok((a.losses as number[]).length > 0 && (a.losses as number[]).every(Number.isFinite), 'the run trained');
  });
}
