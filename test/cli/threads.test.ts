import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shareCores } from '../../src/runner/local-executor.ts';
import { UsageError } from '../../src/errors.ts';

test('jobs x threads never exceeds the cores', () => {
  // Defaults: one job per core on CPU backends (capped by the runs), the cores split among them.
  assert.deepEqual(shareCores(8, 20, true), { jobs: 8, threads: 1 });
  assert.deepEqual(shareCores(8, 1, true), { jobs: 1, threads: 8 });
  assert.deepEqual(shareCores(8, 3, true), { jobs: 3, threads: 2 });
  assert.deepEqual(shareCores(8, 20, false), { jobs: 1, threads: 8 });
  // --jobs alone: threads = cores / jobs; --threads alone: as many jobs as fit.
  assert.deepEqual(shareCores(8, 20, true, 2), { jobs: 2, threads: 4 });
  assert.deepEqual(shareCores(8, 20, true, undefined, 3), { jobs: 2, threads: 3 });
  assert.deepEqual(shareCores(2, 20, true, undefined, 4), { jobs: 1, threads: 2 });
  for (const cores of [1, 2, 7, 16]) {
    for (const runs of [1, 5, 40]) {
      for (const threads of [undefined, 1, 2, 3]) {
        const r = shareCores(cores, runs, true, undefined, threads);
        assert.ok(r.jobs * r.threads <= cores && r.jobs >= 1 && r.threads >= 1, `${cores} cores, ${runs} runs, ${threads} threads`);
      }
    }
  }
});

test('--jobs and --threads that oversubscribe the cores are a usage error', () => {
  assert.throws(() => shareCores(2, 5, true, 2, 2), (e: unknown) => e instanceof UsageError && /exceeds the 2 cores/.test(e.message));
  assert.deepEqual(shareCores(4, 5, true, 2, 2), { jobs: 2, threads: 2 });
});
