import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STAMP, unpackAll } from '../../src/data/unpack.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bnn-unpack-'));
  const payload = join(dir, 'payload');
  mkdirSync(join(payload, 'images'), { recursive: true });
  for (let i = 0; i < 3; i++) writeFileSync(join(payload, 'images', `im${i}.jpg`), `image ${i}`);
  mkdirSync(join(dir, 'src', 'pose', 'annotations'), { recursive: true });
  execFileSync('tar', ['-czf', join(dir, 'src', 'pose', 'images.tar.gz'), '-C', payload, 'images']);
  writeFileSync(join(dir, 'src', 'pose', 'annotations', 'x_train.json'), '{}');
  writeFileSync(join(dir, 'src', 'pose', 'SOURCE.md'), '# pose');
  mkdirSync(join(dir, 'src', 'plain'));
  writeFileSync(join(dir, 'src', 'plain', 'a.gz'), 'not a tar');
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('extracts archives and copies the rest, then does nothing the second time', async () => {
  const dest = join(dir, 'data');
  const first = await unpackAll(join(dir, 'src'), dest);
  assert.deepEqual(first.map((r) => [r.name, r.action]), [['plain', 'unpacked'], ['pose', 'unpacked']]);
  assert.deepEqual(readdirSync(join(dest, 'pose', 'images')).sort(), ['im0.jpg', 'im1.jpg', 'im2.jpg']);
  assert.equal(readFileSync(join(dest, 'pose', 'annotations', 'x_train.json'), 'utf8'), '{}');
  assert.ok(!existsSync(join(dest, 'pose', 'images.tar.gz')), 'archives are extracted, not copied');
  assert.equal(readFileSync(join(dest, 'plain', 'a.gz'), 'utf8'), 'not a tar');
  assert.match(readFileSync(join(dest, 'pose', STAMP), 'utf8'), /^SOURCE\.md\t6\t\d+\nannotations\/x_train\.json\t2\t\d+\nimages\.tar\.gz\t\d+\t\d+\n$/);
  const second = await unpackAll(join(dir, 'src'), dest);
  assert.deepEqual(second.map((r) => r.action), ['up to date', 'up to date']);
  assert.deepEqual(readdirSync(dest).sort(), ['plain', 'pose'], 'no temporary folders left');
});

test('a changed source is rebuilt and swapped in; half-made leftovers are removed; user folders are left alone', async () => {
  const dest = join(dir, 'data2');
  await unpackAll(join(dir, 'src'), dest, ['pose']);
  writeFileSync(join(dest, 'pose', 'images', 'stale.jpg'), 'from an old unpack');
  writeFileSync(join(dir, 'src', 'pose', 'annotations', 'x_train.json'), '{"v": 2}');
  utimesSync(join(dir, 'src', 'pose', 'annotations', 'x_train.json'), new Date(), new Date(Date.now() + 5000));
  // An interrupted unpack by a process that no longer exists (pid 2^22 + 1 is above Linux's default pid_max).
  mkdirSync(join(dest, '.pose.unpacking-4194305', 'images'), { recursive: true });
  const [r] = await unpackAll(join(dir, 'src'), dest, ['pose']);
  assert.equal(r!.action, 'unpacked');
  assert.equal(readFileSync(join(dest, 'pose', 'annotations', 'x_train.json'), 'utf8'), '{"v": 2}');
  assert.ok(!existsSync(join(dest, 'pose', 'images', 'stale.jpg')), 'rebuilt from scratch');
  assert.deepEqual(readdirSync(dest), ['pose']);
  // A folder without a stamp is the user's own copy.
  mkdirSync(join(dest, 'plain'));
  writeFileSync(join(dest, 'plain', 'mine.txt'), 'mine');
  const [p] = await unpackAll(join(dir, 'src'), dest, ['plain']);
  assert.equal(p!.action, 'left alone (not made by unpack)');
  assert.deepEqual(readdirSync(join(dest, 'plain')), ['mine.txt']);
  await assert.rejects(unpackAll(join(dir, 'src'), dest, ['nope']), /has no dataset folder nope/);
  await assert.rejects(unpackAll(join(dir, 'missing'), dest), /missing is not a folder/);
});

test('a failing extraction leaves neither the dataset folder nor a temporary one', async () => {
  mkdirSync(join(dir, 'bad', 'broken'), { recursive: true });
  writeFileSync(join(dir, 'bad', 'broken', 'images.tar.gz'), 'this is not gzip');
  const dest = join(dir, 'data3');
  await assert.rejects(unpackAll(join(dir, 'bad'), dest), /tar -xzf .*images\.tar\.gz failed \(exit 2\)/);
  assert.deepEqual(readdirSync(dest), []);
});
