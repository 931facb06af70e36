import assert from 'node:assert/strict';
import { test } from 'node:test';
import yargs from 'yargs';
import { backendOption, backendsCommand, formatBackendTable, GPU_NOTE } from '../../src/cli/backends.ts';
import type { ProbeReport } from '../../src/backend/index.ts';

async function capture(fn: () => Promise<unknown>): Promise<string> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  // Only strings: the test runner itself reports to stdout in binary chunks meanwhile.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== 'string') return write(chunk, ...rest);
    chunks.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

test('`backends --json` prints every backend and the auto choice', async () => {
  const out = await capture(() => yargs(['backends', '--json']).command(backendsCommand).strict().parseAsync());
  const report = JSON.parse(out) as ProbeReport;
  assert.deepEqual(report.backends.map((b) => b.name), ['gpu', 'node', 'webgpu', 'native', 'wasm', 'cpu']);
  const cpu = report.backends.find((b) => b.name === 'cpu')!;
  assert.equal(cpu.available, true);
  assert.equal(report.auto, report.backends.find((b) => b.available && !b.autoSkip)!.name);
  const webgpu = report.backends.find((b) => b.name === 'webgpu')!;
  if (webgpu.available) assert.ok(webgpu.adapter && webgpu.adapter.limits.maxBufferSize! > 0, 'webgpu reports its adapter and limits');
  else assert.ok(webgpu.reason && !webgpu.reason.includes('\n'), 'webgpu says in one line why not');
});

test('`backends` prints an aligned table ending with the auto choice', async () => {
  const out = await capture(() => yargs(['backends']).command(backendsCommand).strict().parseAsync());
  const lines = out.trimEnd().split('\n');
  assert.match(lines[0]!, /^BACKEND\s+AVAILABLE\s+VERSION\s+DETAILS$/);
  assert.match(lines.at(-1)!, /^auto picks: (gpu|node|webgpu|native|wasm|cpu)$/);
  assert.match(out, /^cpu\s+yes\s+\d+\.\d+\.\d+\s+/m);
});

test('formatBackendTable shows the reason for unavailable backends', () => {
  const table = formatBackendTable({
    auto: 'wasm',
    backends: [
      { name: 'gpu', available: false, reason: 'not installed', detail: 'CUDA' },
      { name: 'wasm', available: true, version: '4.22.0', detail: 'SIMD, 1 thread' },
    ],
  });
  assert.equal(
    table,
    [
      'BACKEND  AVAILABLE  VERSION  DETAILS',
      'gpu      no         -        not installed',
      'wasm     yes        4.22.0   SIMD, 1 thread',
      '',
      GPU_NOTE,
      '',
      'auto picks: wasm',
      '',
    ].join('\n'),
  );
});

test('the shared --backend option defaults to auto and rejects unknown names', async () => {
  const parse = (args: string[]) => yargs(args).options(backendOption).strict().exitProcess(false).fail((msg) => {
    throw new Error(msg);
  }).parseAsync();
  assert.equal((await parse([])).backend, 'auto');
  assert.equal((await parse(['--backend', 'wasm'])).backend, 'wasm');
  await assert.rejects(async () => parse(['--backend', 'tpu']), /Invalid values/);
});
