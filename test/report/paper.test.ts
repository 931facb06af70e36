/**
 * Paper references: every number has a source, the numbers are exactly those of
 * shared/reference/paper.md §1.1b, and the experiment files' `paper_delta` entries agree with them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { checkPaperDeltas, formatPaperDelta, PAPER_FINDINGS } from '../../src/report/paper.ts';
import type { ReportSpec, Task } from '../../src/report/types.ts';

const EXPERIMENTS = fileURLToPath(new URL('../../experiments/', import.meta.url));

describe('paper findings', () => {
  it('cite a section of shared/reference/paper.md each', () => {
    for (const f of PAPER_FINDINGS) assert.match(f.source, /^shared\/reference\/paper\.md §1\.1b?/, f.id);
  });

  it('carry only the values the reference gives (§1.1b), null elsewhere', () => {
    const values = Object.fromEntries(PAPER_FINDINGS.map((f) => [f.id, f.delta]));
    assert.deepEqual(values, {
      'prelu-vs-relu': null, 'reverse-order-init': 0.8, progressive: 0.4, 'stacks-2': 1.5, 'stacks-3': 1.9,
      'distill-real-teacher': 0.6, 'imagenet-recipe': null, 'real-vs-binary': null,
    });
    assert.equal(formatPaperDelta(PAPER_FINDINGS.find((f) => f.id === 'distill-real-teacher')!), '≤ +0.6');
    assert.equal(formatPaperDelta(PAPER_FINDINGS.find((f) => f.id === 'prelu-vs-relu')!), 'n/a (+)');
    assert.equal(formatPaperDelta(PAPER_FINDINGS.find((f) => f.id === 'stacks-3')!), '+1.9');
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
