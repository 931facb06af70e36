#!/usr/bin/env node
// Thin entry: load TypeScript sources through tsx, parse the command line, map errors to exit codes.
// `run` forks its first worker before tsx loads (src/runner/prestart.cjs says why).
import { prestartWorker } from '../src/runner/prestart.cjs';

prestartWorker(process.argv.slice(2));
const { register } = await import('tsx/esm/api');
register();
const { runCli } = await import('../src/cli/entry.ts');
process.exitCode = await runCli(process.argv.slice(2));
