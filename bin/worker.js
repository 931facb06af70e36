#!/usr/bin/env node
// Thin entry of a local worker process (forked by `bnn-ablate run`, not for users): load
// TypeScript sources through tsx and serve runs; src/runner/worker-main.ts says why it skips the CLI.
import { register } from 'tsx/esm/api';

register();
const { workerMain } = await import('../src/runner/worker-main.ts');
process.exitCode = await workerMain(process.argv.slice(2));
