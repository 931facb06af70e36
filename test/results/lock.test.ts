import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireRunLock, joinParentLock, LOCK_FILE, liveHolder, readLock } from '../../src/results/lock.ts';

const RACER = fileURLToPath(new URL('./lock-racer.ts', import.meta.url));
const folder = () => mkdtempSync(join(tmpdir(), 'bnn-lock-'));

/** A pid that no process has: one that just exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

test('a lock holds pid and host; a second acquire is refused while it is held, and succeeds after release', () => {
  const dir = folder();
  const first = acquireRunLock(dir);
  assert.ok(first.acquired);
  assert.deepEqual([readLock(dir)?.pid, readLock(dir)?.host], [process.pid, hostname()]);
  const second = acquireRunLock(dir);
  assert.equal(second.acquired, false);
  assert.equal(!second.acquired && second.holder.token, first.lock.info.token);
  first.lock.release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  const third = acquireRunLock(dir);
  assert.ok(third.acquired);
  first.lock.release(); // a released lock never removes its successor's
  assert.equal(readLock(dir)?.token, third.acquired && third.lock.info.token);
  if (third.acquired) third.lock.release();
  assert.deepEqual(readdirSync(dir), [], 'no temp files left');
});

test('stale locks are taken over: a dead pid on this host, a silent holder on another host; a fresh foreign one is not', () => {
  const dead = folder();
  writeFileSync(join(dead, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: hostname(), token: 'old', since: '2020-01-01' }));
  assert.equal(liveHolder(dead), undefined);
  const a = acquireRunLock(dead);
  assert.ok(a.acquired);
  if (a.acquired) a.lock.release();

  const foreign = folder();
  const lock = join(foreign, LOCK_FILE);
  writeFileSync(lock, JSON.stringify({ pid: 1, host: 'other-node', token: 'theirs', since: '2020-01-01' }));
  const refused = acquireRunLock(foreign);
  assert.equal(refused.acquired, false, 'a foreign lock with a recent heartbeat stands');
  assert.equal(liveHolder(foreign)?.host, 'other-node');
  const old = new Date(Date.now() - 3600_000);
  utimesSync(lock, old, old);
  const taken = acquireRunLock(foreign);
  assert.ok(taken.acquired, 'a foreign lock silent for an hour is stale');
  if (taken.acquired) taken.lock.release();

  const garbage = folder();
  writeFileSync(join(garbage, LOCK_FILE), '{not json');
  assert.ok(acquireRunLock(garbage).acquired);
});

test('of several processes racing for one run, exactly one gets the lock', async () => {
  const dir = folder();
  const racers = Array.from({ length: 4 }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', RACER, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: string[] = [];
    const waiters: Array<() => void> = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => { lines.push(...d.trim().split('\n')); waiters.splice(0).forEach((w) => w()); });
    const line = (n: number) => new Promise<string>((resolve) => {
      const check = () => (lines.length > n ? resolve(lines[n]!) : waiters.push(check));
      check();
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    return { child, line, exited };
  });
  await Promise.all(racers.map((r) => r.line(0))); // all up, then all at once
  for (const r of racers) r.child.stdin.write('go\n');
  const results = await Promise.all(racers.map((r) => r.line(1)));
  for (const r of racers) r.child.stdin.end();
  await Promise.all(racers.map((r) => r.exited));
  assert.equal(results.filter((r) => r === 'won').length, 1, results.join('; '));
  assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'the winner released it');
});

test('a worker joins its parent\'s lock: the lock stands while the worker lives, even with the parent gone', () => {
  const dir = folder();
  const parent = deadPid();
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: parent, host: hostname(), token: 'tok', since: '2026-01-01' }));
  assert.equal(joinParentLock(dir, 'other'), false, 'another token is not our parent\'s lock');
  assert.equal(joinParentLock(dir, 'tok'), true);
  assert.equal(readLock(dir)?.workerPid, process.pid);
  const refused = acquireRunLock(dir);
  assert.equal(refused.acquired, false, 'an orphaned worker still trains: not stale');
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: parent, host: hostname(), token: 'tok', since: '2026-01-01', workerPid: deadPid() }));
  assert.ok(acquireRunLock(dir).acquired, 'both gone: stale');
});
