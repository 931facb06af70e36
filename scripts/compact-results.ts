/**
 * Copies the compact, reportable records of a results root into another folder: per study its
 * experiment.json (the plan), per finished run its config.yaml, final.json, metrics.jsonl and
 * meta.json (backend, threads, timing). Checkpoints, models, TensorBoard files and logs stay
 * behind, so the copy is small enough to commit as evidence, and `bnn-ablate report <out>` gives
 * the same tables as the full folder. Unfinished runs (no final.json) are left out; the report
 * then shows them as missing.
 *
 *   node --import tsx scripts/compact-results.ts <results-root> <out-dir> [study-prefix]
 *
 * The copy is built in a sibling temporary folder and renamed over <out-dir>, so an interrupted
 * copy never leaves a half-written evidence folder.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { EXPERIMENT_FILE, FILES } from '../src/results/store.ts';

const RUN_FILES = [FILES.config, FILES.final, FILES.metrics, FILES.meta];

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** Copies one study; returns the number of finished runs copied. */
function copyStudy(from: string, to: string): number {
  mkdirSync(to, { recursive: true });
  cpSync(join(from, EXPERIMENT_FILE), join(to, EXPERIMENT_FILE));
  let runs = 0;
  for (const id of readdirSync(from).sort()) {
    const run = join(from, id);
    if (!isDir(run) || id.startsWith('.') || !existsSync(join(run, FILES.final))) continue;
    mkdirSync(join(to, id));
    for (const f of RUN_FILES) if (existsSync(join(run, f))) cpSync(join(run, f), join(to, id, f));
    runs++;
  }
  return runs;
}

function main(argv: string[]): void {
  const [root, out, prefix = ''] = argv;
  if (!root || !out) {
    process.stderr.write('usage: compact-results.ts <results-root> <out-dir> [study-prefix]\n');
    process.exit(2);
  }
  if (!isDir(root)) {
    process.stderr.write(`${root}: no such results folder\n`);
    process.exit(2);
  }
  const target = resolve(out);
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  let total = 0;
  for (const study of readdirSync(root).sort()) {
    if (!study.startsWith(prefix) || !isDir(join(root, study)) || !existsSync(join(root, study, EXPERIMENT_FILE))) continue;
    const n = copyStudy(join(root, study), join(tmp, study));
    process.stdout.write(`${study}: ${n} finished runs\n`);
    total += n;
  }
  rmSync(target, { recursive: true, force: true });
  renameSync(tmp, target);
  process.stdout.write(`${total} runs copied to ${out}\n`);
}

main(process.argv.slice(2));
