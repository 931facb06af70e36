/**
 * The device check, bundled as dist/device/device-check.mjs and started by run.sh [backend]:
 * `backends`, the reference `bench` (configs/bench/hourglass-ref.yaml) and the `ci` grid of
 * experiments/smoke.yaml on one backend, each as a child process of the bundled CLI, summarised in
 * ./device-check.json (written atomically: temp file, then rename). A step that fails is recorded
 * with its error and the check goes on; the exit status is 1 if any step failed.
 *
 * Knobs (environment), for quick checks: BNN_CHECK_STEPS / BNN_CHECK_WARMUP (bench, default
 * 10 / 3), BNN_CHECK_ONLY (passed to `run --only`, e.g. seed=0).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(HERE, 'bin', 'bnn-ablate.js');

interface StepOutcome { ok: boolean; seconds: number; stdout: string; error?: string }

/** Runs the bundled CLI; its stderr is shown once it ends, and its last line is the error. */
function cli(args: string[]): StepOutcome {
  const began = Date.now();
  process.stderr.write(`$ bnn-ablate ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 2 ** 20 });
  process.stderr.write(r.stderr ?? '');
  const seconds = (Date.now() - began) / 1000;
  if (r.status === 0) return { ok: true, seconds, stdout: r.stdout };
  const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
  const last = (r.stderr ?? '').trim().split('\n').at(-1) ?? '';
  return { ok: false, seconds, stdout: r.stdout ?? '', error: `bnn-ablate ${args[0]} failed (${why})${last ? `: ${last}` : ''}` };
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

interface RunSummary { name: string; status: string; metrics?: unknown; error?: string }

/** Every run of the grid with its final metrics (final.json) or its error (meta.json). */
function gridRuns(dir: string): RunSummary[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => {
    const meta = parseJson(readIfExists(path.join(dir, d.name, 'meta.json'))) as { name?: string; status?: string; error?: string } | undefined;
    const metrics = parseJson(readIfExists(path.join(dir, d.name, 'final.json')));
    return { name: meta?.name ?? d.name, status: meta?.status ?? 'unknown', ...(metrics !== undefined && { metrics }), ...(meta?.error && { error: meta.error }) };
  });
}

function readIfExists(p: string): string {
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

function main(): number {
  const backend = process.argv[2] ?? 'webgpu';
  const errors: string[] = [];
  const build = parseJson(readIfExists(path.join(HERE, 'BUILD.json')));

  const probe = cli(['backends', '--json']);
  const report = parseJson(probe.stdout) as { backends?: Array<{ name: string; available: boolean; reason?: string; detail?: string; adapter?: unknown }>; auto?: string } | undefined;
  if (!probe.ok) errors.push(probe.error!);
  const mine = report?.backends?.find((b) => b.name === backend);

  const steps = process.env.BNN_CHECK_STEPS ?? '10';
  const warmup = process.env.BNN_CHECK_WARMUP ?? '3';
  const bench = cli(['bench', path.join(HERE, 'configs', 'bench', 'hourglass-ref.yaml'), '--backend', backend, '--json', '--steps', steps, '--warmup', warmup]);
  const b = parseJson(bench.stdout) as { medianMs?: number; imagesPerSecond?: number; gflopsPerSecond?: number; batchSize?: number; peakRssMb?: number } | undefined;
  if (!bench.ok) errors.push(bench.error!);

  const results = mkdtempSync(path.join(tmpdir(), 'bnn-device-check-'));
  const only = process.env.BNN_CHECK_ONLY ? ['--only', process.env.BNN_CHECK_ONLY] : [];
  const grid = cli(['run', path.join(HERE, 'experiments', 'smoke.yaml'), '--preset', 'ci', '--backend', backend, '--results', results, ...only]);
  if (!grid.ok) errors.push(grid.error!);
  const runs = gridRuns(path.join(results, 'smoke'));
  rmSync(results, { recursive: true, force: true });

  const out = {
    backend,
    available: mine?.available ?? false,
    ...(mine?.reason && { reason: mine.reason }),
    detail: mine?.detail ?? null,
    adapter: mine?.adapter ?? null,
    auto: report?.auto ?? null,
    bench: b ? { config: 'configs/bench/hourglass-ref.yaml', msPerStep: b.medianMs, imagesPerSecond: b.imagesPerSecond, gflopsPerSecond: b.gflopsPerSecond, batchSize: b.batchSize, peakRssMb: b.peakRssMb, steps: Number(steps), warmup: Number(warmup) } : null,
    ci: { experiment: 'experiments/smoke.yaml', preset: 'ci', seconds: grid.seconds, runs },
    errors,
    build,
    node: process.version,
    backends: report?.backends ?? null,
  };
  const file = path.resolve('device-check.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  process.stderr.write(`device-check: wrote ${file}${errors.length ? ` with ${errors.length} error(s)` : ''}\n`);
  return errors.length === 0 ? 0 : 1;
}

process.exitCode = main();
