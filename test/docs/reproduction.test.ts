/**
 * docs/reproduction/ stays honest: the committed report is exactly what `bnn-ablate report` makes of
 * the committed per-run records, and the verdict table of docs/reproduction.md matches it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, regeneratedReport } from './regenerate.ts';

const DOCS = path.join(ROOT, 'docs/reproduction');

test('docs/reproduction/report.md regenerates from docs/reproduction/results', async () => {
  assert.equal(await regeneratedReport('reproduction'), readFileSync(path.join(DOCS, 'report.md'), 'utf8'), 'docs/reproduction/report.md is stale: rerun the report command in docs/reproduction.md');
});

test('every verdict in docs/reproduction.md is the generated report\'s', () => {
  const generated = readFileSync(path.join(DOCS, 'report.md'), 'utf8');
  const summary = readFileSync(path.join(ROOT, 'docs/reproduction.md'), 'utf8');
  // Rows of the summary's verdict table: | study | `row` | `vs` | Δ ± SE | n | … | verdict |
  const rows = [...summary.matchAll(/^\| (repro-[\w-]+) \| `([^`]+)` \| `([^`]+)` \| ([^|]+) \| (\d+) \|.*\| ([a-z ]+) \|$/gm)];
  assert.ok(rows.length >= 10, `only ${rows.length} verdict rows found in docs/reproduction.md`);
  for (const [, study, row, versus, delta, n, verdict] of rows) {
    const line = generated.split('\n').find((l) => l.startsWith(`| ${study} |`) && l.includes(`| ${row} | ${versus} |`));
    assert.ok(line, `${study} ${row} vs ${versus}: not in the generated findings table`);
    assert.ok(line.includes(`| ${delta!.trim()} | ${n} |`), `${study} ${row}: Δ ${delta} (n ${n}) differs from the generated ${line}`);
    assert.ok(line.endsWith(`| ${verdict} |`), `${study} ${row}: verdict ${verdict} differs from the generated ${line}`);
  }
});
