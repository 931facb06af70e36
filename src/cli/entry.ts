import { prestartWorker, releasePrestarted } from '../runner/prestart.ts';

/**
 * What bin/bnn-ablate.js runs: `run` forks its first worker before the CLI loads (prestart.ts
 * says why), then `main` parses and runs the command. A worker the command did not take (Slurm,
 * bad input, nothing to train) is released when it returns.
 */
export async function runCli(argv: string[]): Promise<number> {
  prestartWorker(argv);
  try {
    const { main } = await import('./main.ts');
    return await main(argv);
  } finally {
    releasePrestarted();
  }
}
