import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

/**
 * The optional addon's install script (native/build.cjs) must never fail an install: a machine
 * without oneDNN or a compiler still gets exit 0, and build-status.json says why, which the
 * loader (native/index.cjs) hands to `bnn-ablate backends`. Run on a copy of native/ without
 * its build, so the real build is untouched.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);

function copyOfNative(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-native-build-'));
  for (const f of ['package.json', 'binding.gyp', 'build.cjs', 'index.cjs', 'dnnl-paths.cjs', 'source-hash.cjs', 'src']) {
    cpSync(join(ROOT, 'native', f), join(dir, f), { recursive: true });
  }
  return dir;
}

function install(dir: string, env: Record<string, string>): { status: number | null; reason: string; ok: boolean } {
  const r = spawnSync(process.execPath, ['build.cjs'], {
    cwd: dir, encoding: 'utf8', timeout: 120_000,
    env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), ...env },
  });
  const status = JSON.parse(readFileSync(join(dir, 'build-status.json'), 'utf8')) as { ok: boolean; reason?: string };
  return { status: r.status, ok: status.ok, reason: status.reason ?? '' };
}

test('a failing compiler leaves exit 0 and the build error as the reason', () => {
  const dir = copyOfNative();
  try {
    const r = install(dir, { CXX: '/bin/false', CC: '/bin/false' });
    assert.equal(r.status, 0, 'the install script never fails the install');
    assert.equal(r.ok, false);
    assert.match(r.reason, /^(native addon build failed: .+|oneDNN not found: apt-get install libdnnl-dev.*)$/);
    assert.ok(!r.reason.includes('\n'), 'one line');
    assert.equal(existsSync(join(dir, 'build', 'Release', 'bnn_onednn.node')), false);
    const load = (require(join(dir, 'index.cjs')) as { load(): { ok: boolean; reason?: string } }).load();
    assert.deepEqual(load, { ok: false, reason: r.reason }, 'the loader reports what the install found');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('BNN_NATIVE_SKIP=1 skips the build with that reason', () => {
  const dir = copyOfNative();
  try {
    const r = install(dir, { BNN_NATIVE_SKIP: '1' });
    assert.equal(r.status, 0);
    assert.deepEqual([r.ok, r.reason], [false, 'native build skipped (BNN_NATIVE_SKIP=1)']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a build from other sources is refused with the rebuild command; one from these sources is loaded', () => {
  const dir = copyOfNative();
  try {
    // A stand-in binary (not a real addon) and a status as build.cjs writes it.
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    writeFileSync(join(dir, 'build', 'Release', 'bnn_onednn.node'), 'not an addon');
    const { sourceHash } = require(join(dir, 'source-hash.cjs')) as { sourceHash(d?: string): string };
    writeFileSync(join(dir, 'build-status.json'), JSON.stringify({ ok: true, sources: sourceHash(dir) }));
    // The sources change after the build (a git pull without a rebuild).
    appendFileSync(join(dir, 'src', 'common.cc'), '\n// changed\n');
    const load = () => (require(join(dir, 'index.cjs')) as { load(): { ok: boolean; reason?: string } }).load();
    assert.deepEqual(load(), { ok: false, reason: 'native addon is out of date: native/src changed since it was built; run npm rebuild bnn-ablate-native (or node native/build.cjs)' });
    // Recorded for these sources: the loader goes on to the binary (here not loadable: that reason).
    writeFileSync(join(dir, 'build-status.json'), JSON.stringify({ ok: true, sources: sourceHash(dir) }));
    assert.match(load().reason ?? '', /^native addon failed to load: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
