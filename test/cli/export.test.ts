import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeEngineStatus } from '../../src/infer/native-engine.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/bnn-ablate.js');

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000, env: { ...process.env, ...env } });
}

/** One line on stderr, exit 2, nothing on stdout: the project's bad-input contract. */
function badInput(r: ReturnType<typeof cli>, pattern: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

test('run → export → evaluate → summary on the command line, and bad input exits 2 with one line', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'bnn-cli-export-'));
  writeFileSync(join(tmp, 'tiny.yaml'), [
    'model: {channels: 8, depth: 1, activation: relu, activation_placement: pre}',
    'data: {input_size: 32, heatmap_size: 8, train_size: 8, val_size: 8}',
    'train: {batch_size: 4, steps: 2, eval_every: 100, checkpoint_every: 100}',
    'eval: {batch_size: 8}', '',
  ].join('\n'));
  const results = join(tmp, 'results');
  const run = cli(['run', join(tmp, 'tiny.yaml'), '--results', results, '--backend', 'wasm', '--jobs', '1']);
  assert.equal(run.status, 0, run.stderr);
  const experiment = join(results, readdirSync(results)[0]!);
  const runDir = join(experiment, readdirSync(experiment).find((n) => !n.endsWith('.json'))!);

  const exp = cli(['export', runDir, '--json']);
  assert.equal(exp.status, 0, exp.stderr);
  const sizes = JSON.parse(exp.stdout) as Record<string, number>;
  assert.deepEqual(Object.keys(sizes), ['packedBytes', 'float32Bytes', 'ratio']);
  assert.equal(sizes.packedBytes, readFileSync(join(runDir, 'export', 'weights.bin')).byteLength);
  assert.ok(sizes.ratio! > 1 && Math.abs(sizes.ratio! - sizes.float32Bytes! / sizes.packedBytes!) < 1e-12);

  const ev = cli(['evaluate', join(runDir, 'export'), '--json']);
  assert.equal(ev.status, 0, ev.stderr);
  const r = JSON.parse(ev.stdout);
  assert.equal(r.backend, 'wasm', 'the run\'s own backend by default');
  assert.equal(r.predictionsIdentical, true, ev.stdout);
  const native = nativeEngineStatus();
  assert.equal(r.engine, native.ok ? 'native' : 'wasm', 'auto: native where the addon is built');
  assert.match(r.engineReason, native.ok ? /^auto: first choice$/ : /^auto: skipped native: /);
  assert.equal(r.metrics.pckh, JSON.parse(readFileSync(join(runDir, 'final.json'), 'utf8')).metrics.pckh);

  const sum = cli(['summary', join(runDir, 'export')]);
  assert.equal(sum.status, 0, sum.stderr);
  assert.match(sum.stdout, /bytes on disk:[\s\S]*weights\.bin[\s\S]*OPs \(FLOPs \+ BOPs\/64\)/);

  badInput(cli(['export', join(tmp, 'nowhere')]), /not a run folder/);
  badInput(cli(['evaluate', runDir]), /no export here/);
  badInput(cli(['evaluate', join(runDir, 'export'), '--set', 'model.channels=16']), /the exported network is fixed/);
  badInput(cli(['evaluate', join(runDir, 'export'), '--engine', 'avx9']), /engine/);
  if (native.ok) badInput(cli(['evaluate', join(runDir, 'export'), '--engine', 'native'], { BNN_POPCOUNT_ISA: 'sse9' }), /BNN_POPCOUNT_ISA: 'sse9' is not one of/);
  else badInput(cli(['evaluate', join(runDir, 'export'), '--engine', 'native']), /--engine native: not available: /);
  const weights = join(runDir, 'export', 'weights.bin');
  const bytes = readFileSync(weights);
  bytes[0] ^= 0x80;
  writeFileSync(weights, bytes);
  badInput(cli(['evaluate', join(runDir, 'export')]), /sha256 does not match/);
});
