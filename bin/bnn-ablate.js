#!/usr/bin/env node
// Thin entry: load TypeScript sources through tsx, parse the command line, map errors to exit codes.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/entry.ts');
process.exitCode = await runCli(process.argv.slice(2));
