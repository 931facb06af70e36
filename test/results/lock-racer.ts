// One contender in the lock race of lock.test.ts: says "ready", waits for the parent's "go" on
// stdin, tries the lock, prints whether it won, and holds a won lock until stdin closes.
import { acquireRunLock } from '../../src/results/lock.ts';

const dir = process.argv[2]!;
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  const attempt = acquireRunLock(dir);
  process.stdout.write(attempt.acquired ? 'won\n' : `lost to ${attempt.holder.pid}\n`);
  process.stdin.once('end', () => { if (attempt.acquired) attempt.lock.release(); });
  process.stdin.resume();
});
