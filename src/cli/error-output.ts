import { describeError, stackWithCauses } from '../errors.ts';
import { reportLine } from './version.ts';

/**
 * What `main` (and a worker process, runner/worker-main.ts) prints for an error that ends a
 * command, and its exit code: one line for typed errors; internal ones add the "please report"
 * line with versions and backend. With `debug` (BNN_ABLATE_DEBUG), every internal error's stack
 * and any wrapped cause's (a worker's failure, say). Its own module, so that a worker need not
 * load the CLI.
 */
export function errorOutput(err: unknown, debug: boolean): { code: number; text: string } {
  const { code, message, internal } = describeError(err);
  let text = `bnn-ablate: ${message}\n`;
  if (internal) text += `bnn-ablate: ${reportLine()}\n`;
  if (debug && err instanceof Error && (internal || err.cause !== undefined)) text += `${stackWithCauses(err)}\n`;
  return { code, text };
}
