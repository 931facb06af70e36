import type { CommandModule } from 'yargs';

/** Every command, one file each under src/cli/. Add a command by adding its module here. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [];
