import type { CommandModule } from 'yargs';
import { planCommand } from './plan.ts';
import { backendsCommand } from './backends.ts';
import { dataCommand } from './data.ts';
import { pckhCommand } from './pckh.ts';
import { pckCommand } from './pck.ts';
import { reportCommand } from './report.ts';
import { powerCommand } from './power.ts';
import { checkCommand } from './check.ts';
import { runCommand, runOneCommand } from './run.ts';
import { statusCommand } from './status.ts';
import { benchCommand, summaryCommand } from './model.ts';
import { evaluateCommand, exportCommand } from './export.ts';

/** Every command, one file each under src/cli/. Add a command by adding its module here. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [planCommand, runCommand, runOneCommand, statusCommand, summaryCommand, benchCommand, exportCommand, evaluateCommand, backendsCommand, pckhCommand, pckCommand, dataCommand, reportCommand, powerCommand, checkCommand];
