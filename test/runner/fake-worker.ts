// Stands in for `bnn-ablate run-one` in runner tests: behaves as the config's `fake` key says,
// records start/end times in a shared log, and honours SIGTERM like a real worker (exit 130).
import { appendFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ResultsStore } from '../../src/results/store.ts';

const runDir = process.argv[2]!;
const log = process.argv[3]!;
const id = basename(runDir);
const store = new ResultsStore(dirname(dirname(runDir)), basename(dirname(runDir)));
const { fake } = store.readConfig(id) as { fake: { ms: number; fail?: string } };
store.markRunning(id, { name: 'fake' });
appendFileSync(log, `start ${id} ${Date.now()}\n`);
process.on('SIGTERM', () => {
  store.interrupt(id);
  appendFileSync(log, `interrupted ${id} ${Date.now()}\n`);
  process.exit(130);
});
process.send?.({ type: 'eval', id, step: 1, metric: 'pckh', value: 1 });
setTimeout(() => {
  appendFileSync(log, `end ${id} ${Date.now()}\n`);
  if (fake.fail) {
    store.fail(id, fake.fail);
    process.exit(1);
  }
  store.finish(id, { task: 'pose', metrics: { pckh: 50 } });
  process.exit(0);
}, fake.ms);
