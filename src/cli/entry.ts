import { prestartWorker, releasePrestarted } from '../runner/prestart.cjs';

/**
 * What bin/bnn-ablate.js runs: `main` parses and runs the command. `run` forked its first worker
 * before the CLI loaded (prestart.cjs says why): bin/ did, before tsx, and here it is a no-op
 * except in the device bundle, whose bin imports the bundled program directly. A worker the
 * command did not take (Slurm, bad input, nothing to train) is released when it returns.
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
