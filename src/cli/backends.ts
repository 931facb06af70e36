import type { ArgumentsCamelCase, Argv, CommandModule, Options } from 'yargs';
import { BACKEND_CHOICES, DEFAULT_BACKEND, type BackendRequest } from '../backend/names.ts';
import type { ProbeReport } from '../backend/index.ts';

/**
 * The `--backend` option every computing command takes. Use as `yargs.options(backendOption)`,
 * then `await selectBackend(argv.backend)` before building any model.
 */
export const backendOption = {
  backend: {
    describe: 'compute backend; auto tries gpu, node, webgpu, native, wasm, cpu in that order',
    choices: BACKEND_CHOICES,
    default: DEFAULT_BACKEND,
    type: 'string',
  },
} as const satisfies Record<string, Options>;

export interface BackendOptionArgs {
  backend: BackendRequest;
}

interface BackendsArgs {
  json: boolean;
}

/** Why `gpu` is rarely the GPU path: shown under the table whenever gpu is listed. */
export const GPU_NOTE =
  'note: gpu (@tensorflow/tfjs-node-gpu 4.22) needs CUDA 11.2 and cuDNN 8.1, which predate Hopper (sm_90): there TensorFlow '
  + 'JIT-compiles its kernels from PTX at start-up (30+ minutes), and its install downloads libtensorflow; on current GPUs use webgpu.';

/** Renders the probe as an aligned table; pure, so tests can check it without a terminal. */
export function formatBackendTable(report: ProbeReport): string {
  const rows = [
    ['BACKEND', 'AVAILABLE', 'VERSION', 'DETAILS'],
    ...report.backends.map((b) => [
      b.name,
      b.available ? 'yes' : 'no',
      b.version ?? '-',
      b.available ? (b.detail ?? '') : (b.reason ?? 'unavailable'),
    ]),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  ').trimEnd(),
  );
  if (report.backends.some((b) => b.name === 'gpu')) lines.push('', GPU_NOTE);
  lines.push('', `auto picks: ${report.auto}`);
  return `${lines.join('\n')}\n`;
}

export const backendsCommand: CommandModule<object, BackendsArgs> = {
  command: 'backends',
  describe: 'List compute backends, why any is unavailable, and which one --backend auto picks',
  builder: (y: Argv) =>
    y.option('json', { type: 'boolean', default: false, describe: 'print JSON instead of a table' }) as Argv<BackendsArgs>,
  handler: async (argv: ArgumentsCamelCase<BackendsArgs>) => {
    // Loaded on demand: tfjs takes about a second to import, and other commands must not wait for it.
    const { probeBackends } = await import('../backend/index.ts');
    const report = await probeBackends();
    process.stdout.write(argv.json ? `${JSON.stringify(report, null, 2)}\n` : formatBackendTable(report));
  },
};
