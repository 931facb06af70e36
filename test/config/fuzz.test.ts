/**
 * Property test of the loader: random mutations of the shipped experiment files (lines deleted,
 * duplicated, re-indented, truncated; values replaced by odd ones; YAML syntax and aliases
 * injected) either plan or fail with a typed bad-input error: one line, exit code 2, never an
 * internal error, a stack trace or a hang. Deterministic (a seeded generator) and bounded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/data/random.ts';
import { BnnError, describeError } from '../../src/errors.ts';
import { loadPlans } from '../../src/grid/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MUTATIONS_PER_FILE = Number(process.env.FUZZ_N ?? 40);


const ODD_VALUES = ['0', '-1', '1.5', '1e309', '.nan', 'null', '~', '""', "''", '[]', '{}', '[1, [2]]', 'yes', 'x'.repeat(300),
  '*nowhere', '&a [*a]', '!!binary aGk=', '2026-01-01', '0x1F', '[relu, relu]', '{model.binary: maybe}', '99999999999999999999'];
const INSERTS = ['---', '...', '- ', ': ', '  ', '\t', '[', ']', '{', '}', '#', '&x', '*x', '<<: *x', '? ', '%YAML 1.1', '|', '>'];

function mutate(text: string, next: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const lines = text.split('\n');
  const at = Math.floor(next() * lines.length);
  switch (Math.floor(next() * 7)) {
    case 0: lines.splice(at, 1); break;
    case 1: lines.splice(at, 0, lines[at] ?? ''); break;
    case 2: lines[at] = `${' '.repeat(Math.floor(next() * 5))}${(lines[at] ?? '').trimStart()}`; break;
    case 3: return text.slice(0, Math.floor(next() * text.length));
    case 4: {
      const line = lines[at] ?? '';
      const colon = line.indexOf(': ');
      lines[at] = colon >= 0 ? `${line.slice(0, colon + 2)}${pick(ODD_VALUES)}` : `${line}${pick(ODD_VALUES)}`;
      break;
    }
    case 5: {
      const line = lines[at] ?? '';
      const pos = Math.floor(next() * (line.length + 1));
      lines[at] = `${line.slice(0, pos)}${pick(INSERTS)}${line.slice(pos)}`;
      break;
    }
    default: {
      const line = lines[at] ?? '';
      const pos = Math.floor(next() * line.length);
      lines[at] = `${line.slice(0, pos)}${line.slice(pos + 1)}`; // a typo: one character dropped
    }
  }
  return lines.join('\n');
}

test('mutated shipped experiment files plan or fail with one line and exit 2', () => {
  const work = mkdtempSync(join(tmpdir(), 'bnn-fuzz-'));
  // experiments/ refer to ../configs/: mirror the layout, the configs linked, not copied.
  symlinkSync(join(ROOT, 'configs'), join(work, 'configs'));
  mkdirSync(join(work, 'experiments'));
  const files = readdirSync(join(ROOT, 'experiments')).filter((f) => f.endsWith('.yaml')).sort();
  const gen = new Rng(20261201);
  const next = () => gen.float();
  let planned = 0;
  let refused = 0;
  const started = Date.now();
  try {
    for (const name of files) {
      // Siblings for suites (paper.yaml names the others), unmutated.
      for (const f of files) writeFileSync(join(work, 'experiments', f), readFileSync(join(ROOT, 'experiments', f)));
      const original = readFileSync(join(ROOT, 'experiments', name), 'utf8');
      for (let i = 0; i < MUTATIONS_PER_FILE; i++) {
        let text = original;
        for (let k = 1 + Math.floor(next() * 3); k > 0; k--) text = mutate(text, next);
        writeFileSync(join(work, 'experiments', name), text);
        const one = Date.now();
        try {
          loadPlans(join('experiments', name), { cwd: work });
          planned++;
        } catch (err) {
          const { code, message, internal } = describeError(err);
          const context = `${name} mutation ${i}:\n${text}\n--> ${message}`;
          assert.ok(err instanceof BnnError && !internal, `not a typed error: ${context}\n${(err as Error)?.stack}`);
          assert.equal(code, 2, context);
          assert.ok(!message.includes('\n') && message.length < 600, `not one short line: ${context}`);
          refused++;
        }
        assert.ok(Date.now() - one < 3000, `${name} mutation ${i} took ${Date.now() - one} ms`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  assert.equal(planned + refused, files.length * MUTATIONS_PER_FILE);
  assert.ok(planned > 0 && refused > 0, `planned ${planned}, refused ${refused}`);
  if (process.env.FUZZ_N) console.log(`planned ${planned}, refused ${refused}`);
  assert.ok(Date.now() - started < 60_000);
});
