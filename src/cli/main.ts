import yargs from 'yargs';
import { describeError, EXIT } from '../errors.ts';
import { commands } from './commands.ts';

/**
 * Parses argv, runs one command and returns the exit code. The only place where errors become
 * messages: typed errors print one line; anything else prints "internal error" plus the stack
 * when BNN_ABLATE_DEBUG is set.
 */
export async function main(argv: string[]): Promise<number> {
  let parseFailure: string | undefined;
  const parser = yargs(argv)
    .scriptName('bnn-ablate')
    .usage('$0 <command> [options]\n\nAblation grids for binary neural networks (arXiv 1904.05868).')
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) throw err;
      parseFailure = msg;
    });
  for (const command of commands) parser.command(command);
  try {
    await parser.parseAsync();
    if (parseFailure !== undefined) {
      process.stderr.write(`bnn-ablate: ${parseFailure}\n`);
      return EXIT.badInput;
    }
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    const { code, message, internal } = describeError(err);
    process.stderr.write(`bnn-ablate: ${message}\n`);
    if (internal && process.env.BNN_ABLATE_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return code;
  }
}
