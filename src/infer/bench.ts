/**
 * `bnn-ablate bench <config> --inference`: packed (XNOR-popcount) against float inference of the
 * config's network, (1) per distinct binary-conv shape, the engine's conv against tf.conv2d of
 * the same shape on the current backend, and (2) the whole model's images/s, the export against
 * the trained-format model, at batch 1 and 32.
 *
 * The network is built from the config with its seeded initial weights (timing does not depend
 * on trained values), saved, and exported through the same code as `bnn-ablate export`. Packed
 * and float repetitions are interleaved, so machine load shared with other jobs hits both alike;
 * each figure is the median of its repetitions.
 */
import tf from '../tf.cjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import type { RunConfig } from '../config/schema.ts';
import { inputChannels } from '../data/index.ts';
import { buildModel } from '../models/build.ts';
import { fileSystemHandler } from '../train/file-io.ts';
import { FILES } from '../results/store.ts';
import { exportRun } from '../export/export.ts';
import type { ExportManifest } from '../export/manifest.ts';
import { convGeometry, type BinaryConvEngine } from './engine.ts';
import { loadExported, type LoadedExport } from './load.ts';
import { packFilter, type PackedFilter } from './pack.ts';

export interface LayerBench {
  /** e.g. "3x3 s1 128->128 @16x16 b8". */
  shape: string;
  engine: string;
  packedMs: number;
  floatMs: number;
  /** floatMs / packedMs: how many times faster the packed conv is. */
  ratio: number;
  /** The same by this process's CPU time (user + system), less sensitive to other jobs on a shared machine. */
  packedCpuMs: number;
  floatCpuMs: number;
  cpuRatio: number;
  /** Layers of the model with this shape (0 for the reference shape when the model has none). */
  layers: number;
}

export interface ModelBench {
  engine: string;
  batch: number;
  packedImagesPerS: number;
  floatImagesPerS: number;
  /** packedImagesPerS / floatImagesPerS. */
  ratio: number;
  /** The same by CPU time. */
  packedCpuImagesPerS: number;
  floatCpuImagesPerS: number;
  cpuRatio: number;
}

export interface InferenceBench {
  backend: string;
  /** The CPU (os.cpus()[0].model): speed figures mean nothing without it. */
  cpu: string;
  /** Each timed engine, with its instruction set where it has several (native) and its threads. */
  engines: Array<{ name: string; isa?: string; threads?: number }>;
  /** Engines left out, with why (e.g. "native: oneDNN not found …"). */
  skippedEngines: string[];
  layers: LayerBench[];
  model: ModelBench[];
  sizes: { packedBytes: number; float32Bytes: number; ratio: number };
}

export interface InferenceBenchOptions {
  engines: BinaryConvEngine[];
  /** Batch of the per-layer timings. Default 8. */
  layerBatch?: number;
  /** Batches of the whole-model timings. Default [1, 32]. */
  modelBatches?: number[];
  /** Timed repetitions per figure (after one untimed). Default 5. */
  reps?: number;
  /** Engines not timed, with why; reported as given. */
  skippedEngines?: string[];
  /** The selected backend's name (selectBackend's: 'native' runs on tfjs's 'wasm' with oneDNN kernels). Default tf.getBackend(). */
  backend?: string;
}

/** The issue's reference shape: 3×3, 128 → 128 channels at 16×16 (timed at the layer batch). */
export const REFERENCE_SHAPE = { k: 3, stride: 1, cin: 128, cout: 128, h: 16, w: 16 };

interface Shape { k: number; stride: number; cin: number; cout: number; h: number; w: number; padding: 'same' | 'valid' }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Timing { wallMs: number; cpuMs: number }

/** Wall and CPU ms of one call. */
function timed(fn: () => void): Timing {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000 };
}

/** Median wall and CPU ms of each of `fns` over `reps` interleaved rounds (one untimed round first). */
function interleavedN(fns: Array<() => void>, reps: number): Timing[] {
  for (const f of fns) f();
  const ts: Timing[][] = fns.map(() => []);
  for (let i = 0; i < reps; i++) fns.forEach((f, j) => ts[j]!.push(timed(f)));
  return ts.map((t) => ({ wallMs: median(t.map((x) => x.wallMs)), cpuMs: median(t.map((x) => x.cpuMs)) }));
}

/** Median wall and CPU ms of `a` and of `b` over `reps` interleaved rounds (one untimed round first). */
function interleaved(a: () => void, b: () => void, reps: number): [Timing, Timing] {
  const [ta, tb] = interleavedN([a, b], reps);
  return [ta!, tb!];
}

/** The distinct binary-conv shapes of an export, with their input sizes from the float model. */
function shapesOf(manifest: ExportManifest, model: tf.LayersModel): Map<string, { shape: Shape; count: number }> {
  const out = new Map<string, { shape: Shape; count: number }>();
  for (const p of manifest.packed) {
    if (p.kind !== 'conv') continue;
    const input = model.getLayer(p.name).input as tf.SymbolicTensor;
    const [, h, w] = input.shape as number[];
    const shape: Shape = { k: p.kernel[0], stride: p.strides, cin: p.kernel[2], cout: p.kernel[3], h: h!, w: w!, padding: p.padding };
    const key = JSON.stringify(shape);
    const e = out.get(key) ?? { shape, count: 0 };
    e.count++;
    out.set(key, e);
  }
  return out;
}

function describe(s: Shape, batch: number): string {
  return `${s.k}x${s.k} s${s.stride} ${s.cin}->${s.cout} @${s.h}x${s.w} b${batch}`;
}

/** One shape: the engine's packed conv (sign + pack + XNOR-popcount + α) against tf.conv2d of the same shape. */
function benchShape(s: Shape, batch: number, engine: BinaryConvEngine, reps: number): Omit<LayerBench, 'shape' | 'engine' | 'layers'> {
  const x = tf.randomNormal([batch, s.h, s.w, s.cin], 0, 1, 'float32', 1) as tf.Tensor4D;
  const kernel = tf.tidy(() => tf.sign(tf.randomNormal([s.k, s.k, s.cin, s.cout], 0, 1, 'float32', 2))) as tf.Tensor4D;
  const { bits, alpha } = packFilter(kernel.dataSync() as Float32Array, s.k, s.k, s.cin, s.cout);
  const filter: PackedFilter = { kh: s.k, kw: s.k, inChannels: s.cin, outChannels: s.cout, bits, alpha, bias: null };
  const g = convGeometry(s.h, s.w, s.k, s.k, s.stride, s.padding);
  const out = new Float32Array(batch * g.outH * g.outW * s.cout);
  const data = x.dataSync() as Float32Array;
  const [p, f] = interleaved(
    () => engine.conv({ data, n: batch, h: s.h, w: s.w, c: s.cin }, 'plus_one', filter, g, out),
    () => tf.tidy(() => { tf.conv2d(x, kernel, s.stride, s.padding).dataSync(); }),
    reps,
  );
  tf.dispose([x, kernel]);
  return { packedMs: p.wallMs, floatMs: f.wallMs, ratio: f.wallMs / p.wallMs, packedCpuMs: p.cpuMs, floatCpuMs: f.cpuMs, cpuRatio: f.cpuMs / p.cpuMs };
}

/** Whole-model images/s, export against float, per engine and batch. */
function benchModel(float: tf.LayersModel, packed: { model: tf.LayersModel; setEngine(e: BinaryConvEngine): void },
  inputShape: number[], opts: Required<InferenceBenchOptions>): ModelBench[] {
  const rows: ModelBench[] = [];
  for (const batch of opts.modelBatches) {
    const x = tf.randomUniform([batch, ...inputShape], -1, 1, 'float32', 3);
    const run = (m: tf.LayersModel) => () => tf.tidy(() => {
      const y = m.predict(x);
      (Array.isArray(y) ? y[y.length - 1]! : y).dataSync();
    });
    for (const engine of opts.engines) {
      packed.setEngine(engine);
      const [p, f] = interleaved(run(packed.model), run(float), Math.max(3, Math.ceil(opts.reps / Math.sqrt(batch))));
      rows.push({
        engine: engine.name, batch, packedImagesPerS: (1000 * batch) / p.wallMs, floatImagesPerS: (1000 * batch) / f.wallMs, ratio: f.wallMs / p.wallMs,
        packedCpuImagesPerS: (1000 * batch) / p.cpuMs, floatCpuImagesPerS: (1000 * batch) / f.cpuMs, cpuRatio: f.cpuMs / p.cpuMs,
      });
    }
    x.dispose();
  }
  return rows;
}

/** The config's network with its seeded initial weights, binarized for inference, saved as a run folder; `fn` gets it. */
async function withBenchRun<T>(config: RunConfig, fn: (dir: string, built: ReturnType<typeof buildModel>) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'bnn-bench-infer-'));
  const size = config.data.input_size;
  const built = buildModel(config, { inputShape: [size, size, inputChannels(config)] });
  try {
    // Inference runs the finished network: binary wherever the config makes it binary.
    if (config.model.binary) built.quant.setBinarization({ features: true, weights: true });
    await built.model.save(fileSystemHandler(join(dir, FILES.model)));
    writeFileSync(join(dir, FILES.config), stringifyYaml(config));
    return await fn(dir, built);
  } finally {
    built.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Whole-model images/s (by wall and by CPU time) of each model on one random batch, the models
 * interleaved round by round (medians); fewer rounds at larger batches, at least 3.
 */
function interleavedImagesPerS(models: tf.LayersModel[], inputShape: readonly number[], batch: number, reps: number): Array<{ wall: number; cpu: number }> {
  const x = tf.randomUniform([batch, ...inputShape], -1, 1, 'float32', 3);
  const run = (m: tf.LayersModel) => () => tf.tidy(() => {
    const y = m.predict(x);
    (Array.isArray(y) ? y[y.length - 1]! : y).dataSync();
  });
  try {
    const timings = interleavedN(models.map(run), Math.max(3, Math.ceil(reps / Math.sqrt(batch))));
    return timings.map((t) => ({ wall: (1000 * batch) / t.wallMs, cpu: (1000 * batch) / t.cpuMs }));
  } finally {
    x.dispose();
  }
}

/** Whole-model images/s at one batch of a fused load, the same export unfused and the float model. */
export interface FusedRates {
  batch: number;
  fusedImagesPerS: number;
  unfusedImagesPerS: number;
  floatImagesPerS: number;
  /** By CPU time: fused over unfused, and each over the float model. */
  fusedCpuImagesPerS: number;
  unfusedCpuImagesPerS: number;
  floatCpuImagesPerS: number;
}

export interface FusionBench extends FusedRates {
  /** Fused PReLUs in the export, of its packed layers. */
  fused: number;
  packedLayers: number;
}

export interface BlockBench extends FusedRates {
  /** PackedBlocks in the fused load (binary HourGlass blocks). */
  blocks: number;
}

/** The three models interleaved round by round at each batch (medians); the two loads disposed after. */
function fusedRates(fused: LoadedExport, unfused: LoadedExport, float: tf.LayersModel, inputShape: readonly number[],
  opts: { reps: number; batches: number[] }): FusedRates[] {
  try {
    return opts.batches.map((batch) => {
      const [a, b, f] = interleavedImagesPerS([fused.model, unfused.model, float], inputShape, batch, opts.reps);
      return {
        batch, fusedImagesPerS: a!.wall, unfusedImagesPerS: b!.wall, floatImagesPerS: f!.wall,
        fusedCpuImagesPerS: a!.cpu, unfusedCpuImagesPerS: b!.cpu, floatCpuImagesPerS: f!.cpu,
      };
    });
  } finally {
    fused.model.dispose();
    unfused.model.dispose();
  }
}

/**
 * The export with each PReLU after a packed layer fused into the engine's epilogue against the
 * same export with the PReLUs as separate layers, and both against the float model: whole-model
 * images/s, the three interleaved round by round (medians).
 */
export async function benchFusion(config: RunConfig, engine: BinaryConvEngine, opts: { reps: number; batches: number[] }): Promise<FusionBench[]> {
  return withBenchRun(config, async (dir, built) => {
    const manifest = await exportRun(dir, join(dir, 'fused'));
    await exportRun(dir, join(dir, 'unfused'), { fusePrelu: false });
    const fused = await loadExported(join(dir, 'fused'), engine);
    const unfused = await loadExported(join(dir, 'unfused'), engine);
    const counts = { fused: manifest.packed.filter((p) => p.prelu != null).length, packedLayers: manifest.packed.length };
    return fusedRates(fused, unfused, built.model, manifest.inputShape, opts).map((r) => ({ ...r, ...counts }));
  });
}

/**
 * One export loaded with each binary HourGlass block as a PackedBlock (branches written into
 * their concat, residual added in the epilogue, where the engine has convBlock) and loaded with
 * its layers as exported, both against the float model: whole-model images/s, the three
 * interleaved round by round (medians).
 */
export async function benchBlocks(config: RunConfig, engine: BinaryConvEngine, opts: { reps: number; batches: number[] }): Promise<BlockBench[]> {
  return withBenchRun(config, async (dir, built) => {
    const manifest = await exportRun(dir, join(dir, 'export'));
    const fused = await loadExported(join(dir, 'export'), engine);
    const unfused = await loadExported(join(dir, 'export'), engine, { fuseBlocks: false });
    const blocks = fused.model.layers.filter((l) => l.getClassName() === 'PackedBlock').length;
    return fusedRates(fused, unfused, built.model, manifest.inputShape, opts).map((r) => ({ ...r, blocks }));
  });
}

export async function benchInference(config: RunConfig, options: InferenceBenchOptions): Promise<InferenceBench> {
  const opts: Required<InferenceBenchOptions> = { layerBatch: 8, modelBatches: [1, 32], reps: 5, skippedEngines: [], backend: tf.getBackend(), ...options };
  return withBenchRun(config, async (dir, built) => {
    const manifest = await exportRun(dir, join(dir, 'export'));
    const packed = await loadExported(join(dir, 'export'), opts.engines[0]!);
    const layers: LayerBench[] = [];
    const shapes = shapesOf(manifest, built.model);
    const ref: Shape = { ...REFERENCE_SHAPE, padding: 'same' };
    if (!shapes.has(JSON.stringify(ref))) shapes.set(JSON.stringify(ref), { shape: ref, count: 0 });
    for (const { shape, count } of shapes.values()) {
      for (const engine of opts.engines) {
        const t = benchShape(shape, opts.layerBatch, engine, opts.reps);
        layers.push({ shape: describe(shape, opts.layerBatch), engine: engine.name, ...t, layers: count });
      }
    }
    const model = benchModel(built.model, packed, manifest.inputShape, opts);
    packed.model.dispose();
    const s = manifest.sizes;
    return {
      backend: opts.backend, cpu: cpus()[0]?.model ?? 'unknown', engines: opts.engines.map(engineInfo), skippedEngines: opts.skippedEngines,
      layers, model, sizes: { packedBytes: s.packedBytes, float32Bytes: s.float32Bytes, ratio: s.ratio },
    };
  });
}

function engineInfo(e: BinaryConvEngine): { name: string; isa?: string; threads?: number } {
  const n = e as BinaryConvEngine & { isa?: string; threads?: number };
  return { name: e.name, ...(n.isa === undefined ? {} : { isa: n.isa }), ...(n.threads === undefined ? {} : { threads: n.threads }) };
}

/** The two tables as text: wall-clock medians, and the ratio by CPU time beside them. */
export function formatInferenceBench(b: InferenceBench): string {
  const f = (n: number, d = 2) => n.toFixed(d);
  const engines = b.engines.map((e) => `${e.name}${e.isa === undefined ? '' : ` ${e.isa}`}${e.threads === undefined ? '' : ` ${e.threads} thread${e.threads === 1 ? '' : 's'}`}`);
  const lines = [`cpu ${b.cpu}; engines ${engines.join(', ')}${b.skippedEngines.length === 0 ? '' : ` (left out: ${b.skippedEngines.join('; ')})`}`,
    `backend ${b.backend}; weights ${f(b.sizes.packedBytes / 1024)} kB packed vs ${f(b.sizes.float32Bytes / 1024)} kB float32 (${f(b.sizes.ratio)}x smaller)`,
    '', 'binary conv (packed = sign + pack + XNOR-popcount + α; float = tf.conv2d); medians, wall clock and CPU time',
    `${'shape'.padEnd(30)} ${'layers'.padStart(6)} ${'engine'.padEnd(6)} ${'packed ms'.padStart(10)} ${'float ms'.padStart(10)} ${'ratio'.padStart(7)} ${'cpu ratio'.padStart(9)}`];
  for (const l of b.layers) {
    lines.push(`${l.shape.padEnd(30)} ${String(l.layers).padStart(6)} ${l.engine.padEnd(6)} ${f(l.packedMs, 3).padStart(10)} ${f(l.floatMs, 3).padStart(10)} ${f(l.ratio).padStart(7)} ${f(l.cpuRatio).padStart(9)}`);
  }
  lines.push('', 'whole model (images/s, wall clock)', `${'engine'.padEnd(6)} ${'batch'.padStart(5)} ${'packed'.padStart(10)} ${'float'.padStart(10)} ${'ratio'.padStart(7)} ${'cpu ratio'.padStart(9)}`);
  for (const m of b.model) {
    lines.push(`${m.engine.padEnd(6)} ${String(m.batch).padStart(5)} ${f(m.packedImagesPerS, 1).padStart(10)} ${f(m.floatImagesPerS, 1).padStart(10)} ${f(m.ratio).padStart(7)} ${f(m.cpuRatio).padStart(9)}`);
  }
  return `${lines.join('\n')}\n`;
}
