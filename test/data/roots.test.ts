import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultConfig } from '../../src/config/schema.ts';
import { checkDataRoots } from '../../src/data/roots.ts';
import { DataError } from '../../src/errors.ts';
import type { Plan } from '../../src/grid/types.ts';

function planWithRoot(root: string | null): Plan {
  const config = defaultConfig();
  config.data.root = root;
  return { experiment: 'e', file: 'experiments/e.yaml', runs: [{ id: 'abc', name: 'binary=true,seed=0', seed: 0, params: {}, config, dependsOn: [] }] };
}

test('a data.root that is missing or a file is refused with the file, run and path; present or unset passes', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'bnn-roots-'));
  writeFileSync(join(cwd, 'a-file'), '');
  assert.throws(() => checkDataRoots([planWithRoot('data/lspet')], cwd),
    (e: unknown) => e instanceof DataError && /^experiments\/e\.yaml: run 'binary=true,seed=0': data\.root 'data\/lspet' does not exist \(.*data\/lspet\)/.test(e.message) && !e.message.includes('\n'));
  assert.throws(() => checkDataRoots([planWithRoot('a-file')], cwd), /data\.root 'a-file' is not a folder/);
  checkDataRoots([planWithRoot(null), planWithRoot('.')], cwd);
});
