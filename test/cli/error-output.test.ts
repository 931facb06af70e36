import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorOutput } from '../../src/cli/error-output.ts';
import { reportLine } from '../../src/cli/version.ts';
import { activeBackend, noteActiveBackend } from '../../src/backend/names.ts';
import { ConfigError, EXIT, RunFailedError } from '../../src/errors.ts';
import { installedVersion } from '../../src/cli/version.ts';

test('a typed error prints one line and no report request', () => {
  const out = errorOutput(new ConfigError('train.lr: must be > 0', { file: 'e.yaml', line: 3, col: 5 }), false);
  assert.equal(out.code, EXIT.badInput);
  assert.equal(out.text, 'bnn-ablate: e.yaml:3:5: train.lr: must be > 0\n');
});

test('an internal error asks to be reported, with tool, tfjs, backend and node versions', () => {
  const before = activeBackend();
  try {
    noteActiveBackend('wasm 9.9.9');
    const out = errorOutput(new TypeError('x is undefined'), false);
    assert.equal(out.code, EXIT.failure);
    const lines = out.text.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.equal(lines[0], 'bnn-ablate: internal error: x is undefined');
    assert.match(lines[1]!, /^bnn-ablate: this is a bug in bnn-ablate: please report it/);
    assert.match(lines[1]!, /bnn-ablate 0\.1\.0/);
    assert.ok(lines[1]!.includes(`tfjs ${installedVersion('@tensorflow/tfjs')}`), lines[1]);
    assert.ok(lines[1]!.includes('backend wasm 9.9.9'), lines[1]);
    assert.ok(lines[1]!.includes(`node ${process.version}`), lines[1]);
    assert.ok(!out.text.includes('    at '), 'no stack without BNN_ABLATE_DEBUG');
  } finally {
    noteActiveBackend(before);
  }
});

test('before any backend is selected the line says so', () => {
  assert.match(reportLine(undefined), /backend \(none selected yet\)/);
});

test('BNN_ABLATE_DEBUG adds the stack of internal errors and the cause of wrapped ones', () => {
  const internal = errorOutput(new Error('boom'), true).text;
  assert.match(internal, /Error: boom\n\s+at /);
  const wrapped = errorOutput(new RunFailedError('run r1 failed', { cause: new Error('worker died') }), true).text;
  assert.match(wrapped, /caused by: Error: worker died/);
  assert.ok(!wrapped.includes('please report'), 'a failed run is not a bug report');
});
