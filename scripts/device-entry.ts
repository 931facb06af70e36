/**
 * Entry of the device bundle (scripts/bundle.ts), which esbuild writes to
 * dist/device/app/cli/bnn-ablate.mjs. Two levels below the bundle root on purpose: the sources
 * find their package root as `new URL('../../', import.meta.url)` (presets, package.json) and
 * the worker entry as `../../bin/worker.js`, and from app/cli/ both land in dist/device/.
 * The bundle's bin/bnn-ablate.js and bin/worker.js both import this one program: started as
 * bin/worker.js it is a local worker process (runner/worker-main.ts), otherwise the CLI.
 * The bundle has no node_modules, so the wasm binaries' folder is named here (wasm.ts reads it).
 */
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../src/cli/entry.ts';
import { workerMain } from '../src/runner/worker-main.ts';

process.env.BNN_WASM_DIR ??= fileURLToPath(new URL('../../wasm/', import.meta.url));
const argv = process.argv.slice(2);
process.exitCode = basename(process.argv[1] ?? '') === 'worker.js' ? await workerMain(argv) : await runCli(argv);
