/**
 * File snapshots under test/report/__snapshots__/. A missing or different snapshot FAILS unless
 * UPDATE_SNAPSHOTS=1 is set, which (re)writes it: a snapshot is only ever created on purpose.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('./__snapshots__/', import.meta.url));

export function matchSnapshot(name: string, actual: string): void {
  const path = DIR + name;
  const update = process.env.UPDATE_SNAPSHOTS === '1';
  if (update) {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `snapshot ${path} is missing; create it with UPDATE_SNAPSHOTS=1 and review it`);
  assert.equal(actual, readFileSync(path, 'utf8'), `output differs from snapshot ${name} (UPDATE_SNAPSHOTS=1 to accept)`);
}
