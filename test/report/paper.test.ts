/**
 * Paper references: every number has a source inside the repository (docs/paper.md), the numbers
 * are exactly those of its §2 table, nothing user-facing cites a file outside the repository, and
 * the experiment files' `paper_delta` entries agree with them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { checkPaperDeltas, formatPaperDelta, PAPER_FINDINGS } from '../../src/report/paper.ts';
import type { ReportSpec, Task } from '../../src/report/types.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXPERIMENTS = `${ROOT}experiments/`;
const DOC = readFileSync(`${ROOT}docs/paper.md`, 'utf8');

/** docs/paper.md's section headings by number ("## 2. The findings…" → 2). */
const SECTIONS = new Set([...DOC.matchAll(/^## (\d+)\. /gm)].map((m) => m[1]));

/** The Δ cell of a finding's row in docs/paper.md §2, found by its id. */
function docDelta(id: string): string | undefined {
  const row = DOC.split('\n').find((line) => line.startsWith(`| \`${id}\` |`));
  return row?.split('|').map((c) => c.trim())[3];
}

/** Every file under `dir` (recursively) whose name ends in one of `exts`. */
function filesUnder(dir: string, exts: string[]): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => exts.some((e) => f.endsWith(e))).map((f) => join(dir, f));
}

describe('paper findings', () => {
  it('cite an existing section of docs/paper.md each', () => {
    for (const f of PAPER_FINDINGS) {
      const m = /^docs\/paper\.md §(\d+)/.exec(f.source);
      assert.ok(m, `${f.id}: ${f.source}`);
      assert.ok(SECTIONS.has(m[1]!), `${f.id}: docs/paper.md has no §${m[1]}`);
      for (const [, n] of f.source.matchAll(/§(\d+)/g)) assert.ok(SECTIONS.has(n!), `${f.id}: §${n}`);
    }
  });

  it('carry only the values docs/paper.md §2 gives, null elsewhere', () => {
    const values = Object.fromEntries(PAPER_FINDINGS.map((f) => [f.id, f.delta]));
    assert.deepEqual(values, {
      'prelu-vs-relu': null, 'reverse-order-init': 0.8, progressive: 0.4, 'stacks-2': 1.5, 'stacks-3': 1.9,
      'distill-real-teacher': 0.6, 'prelu-vs-relu-cls': null, 'reverse-order-init-cls': null, 'progressive-cls': null,
      'imagenet-recipe': null, 'real-vs-binary': null,
    });
    // Read back from the document itself: a value changed on one side only fails here.
    for (const f of PAPER_FINDINGS) {
      const cell = docDelta(f.id);
      assert.ok(cell !== undefined, `docs/paper.md §2 has no row for ${f.id}`);
      if (f.delta === null) assert.match(cell, /NOT FOUND|not a Δ/, f.id);
      else assert.ok(cell.includes(`+${f.delta.toFixed(1)}`), `${f.id}: ${cell} vs ${f.delta}`);
    }
    assert.equal(formatPaperDelta(PAPER_FINDINGS.find((f) => f.id === 'distill-real-teacher')!), '≤ +0.6');
    assert.equal(formatPaperDelta(PAPER_FINDINGS.find((f) => f.id === 'prelu-vs-relu')!), 'n/a (+)');
    assert.equal(formatPaperDelta(PAPER_FINDINGS.find((f) => f.id === 'stacks-3')!), '+1.9');
  });

  it('nothing users get cites a file outside the repository (shared/reference)', () => {
    const files = [...filesUnder(`${ROOT}src`, ['.ts']), ...filesUnder(`${ROOT}configs`, ['.yaml']), ...filesUnder(EXPERIMENTS, ['.yaml']),
      ...filesUnder(`${ROOT}docs`, ['.md']), `${ROOT}README.md`];
    for (const file of files) assert.doesNotMatch(readFileSync(file, 'utf8'), /shared\/reference/, file);
  });

  it('agree with every paper_delta in experiments/*.yaml', () => {
    for (const file of readdirSync(EXPERIMENTS).filter((f) => f.endsWith('.yaml'))) {
      const doc = parse(readFileSync(EXPERIMENTS + file, 'utf8')) as { report?: ReportSpec; set?: Record<string, unknown> };
      if (!doc.report) continue;
      const task: Task = file.startsWith('cls-') ? 'classification' : 'pose';
      assert.deepEqual(checkPaperDeltas(doc.report, task), [], file);
    }
  });

  it('flag a paper_delta without a sourced finding, or with another value', () => {
    const notes = checkPaperDeltas({ paper_delta: [{ 'model.stacks': 2, delta: 3 }, { 'model.channels': 64, delta: 1 }] }, 'pose');
    assert.equal(notes.length, 2);
    assert.match(notes[0]!, /disagrees with the sourced value \+1\.5/);
    assert.match(notes[1]!, /matches no sourced paper finding/);
  });
});
