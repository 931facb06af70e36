#!/usr/bin/env node
// Thin entry: load TypeScript sources through tsx, parse the command line, map errors to exit codes.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
