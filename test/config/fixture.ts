/** Test helpers: YAML fixture trees in temp dirs, and assertions on ConfigError positions. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BnnError, ConfigError } from '../../src/errors.ts';

const made: string[] = [];
process.on('exit', () => { for (const dir of made) rmSync(dir, { recursive: true, force: true }); });

/** Writes `files` (path -> text, leading indentation of the block removed) under a new temp dir. */
export function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bnn-grid-'));
  made.push(dir);
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, dedent(text));
  }
  return dir;
}

export function dedent(text: string): string {
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** Asserts that `fn` throws a ConfigError whose full one-line message is exactly `message`. */
export function throwsConfig(fn: () => unknown, message: string | RegExp): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  assert.equal(caught.exitCode, 2);
  assert.ok(!caught.message.includes('\n'), 'messages are one line');
  return caught;
}

/** Asserts that `fn` throws a BnnError (any kind) with exit code 2 and the given message. */
export function throwsBadInput(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BnnError, `expected a BnnError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}
