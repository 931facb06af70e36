import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapAhead, prefetch } from '../../src/data/prefetch.ts';

test('mapAhead keeps input order even when later items finish first', async () => {
  const out: number[] = [];
  for await (const v of mapAhead([30, 1, 15, 0, 5], async (ms, i) => { await sleep(ms); return i; }, 3)) out.push(v);
  assert.deepEqual(out, [0, 1, 2, 3, 4]);
});

test('mapAhead runs depth items ahead of the consumer, no more', async () => {
  const started: number[] = [];
  const it = mapAhead(Array.from({ length: 10 }, (_, i) => i), async (i) => { started.push(i); return i; }, 2);
  assert.equal((await it.next()).value, 0);
  await sleep(1);
  assert.deepEqual(started, [0, 1, 2]); // item 0 consumed, 1 and 2 prefetched
  assert.equal((await it.next()).value, 1);
  await sleep(1);
  assert.deepEqual(started, [0, 1, 2, 3]);
  await it.return(undefined);
  await sleep(1);
  assert.equal(started.length, 4); // stopping drops the rest
});

test('depth 0 starts each call only when asked', async () => {
  const started: number[] = [];
  const it = mapAhead([0, 1, 2], async (i) => { started.push(i); return i; }, 0);
  await it.next();
  await sleep(1);
  assert.deepEqual(started, [0]);
  await assert.rejects(mapAhead([], async () => 0, -1).next(), RangeError);
});

test('an error surfaces at its item, after the earlier results, without unhandled rejections', async () => {
  const seen: number[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    await assert.rejects((async () => {
      for await (const v of mapAhead([0, 1, 2, 3], async (i) => { if (i === 2) throw new Error('boom 2'); await sleep(5); return i; }, 3)) seen.push(v);
    })(), /boom 2/);
    await sleep(20);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(seen, [0, 1]);
  assert.deepEqual(unhandled, []);
});

test('work overlaps the consumer: total time is about max(produce, consume), not the sum', async () => {
  const t0 = performance.now();
  for await (const _ of mapAhead([0, 1, 2, 3, 4, 5], async () => { await sleep(20); }, 2)) await sleep(20);
  const elapsed = performance.now() - t0;
  assert.ok(elapsed < 200, `took ${elapsed.toFixed(0)} ms; sequential would be about 240`);
});

test('prefetch pulls an async generator ahead and preserves order and errors', async () => {
  const produced: number[] = [];
  async function* gen() {
    for (let i = 0; i < 5; i++) { produced.push(i); yield i; }
    throw new Error('end');
  }
  const it = prefetch(gen(), 2);
  assert.equal((await it.next()).value, 0);
  await sleep(1);
  assert.ok(produced.length >= 3, `produced ${produced.length}`);
  const rest: number[] = [];
  await assert.rejects((async () => { for await (const v of it) rest.push(v); })(), /end/);
  assert.deepEqual(rest, [1, 2, 3, 4]);
  const short: number[] = [];
  for await (const v of prefetch((async function* () { yield 1; yield 2; })(), 4)) short.push(v);
  assert.deepEqual(short, [1, 2]);
});
