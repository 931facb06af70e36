import yargs from './yargs-cjs.cts';
import { BnnError, EXIT, UsageError } from '../errors.ts';
import { commands } from './commands.ts';
import { errorOutput } from './error-output.ts';
import { flagErrorLine } from './flag-errors.ts';
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
  completionShell(argv);
  const commandNames = [...commands.map((c) => String(c.command ?? '').split(' ')[0]!).filter(Boolean), 'completion'];
  const parser = yargs(argv)
    .scriptName('bnn-ablate')
    .usage('$0 <command> [options]\n\nAblation grids for binary neural networks (arXiv 1904.05868).')
    .strict()
    .demandCommand(1, 'name a command')
    .help()
    .alias('h', 'help')
    // Built only when asked for: it reads a few package.json files and asks git for the commit.
    .version('version', 'show the tool, tfjs and backend versions', argv.includes('--version') ? versionText() : '')
    .completion('completion', 'print a shell completion script: `completion bash` or `completion zsh` (default: by $SHELL); source it from your shell rc')
    .wrap(helpWidth())
    // Thrown, not recorded: yargs runs the command's handler after a fail callback that returns,
    // so a misspelled flag used to act only after the whole grid had trained.
    .fail((msg, err, usage) => {
      // yargs' own validation errors (YError: a flag without its value, a failed coerce) are bad
      // input; typed errors pass as they are; anything else is a genuine internal error.
      if (err instanceof BnnError || (err && err.name !== 'YError')) throw err;
      if (err) msg = err.message;
      const options = Object.keys((usage as unknown as { getDescriptions(): Record<string, unknown> }).getDescriptions());
      throw new UsageError(flagErrorLine({ message: msg ?? 'bad command line', options, commands: commandNames, argv }));
    });
  for (const command of commands) parser.command(command);
  try {
    await parser.parseAsync();
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    const { code, text } = errorOutput(err, Boolean(process.env.BNN_ABLATE_DEBUG));
    process.stderr.write(text);
    return code;
  }
}
