/**
 * yargs' validation messages turned into the one line the CLI prints: unknown flags name the flag
 * and the nearest known one ("did you mean"), unknown commands the nearest command, and
 * multi-line messages (choices) are folded onto one line. main.ts throws the result as a
 * UsageError from yargs' fail callback, so a bad flag stops the command before its handler runs.
 */
import { nearest } from '../config/keys.ts';

export interface FlagContext {
  /** yargs' message. */
  message: string;
  /** Options the current command knows (kebab-case, as described in its help). */
  options: string[];
  /** Command names, for a misspelled command. */
  commands: string[];
  /** The raw command line, to tell flags from positionals. */
  argv: string[];
}

const UNKNOWN = /^Unknown arguments?: (.*)$/s;

/** Whether `name` appears on the command line as a flag (`--name`, `--name=v`, `-n`, `--no-name`). */
function givenAsFlag(name: string, argv: string[]): boolean {
  return argv.some((a) => {
    const flag = a.replace(/=.*$/s, '');
    return flag === `--${name}` || flag === `-${name}` || flag === `--no-${name}`;
  });
}

/** yargs lists both the flag and its camelCase alias; keep the spelling the user typed. */
function typedNames(list: string, argv: string[]): string[] {
  const names = list.split(', ').map((n) => n.trim()).filter(Boolean);
  const typed = names.filter((n) => givenAsFlag(n, argv) || argv.includes(n));
  return typed.length > 0 ? typed : names;
}

/** Long flags on the command line that the command does not know (before a `--`). */
function unknownLongFlags(argv: string[], options: string[]): string[] {
  const end = argv.indexOf('--');
  return (end >= 0 ? argv.slice(0, end) : argv)
    .filter((a) => a.startsWith('--') && a.length > 2)
    .map((a) => a.slice(2).replace(/=.*$/s, ''))
    .filter((n) => !options.includes(n) && !(n.startsWith('no-') && options.includes(n.slice(3))));
}

export function flagErrorLine(ctx: FlagContext): string {
  const unknown = UNKNOWN.exec(ctx.message);
  if (!unknown) {
    // Another complaint (a missing argument, no command) hides a misspelled flag: name the flag first.
    const flags = unknownLongFlags(ctx.argv, ctx.options);
    if (flags.length > 0) return flagErrorLine({ ...ctx, message: `Unknown arguments: ${flags.join(', ')}` });
    return `${ctx.message.replace(/\s*\n\s*/g, ' ').trim()}; see --help`;
  }
  const names = typedNames(unknown[1]!, ctx.argv);
  const first = names[0]!;
  const more = names.length > 1 ? ` (and ${names.slice(1).map((n) => (givenAsFlag(n, ctx.argv) ? `--${n}` : `'${n}'`)).join(', ')})` : '';
  if (givenAsFlag(first, ctx.argv)) {
    const guess = nearest(first, ctx.options.filter((o) => o.length > 1));
    return `unknown option --${first}${guess ? ` (did you mean --${guess}?)` : ''}${more}; see --help`;
  }
  if (ctx.argv.find((a) => !a.startsWith('-')) === first) {
    const guess = nearest(first, ctx.commands);
    return `unknown command '${first}'${guess ? ` (did you mean '${guess}'?)` : ` (commands: ${ctx.commands.join(', ')})`}`;
  }
  return `unexpected argument '${first}'${more}; see --help`;
}
