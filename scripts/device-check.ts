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

interface StepOutcome { ok: boolean; seconds: number; stdout: string; stderr: string; error?: string }

/** Runs the bundled CLI; its stderr is shown once it ends, and its last line is the error. */
function cli(args: string[]): StepOutcome {
  const began = Date.now();
  process.stderr.write(`$ bnn-ablate ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 2 ** 20 });
  process.stderr.write(r.stderr ?? '');
  const seconds = (Date.now() - began) / 1000;
  if (r.status === 0) return { ok: true, seconds, stdout: r.stdout, stderr: r.stderr ?? '' };
  const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
  const last = (r.stderr ?? '').trim().split('\n').at(-1) ?? '';
  return { ok: false, seconds, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: `bnn-ablate ${args[0]} failed (${why})${last ? `: ${last}` : ''}` };
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

interface BaselineRow { label: string; n: number; mean: number; std: number }

/**
 * The grid's mean PCKh per row against the committed CPU baseline (baselines/ci.json, three seeds
 * on wasm): z = (mean − baseline mean) / baseline std, within = |z| ≤ 2 — the issue's "within the
 * CPU backends' seed spread". Rows are matched by label (`binary=true` and the run `binary=true,seed=0`).
 */
function againstBaseline(runs: RunSummary[]): unknown[] {
  const baseline = parseJson(readIfExists(path.join(HERE, 'baselines', 'ci.json'))) as
    { experiments?: { smoke?: { metric: string; rows: BaselineRow[] } } } | undefined;
  const smoke = baseline?.experiments?.smoke;
  if (!smoke) return [];
  return smoke.rows.map((row) => {
    const values = runs.filter((r) => r.name.startsWith(`${row.label},`))
      .map((r) => (r.metrics as { metrics?: Record<string, unknown> } | undefined)?.metrics?.[smoke.metric])
      .filter((v): v is number => typeof v === 'number');
    const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    const z = mean === null || row.std === 0 ? null : (mean - row.mean) / row.std;
    return { row: row.label, metric: smoke.metric, n: values.length, mean, baselineMean: row.mean, baselineStd: row.std, baselineN: row.n, z, within: z === null ? null : Math.abs(z) <= 2 };
  });
}

function readIfExists(p: string): string {
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}

/** First lines of a command's output, or why it did not run: for the report, never fatal. */
function probe(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `unavailable: ${r.error.message}`;
  return `${r.stdout}${r.stderr}`.trim().split('\n').slice(0, 8).join('\n');
}

/** What decides whether Dawn finds a GPU: the driver, the Vulkan loader and its ICD manifests. */
function gpuEnvironment(): Record<string, unknown> {
  const icdDirs = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'];
  const libs = probe('sh', ['-c', "ldconfig -p | grep -E 'libvulkan.so|libGLX_nvidia|libnvidia-gpucomp|libcuda.so' || true"]);
  return {
    nvidiaSmi: probe('nvidia-smi', ['--query-gpu=name,driver_version,memory.total,compute_cap', '--format=csv,noheader']),
    icdFiles: icdDirs.flatMap((d) => (existsSync(d) ? readdirSync(d).map((f) => path.join(d, f)) : [])),
    vkDriverFiles: process.env.VK_DRIVER_FILES ?? null,
    ldLibraryPath: process.env.LD_LIBRARY_PATH ?? null,
    nvidiaDriverCapabilities: process.env.NVIDIA_DRIVER_CAPABILITIES ?? null,
    libraries: libs,
  };
}

function main(): number {
  const backend = process.argv[2] ?? 'webgpu';
  const errors: string[] = [];
  const build = parseJson(readIfExists(path.join(HERE, 'BUILD.json')));

  const probe = cli(['backends', '--json']);
  const report = parseJson(probe.stdout) as { backends?: Array<{ name: string; available: boolean; reason?: string; detail?: string; adapter?: unknown }>; auto?: string } | undefined;
  if (!probe.ok) errors.push(probe.error!);
  const mine = report?.backends?.find((b) => b.name === backend);

  // Dawn reports why it rejected an adapter only as warnings on stderr: keep them for the report.
  const dawnWarnings = probe.stderr.split('\n').filter((l) => /^Warning:|^ - While|^error:/.test(l)).slice(0, 20);
  // With the backend unavailable, bench and the grid would only repeat the reason.
  const usable = mine?.available === true;
  if (mine && !usable) errors.push(`${backend} is not available: ${mine.reason ?? 'unknown reason'}`);

  const steps = process.env.BNN_CHECK_STEPS ?? '10';
  const warmup = process.env.BNN_CHECK_WARMUP ?? '3';
  let b: { medianMs?: number; imagesPerSecond?: number; gflopsPerSecond?: number; batchSize?: number; peakRssMb?: number } | undefined;
  let runs: RunSummary[] = [];
  let gridSeconds = 0;
  if (usable) {
    const bench = cli(['bench', path.join(HERE, 'configs', 'bench', 'hourglass-ref.yaml'), '--backend', backend, '--json', '--steps', steps, '--warmup', warmup]);
    b = parseJson(bench.stdout) as typeof b;
    if (!bench.ok) errors.push(bench.error!);
    const results = mkdtempSync(path.join(tmpdir(), 'bnn-device-check-'));
    const only = process.env.BNN_CHECK_ONLY ? ['--only', process.env.BNN_CHECK_ONLY] : [];
    const grid = cli(['run', path.join(HERE, 'experiments', 'smoke.yaml'), '--preset', 'ci', '--backend', backend, '--results', results, ...only]);
    if (!grid.ok) errors.push(grid.error!);
    runs = gridRuns(path.join(results, 'smoke'));
    gridSeconds = grid.seconds;
    rmSync(results, { recursive: true, force: true });
  }

  const out = {
    backend,
    available: mine?.available ?? false,
    ...(mine?.reason && { reason: mine.reason }),
    detail: mine?.detail ?? null,
    adapter: mine?.adapter ?? null,
    auto: report?.auto ?? null,
    bench: b ? { config: 'configs/bench/hourglass-ref.yaml', msPerStep: b.medianMs, imagesPerSecond: b.imagesPerSecond, gflopsPerSecond: b.gflopsPerSecond, batchSize: b.batchSize, peakRssMb: b.peakRssMb, steps: Number(steps), warmup: Number(warmup) } : null,
    ci: usable ? { experiment: 'experiments/smoke.yaml', preset: 'ci', seconds: gridSeconds, vsCpuBaseline: againstBaseline(runs), runs } : null,
    errors,
    build,
    node: process.version,
    gpuEnvironment: gpuEnvironment(),
    dawnWarnings,
    backends: report?.backends ?? null,
  };
  const file = path.resolve('device-check.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(out, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  process.stderr.write(`device-check: wrote ${file}${errors.length ? ` with ${errors.length} error(s)` : ''}\n`);
  return errors.length === 0 ? 0 : 1;
}

process.exitCode = main();
