import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gridOverhead, runTiming } from '../../src/runner/overhead.ts';

test('gridOverhead splits one job\'s wall time into training, worker and runner seconds (hand-computed)', () => {
  // Two runs: loops of 40 s and 50 s in workers that lived 42 s and 53 s; the grid took 100 s.
  const o = gridOverhead([{ trainS: 40, workerS: 42 }, { trainS: 50, workerS: 53 }], 100, 1);
  assert.equal(o.trainS, 90);
  assert.equal(o.workerOverheadS, 5);
  assert.equal(o.runnerOverheadS, 5);
  assert.ok(Math.abs(o.overhead - 0.1) < 1e-12);
});

test('gridOverhead counts wall x jobs job-seconds with parallel jobs, so idle slots are the runner\'s', () => {
  // Two jobs for 60 s = 120 job-seconds; runs of 55 s and 30 s (workers 56 s and 31 s).
  const o = gridOverhead([{ trainS: 55, workerS: 56 }, { trainS: 30, workerS: 31 }], 60, 2);
  assert.equal(o.runnerOverheadS, 120 - 87);
  assert.ok(Math.abs(o.overhead - (1 - 85 / 120)) < 1e-12);
});

test('gridOverhead refuses a zero wall time or jobs', () => {
  assert.throws(() => gridOverhead([], 0, 1), /must be positive/);
  assert.throws(() => gridOverhead([], 10, 0), /must be positive/);
});

test('runTiming reads the worker lifetime from meta.json and the loop from final.json', () => {
  const t = runTiming({ startedAt: '2026-12-01T10:00:00.000Z', endedAt: '2026-12-01T10:01:02.500Z' }, { wall_s: 60.25 });
  assert.deepEqual(t, { trainS: 60.25, workerS: 62.5 });
  assert.throws(() => runTiming({ startedAt: null, endedAt: null }, { wall_s: 1 }), /not a finished run/);
  assert.throws(() => runTiming({ startedAt: 'a', endedAt: 'b' }, {}), /not a finished run/);
});
