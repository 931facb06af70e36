/**
 * docs/reproduction/ stays honest: the committed report is exactly what `bnn-ablate report` makes of
 * the committed per-run records, and the verdict table of docs/reproduction.md matches it.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runReport } from '../../src/report/run.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DOCS = path.join(ROOT, 'docs/reproduction');

test('docs/reproduction/report.md regenerates from docs/reproduction/results', async () => {
  // Regenerate in a copy laid out like the repository, so the relative plot links are the same.
  const tmp = mkdtempSync(path.join(tmpdir(), 'repro-doc-'));
  cpSync(path.join(DOCS, 'results'), path.join(tmp, 'docs/reproduction/results'), { recursive: true });
  const { markdown } = await runReport({ targets: ['docs/reproduction/results'], out: 'docs/reproduction', png: false, cwd: tmp });
  assert.equal(markdown, readFileSync(path.join(DOCS, 'report.md'), 'utf8'), 'docs/reproduction/report.md is stale: rerun the report command in docs/reproduction.md');
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
