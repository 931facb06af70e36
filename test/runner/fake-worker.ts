// Stands in for bin/worker.js in runner tests: speaks its protocol (src/runner/worker.ts),
// reports a backend first (argv[3]: a backend name, default cpu; `unavailable` reports that and
// exits 2; `die` exits 1 with a line on stderr before reporting), trains each run it is sent as
// the config's `fake` key says, records start/end times (and its pid) in a shared log, and
// honours SIGTERM like a real worker (checkpoint, exit 130). A failed run ends the worker, as a
// real one does.
import { appendFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ResultsStore } from '../../src/results/store.ts';
import type { ReadyMessage, RunCommand, UnavailableMessage } from '../../src/runner/worker.ts';

const log = process.argv[2]!;
const backend = process.argv[3] ?? 'cpu';
let current: { store: ResultsStore; id: string } | undefined;

if (backend === 'die') {
  process.stderr.write('fake worker: cannot load its backend\n');
  process.exit(1);
}
if (backend === 'unavailable') {
  appendFileSync(log, `unavailable - ${Date.now()} ${process.pid}\n`);
  // Exits once the message is out, as the real worker does (its BackendError ends it with exit 2).
  process.send?.({ type: 'unavailable', message: "backend 'gpu' is not available: the fake has none" } satisfies UnavailableMessage, () => process.exit(2));
} else {
  appendFileSync(log, `ready ${backend} ${Date.now()} ${process.pid} ${process.env.OMP_NUM_THREADS ?? '-'}\n`);
  process.send?.({ type: 'ready', backend: { name: backend as ReadyMessage['backend']['name'], reason: `auto: the fake picked ${backend}`, detail: 'fake', threads: 1 } } satisfies ReadyMessage);
}

process.on('SIGTERM', () => {
  if (current) {
    current.store.interrupt(current.id);
    appendFileSync(log, `interrupted ${current.id} ${Date.now()} ${process.pid}\n`);
  }
  process.exit(current ? 130 : 0);
});
process.on('disconnect', () => { if (!current) process.exit(0); });

process.on('message', (m: RunCommand) => {
  const runDir = m.runDir;
  const id = basename(runDir);
  const store = new ResultsStore(dirname(dirname(runDir)), basename(dirname(runDir)));
  const { fake } = store.readConfig(id) as { fake: { ms: number; fail?: string; crash?: boolean; tensors?: number } };
  current = { store, id };
  store.markRunning(id, { name: 'fake' });
  appendFileSync(log, `start ${id} ${Date.now()} ${process.pid}\n`);
  process.send?.({ type: 'eval', id, step: 1, metric: 'pckh', value: 1 });
  setTimeout(() => {
    appendFileSync(log, `end ${id} ${Date.now()} ${process.pid}\n`);
    if (fake.crash) process.abort();
    if (fake.fail) {
      store.fail(id, fake.fail);
      process.exit(1);
    }
    store.finish(id, { task: 'pose', metrics: { pckh: 50 } });
    current = undefined;
    process.send?.({ type: 'free', runDir, tensors: fake.tensors ?? 0 });
  }, fake.ms);
});
