/**
 * The device bundle (scripts/bundle.ts): it builds, stays under the device machine's limit, and
 * runs the device check from a copy of the folder alone: no node_modules anywhere above it, so
 * every import must be inside the bundle. wasm, with the fewest steps the check allows (one
 * warm-up step so the bench's tensor-leak check sees a steady state, one seed of the ci grid).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { folderBytes, MAX_BUNDLE_BYTES } from '../../scripts/bundle.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The nearest node_modules at or above `dir`, if any. */
function nodeModulesAbove(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'node_modules'))) return path.join(d, 'node_modules');
    if (path.dirname(d) === d) return undefined;
  }
}

test('npm run bundle writes a self-contained dist/device/ whose run.sh wasm works from a copy', { timeout: 240_000 }, () => {
  const built = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bundle.ts'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  const out = path.join(ROOT, 'dist', 'device');
  const bytes = folderBytes(out);
  assert.ok(bytes <= MAX_BUNDLE_BYTES, `bundle is ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  for (const f of ['run.sh', 'device-check.mjs', 'bin/bnn-ablate.js', 'app/cli/bnn-ablate.mjs', 'wasm/tfjs-backend-wasm-simd.wasm',
    'configs/bench/hourglass-ref.yaml', 'experiments/smoke.yaml', 'configs/presets/ci.yaml', 'package.json']) {
    assert.ok(existsSync(path.join(out, f)), `${f} is in the bundle`);
  }
  if (process.platform === 'linux' && process.arch === 'x64') assert.ok(existsSync(path.join(out, 'dawn/linux-x64/dawn.node')));

  const tmp = mkdtempSync(path.join(tmpdir(), 'bnn-bundle-'));
  try {
    const copy = path.join(tmp, 'device');
    cpSync(out, copy, { recursive: true });
    assert.equal(nodeModulesAbove(copy), undefined, 'the copy must not see any node_modules');
    const work = path.join(tmp, 'work');
    const env = { PATH: process.env.PATH, HOME: tmp, BNN_CHECK_STEPS: '1', BNN_CHECK_WARMUP: '1', BNN_CHECK_ONLY: 'seed=0' };
    mkdirSync(work);
    const r = spawnSync('sh', [path.join(copy, 'run.sh'), 'wasm'], { cwd: work, env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    const check = JSON.parse(readFileSync(path.join(work, 'device-check.json'), 'utf8'));
    assert.equal(check.backend, 'wasm');
    assert.equal(check.available, true);
    assert.deepEqual(check.errors, []);
    assert.ok(check.bench.msPerStep > 0 && check.bench.imagesPerSecond > 0, 'the reference step was timed');
    assert.equal(check.ci.runs.length, 2, 'binary and real-valued, seed 0');
    for (const run of check.ci.runs) {
      assert.equal(run.status, 'done', JSON.stringify(run));
      assert.ok(Number.isFinite(run.metrics.metrics.pckh), `${run.name} has a PCKh`);
    }
    assert.equal(check.backends.find((b: { name: string }) => b.name === 'wasm').available, true);
    // wasm is the backend the baseline was made on, and wasm is deterministic: the bundled CLI's
    // seed 0 is exactly the baseline's seed-0 number, so bundling changed nothing it computes.
    const baseline = JSON.parse(readFileSync(path.join(ROOT, 'baselines', 'ci.json'), 'utf8'));
    for (const row of check.ci.vsCpuBaseline) {
      assert.equal(row.n, 1, row.row);
      assert.equal(row.within, true, JSON.stringify(row));
      const stored = baseline.experiments.smoke.rows.find((r: { label: string }) => r.label === row.row);
      assert.equal(row.mean, stored.values['0'], `${row.row}: same PCKh as the baseline's seed 0`);
    }
    assert.equal(check.ci.vsCpuBaseline.length, 2);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
