/** docs/architecture.md stays true: a line for every folder under src/, and every path it names exists. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const doc = readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');

test('every folder under src/ has its line in the folder table', () => {
  const folders = readdirSync(path.join(ROOT, 'src')).filter((f) => statSync(path.join(ROOT, 'src', f)).isDirectory());
  assert.ok(folders.length >= 10);
  const missing = folders.filter((f) => !doc.includes(`| \`src/${f}\` |`));
  assert.deepEqual(missing, [], `folders without a line in docs/architecture.md: ${missing.join(', ')}`);
  const rows = [...doc.matchAll(/^\| `src\/([\w-]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(rows.filter((r) => !folders.includes(r!)), [], 'lines for folders that no longer exist');
});

test('every repository path the document names exists', () => {
  const paths = [...doc.matchAll(/(?<![\w/.<])((?:src|docs|test|configs|bin|native|bench|scripts|baselines|experiments)\/[\w./-]*[\w])/g)]
    .map((m) => m[1]!).filter((p) => !p.includes('*') && !p.includes('<'));
  assert.ok(paths.length > 10, `only ${paths.length} paths found`);
  const missing = [...new Set(paths)].filter((p) => !existsSync(path.join(ROOT, p)));
  assert.deepEqual(missing, []);
});
