import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResultsError } from '../../src/errors.ts';
import { ensureWritableFolder, requireFolder, requireWritableFile } from '../../src/results/paths.ts';
import { ResultsStore } from '../../src/results/store.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'bnn-paths-'));
const refused = (re: RegExp) => (err: unknown) => err instanceof ResultsError && re.test(err.message) && !err.message.includes('\n');

test('a results root is created level by level; a file on the way, or a special file system, is one line', () => {
  const root = tmp();
  const deep = join(root, 'a', 'b', 'c');
  assert.equal(ensureWritableFolder(deep, '--results'), deep);
  assert.ok(existsSync(deep));
  const file = join(root, 'file');
  writeFileSync(file, '');
  assert.throws(() => ensureWritableFolder(file, '--results'), refused(/^--results .*file: .*file is a file, not a folder$/));
  assert.throws(() => ensureWritableFolder(join(file, 'sub'), '--results'), refused(/is a file, not a folder/));
  // Node's recursive mkdir spins forever here (mkdir answers ENOENT under /proc).
  if (existsSync('/proc/self')) assert.throws(() => ensureWritableFolder('/proc/bnn-x/y', '--results'), refused(/cannot create \/proc\/bnn-x/));
});

test('folders to read and files to write are checked before the work', () => {
  const root = tmp();
  const file = join(root, 'f');
  writeFileSync(file, '');
  assert.throws(() => requireFolder(file, 'status'), refused(/status .*: is a file, not a folder/));
  assert.throws(() => requireWritableFile(root, '--junit'), refused(/is a folder; give a file path/));
  assert.throws(() => requireWritableFile(join(root, 'no', 'x.xml'), '--junit'), refused(/is not an existing folder/));
  assert.equal(requireWritableFile(join(root, 'x.xml'), '--junit'), join(root, 'x.xml'));
});

test('the store reads no FIFO (it would block): a FIFO meta or final counts as missing', () => {
  const store = new ResultsStore(tmp(), 'study');
  store.prepare({ id: 'r', name: 'r', seed: 0, params: {}, config: { a: 1 } });
  try {
    execFileSync('mkfifo', [join(store.runDir('r'), 'final.json')]);
  } catch {
    return; // no mkfifo here
  }
  assert.equal(store.readFinal('r'), undefined);
  assert.notEqual(store.status('r'), 'done');
});
