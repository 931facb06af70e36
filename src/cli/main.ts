import yargs from './yargs-cjs.cts';
import { describeError, EXIT } from '../errors.ts';
import { commands } from './commands.ts';
import { versionText } from './version.ts';

/** yargs picks the completion script by $SHELL; `completion zsh` and `completion bash` name it outright. */
function completionShell(argv: string[]): void {
  if (argv[0] !== 'completion' || (argv[1] !== 'zsh' && argv[1] !== 'bash')) return;
  process.env.SHELL = `/bin/${argv[1]}`;
  delete process.env.ZSH_NAME;
}

/** Help width: the terminal's, or 100 columns when output is not a terminal (pipes, files, CI logs). */
export function helpWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  return stream.isTTY && stream.columns ? stream.columns : 100;
}

/**
 * Parses argv, runs one command and returns the exit code. The only place where errors become
 * messages: typed errors print one line; anything else prints "internal error" plus the stack
 * when BNN_ABLATE_DEBUG is set.
 */
export async function main(argv: string[]): Promise<number> {
  let parseFailure: string | undefined;
  completionShell(argv);
  const parser = yargs(argv)
    .scriptName('bnn-ablate')
    .usage('$0 <command> [options]\n\nAblation grids for binary neural networks (arXiv 1904.05868).')
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    // Built only when asked for: it reads a few package.json files and asks git for the commit.
    .version('version', 'show the tool, tfjs and backend versions', argv.includes('--version') ? versionText() : '')
    .completion('completion', 'print a shell completion script: `completion bash` or `completion zsh` (default: by $SHELL); source it from your shell rc')
    .wrap(helpWidth())
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
