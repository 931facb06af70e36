/**
 * `bnn-ablate export <run-dir>`: a finished run's model with every binary layer as packed sign
 * bits (pack.ts layout) and α per output channel, the real layers as float32, a manifest and a
 * size table (manifest.ts).
 *
 * Exactness: the packed bits and α are read from the very tensor the trained model's forward
 * computes (binarizeWeightsHard on the latent kernel, on the same backend), so α is the float
 * the float path multiplies by. The batch norm (and a pre-placed activation) feeding a binary
 * layer's sign is folded into per-channel sign thresholds where that is exact (fold.ts). No batch
 * norm FOLLOWS a binary conv as its sole consumer in these architectures (each conv's output also
 * feeds a concat or a residual add), so none is folded into α and a bias (docs/export.md).
 */
import tf from '../tf.cjs';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, DataError, ResultsError } from '../errors.ts';
import { FILES } from '../results/store.ts';
import { writeFileAtomic } from '../results/atomic.ts';
import { fileSystemHandler, WEIGHTS_BIN } from '../train/file-io.ts';
import { loadModel } from '../models/build.ts';
import { summarizeModel } from '../models/summary.ts';
import { binarizeWeightsHard } from '../binary/quantizers.ts';
import { isQuantizedLayer, type QuantState } from '../binary/quant-state.ts';
import type { RunConfig } from '../config/schema.ts';
import { PACKED_LAYOUT, packFilter } from '../infer/pack.ts';
import { type Fold, planFold } from './fold.ts';
import {
  EXPORT_CONFIG, EXPORT_FORMAT, EXPORT_VERSION, EXPORT_WEIGHTS, MANIFEST_JSON, sha256,
  type ExportManifest, type PackedLayerEntry, type SizeRow,
} from './manifest.ts';

const LAYOUT_DESCRIPTION = 'channel c of a tap = bit c & 31 of little-endian uint32 word c >> 5, set = -1, '
  + 'channels padded to 32 with clear bits; filters [out,kh,kw,words] (OHWI), activations [n,h,w,words]';

/** The run folder's config, checked to be a finished run with a saved model. */
function readRun(runDir: string): { config: RunConfig; final: Record<string, unknown> | null; backend: string | null } {
  const configPath = join(runDir, FILES.config);
  if (!existsSync(configPath)) throw new ResultsError(`${runDir}: not a run folder (no ${FILES.config})`);
  if (!existsSync(join(runDir, FILES.model, 'model.json'))) {
    throw new ResultsError(`${join(runDir, FILES.model)}: no trained model here; export needs a finished run`);
  }
  const config = parseYaml(readFileSync(configPath, 'utf8')) as RunConfig;
  const readJson = (file: string) => {
    try {
      return JSON.parse(readFileSync(join(runDir, file), 'utf8')) as Record<string, unknown>;
    } catch {
      return null;
    }
  };
  const meta = readJson(FILES.meta);
  const backend = (meta?.backend as { name?: string } | null | undefined)?.name ?? null;
  return { config, final: readJson(FILES.final), backend };
}

/** The backend the run trained on (meta.json), which export and evaluate use by default. */
export function runBackend(runDir: string): string | null {
  return readRun(resolve(runDir)).backend;
}

/** A binary layer's kernel as the trained forward binarizes it, packed. Refuses layers that do not evaluate as hard sign × hard sign. */
function packLayer(layer: tf.layers.Layer & { quant: QuantState; latentKernel(): tf.LayerVariable | null }, config: RunConfig) {
  const q = layer.quant;
  const f = q.featureMode(false);
  const w = q.weightMode(false);
  if (f !== 'hard' || w !== 'hard') {
    throw new ConfigError(`${layer.name}: evaluates with ${f} features and ${w} weights, not sign × sign `
      + `(binarize.order=${config.binarize.order}, progressive.eval_hard_sign=${config.progressive.eval_hard_sign}); nothing to pack`);
  }
  const kernel = layer.latentKernel()!;
  const shape = kernel.shape.length === 4 ? kernel.shape as number[] : [1, 1, ...kernel.shape as number[]];
  const s = q.settings;
  const data = tf.tidy(() => binarizeWeightsHard(kernel.read(), s.weightScale, s.gradient, s.swishBeta).dataSync() as Float32Array);
  const [kh, kw, cin, cout] = shape as [number, number, number, number];
  return { shape: [kh, kw, cin, cout] as [number, number, number, number], ...packFilter(data, kh, kw, cin, cout) };
}

interface TopologyLayer { class_name: string; config: Record<string, unknown>; [k: string]: unknown }

/**
 * The PReLU to fuse into binary layer `layer`'s epilogue, or null: the layer's one consumer is a
 * tf PReLU with one slope per output channel (shared over space), reading nothing else, and not
 * folded elsewhere. Exact on the wasm and native backends, whose Prelu the engines compute
 * (engine.ts `prelu`); a packed layer on another backend runs that backend's Prelu after the conv.
 */
function planPrelu(layer: tf.layers.Layer, folded: Set<string>): tf.layers.Layer | null {
  if (layer.inboundNodes.length !== 1 || layer.outboundNodes.length !== 1) return null;
  const next = layer.outboundNodes[0]!.outboundLayer;
  if (next.getClassName() !== 'PReLU' || folded.has(next.name) || next.inboundNodes.length !== 1) return null;
  const inputs = next.inboundNodes[0]!.inboundLayers;
  if (inputs.length !== 1 || inputs[0] !== layer) return null;
  const slope = next.getWeights()[0];
  const channels = (layer.outputShape as number[]).at(-1);
  return slope !== undefined && slope.size === channels ? next : null;
}

/** Rewrites every reference to a removed layer (inbound nodes, model outputs) to the layer standing in for it. */
function renameReferences(node: unknown, to: Map<string, string>): unknown {
  if (Array.isArray(node)) {
    // A reference is [layerName, nodeIndex, tensorIndex, ...].
    if (typeof node[0] === 'string' && typeof node[1] === 'number' && to.has(node[0])) return [to.get(node[0]), ...node.slice(1)];
    return node.map((n) => renameReferences(n, to));
  }
  return node;
}

/**
 * The topology with each binary layer's entry replaced by a PackedBinaryLayer of the same
 * geometry, the folded layers and the fused PReLUs removed (their consumers read the packed layer).
 */
function packedTopology(topology: unknown, entries: PackedLayerEntry[], signAtZero: string, folded: Set<string>): unknown {
  const copy = structuredClone(topology) as { config: { layers: TopologyLayer[]; output_layers?: unknown } };
  const byName = new Map(copy.config.layers.map((l) => [String(l.config.name), l]));
  for (const l of copy.config.layers) {
    const e = entries.find((p) => p.name === l.config.name);
    if (e === undefined) continue;
    // A folded chain's first layer's inputs become the packed layer's inputs.
    if (e.folded.length > 0) l.inbound_nodes = byName.get(e.folded[0]!)!.inbound_nodes;
    l.class_name = 'PackedBinaryLayer';
    l.config = {
      name: e.name, trainable: false, dtype: 'float32', filters: e.kernel[3], kernel_size: e.kernel[0], strides: e.strides,
      padding: e.padding, use_bias: e.bias, in_channels: e.kernel[2], sign_at_zero: signAtZero, dense: e.kind === 'dense',
      ...(e.prelu == null ? {} : { fused_prelu: true }),
    };
  }
  const fused = new Map(entries.flatMap((e) => (e.prelu == null ? [] : [[e.prelu.layer, e.name] as [string, string]])));
  copy.config.layers = copy.config.layers.filter((l) => !folded.has(String(l.config.name)) && !fused.has(String(l.config.name)));
  for (const l of copy.config.layers) l.inbound_nodes = renameReferences(l.inbound_nodes, fused);
  copy.config.output_layers = renameReferences(copy.config.output_layers, fused);
  return copy;
}

function layerOf(specName: string): string {
  return specName.split('/')[0]!;
}

/** The export's one weights file as it is written: every part's bytes, in order, each with its span. */
class WeightsFile {
  private readonly parts: Uint8Array[] = [];
  offset = 0;

  append(bytes: Uint8Array): { offset: number; bytes: number } {
    const span = { offset: this.offset, bytes: bytes.byteLength };
    this.parts.push(bytes);
    this.offset += bytes.byteLength;
    return span;
  }

  bytes(): Uint8Array {
    return concat(this.parts);
  }
}

/** The size table's rows, by layer, in the order layers first appear. */
class SizeTable {
  readonly rows = new Map<string, SizeRow>();

  row(layer: string, kind: SizeRow['kind']): SizeRow {
    const r = this.rows.get(layer) ?? { layer, kind, packedBytes: 0, float32Bytes: 0 };
    this.rows.set(layer, r);
    return r;
  }
}

type BinaryLayer = Parameters<typeof packLayer>[0];

/** The binary layers' packed bits, α and (where a batch norm folds in) thresholds, appended to the weights. */
function packBinaryLayers(binary: BinaryLayer[], folds: Map<string, Fold | null>, prelus: Map<string, tf.layers.Layer>, config: RunConfig,
  file: WeightsFile, sizes: SizeTable): PackedLayerEntry[] {
  const entries: PackedLayerEntry[] = [];
  for (const layer of binary) {
    const p = packLayer(layer, config);
    const bits = file.append(new Uint8Array(p.bits.buffer));
    const alpha = file.append(new Uint8Array(p.alpha.buffer));
    const fold = folds.get(layer.name) ?? null;
    const thresholds = fold === null ? null : file.append(new Uint8Array(fold.table.buffer));
    const act = prelus.get(layer.name);
    // The slopes exactly as saved: the float32 values the trained PReLU multiplies by.
    const slope = act === undefined ? null : file.append(new Uint8Array((act.getWeights()[0]!.dataSync() as Float32Array).slice().buffer));
    const useBias = (layer as unknown as { useBias: boolean }).useBias;
    entries.push({
      name: layer.name, kind: layer.getClassName() === 'BinaryDense' ? 'dense' : 'conv', kernel: p.shape,
      strides: (layer as unknown as { strides?: number }).strides ?? 1,
      padding: (layer as unknown as { padding?: 'same' | 'valid' }).padding ?? 'valid', bits, alpha, bias: useBias,
      thresholds, folded: fold === null ? [] : fold.layers.map((l) => l.name),
      prelu: act === undefined || slope === null ? null : { layer: act.name, slope },
    });
    const r = sizes.row(layer.name, 'binary');
    r.kind = 'binary';
    r.packedBytes += bits.bytes + alpha.bytes;
    r.float32Bytes += 4 * p.shape.reduce((a, b) => a * b, 1);
    // The thresholds stand in for the folded batch norm's weights: counted on its row.
    if (fold !== null && thresholds !== null) sizes.row(fold.layers[0]!.name, 'real').packedBytes += thresholds.bytes;
    if (act !== undefined && slope !== null) sizes.row(act.name, 'real').packedBytes += slope.bytes;
  }
  return entries;
}

/** What the weights file holds, and where: the input to the manifest. */
interface Packed {
  dir: string;
  run: ReturnType<typeof readRun>;
  built: Awaited<ReturnType<typeof loadModel>>;
  topology: unknown;
  folds: Map<string, Fold | null>;
  folded: Set<string>;
  binaryCount: number;
  realSpecs: tf.io.WeightsManifestEntry[];
  realSpan: { offset: number; bytes: number };
  entries: PackedLayerEntry[];
  sizes: SizeTable;
  weights: Uint8Array;
}

function manifestOf(p: Packed): ExportManifest {
  const { run, built, weights } = p;
  const t = summarizeModel(built.model, { quant: built.quant }).totals;
  const float32Bytes = statSync(join(p.dir, FILES.model, WEIGHTS_BIN)).size;
  return {
    format: EXPORT_FORMAT, version: EXPORT_VERSION, layout: PACKED_LAYOUT, layoutDescription: LAYOUT_DESCRIPTION,
    source: { runDir: p.dir, runId: basename(p.dir), backend: run.backend },
    task: run.config.task, arch: run.config.model.arch,
    inputShape: built.model.inputs[0]!.shape.slice(1) as number[],
    choices: choicesOf(run.config, built.quant),
    batchNorm: `${p.folded.size} layers (batch norms, and activations before the sign) folded into exact sign thresholds of `
      + `${[...p.folds.values()].filter((f) => f !== null).length} of ${p.binaryCount} binary layers; the rest float32 `
      + '(no batch norm is a binary conv\'s sole consumer, so none after one is folded)',
    topology: packedTopology(p.topology, p.entries, run.config.model.sign_at_zero, p.folded),
    real: { specs: p.realSpecs, span: p.realSpan },
    packed: p.entries,
    sizes: { layers: [...p.sizes.rows.values()], packedBytes: weights.byteLength, float32Bytes, ratio: float32Bytes / weights.byteLength },
    ops: { macs: t.macs, flops: t.flops, bops: t.bops, ops: t.ops },
    trained: run.final,
    checksum: { algorithm: 'sha256', weights: sha256(weights) },
  };
}

/** Packs the loaded model: real weights first (float32), then each binary layer's bits, α and thresholds. */
function pack(dir: string, run: ReturnType<typeof readRun>, built: Packed['built'], artifacts: tf.io.ModelArtifacts, opts: ExportOptions): Packed {
  const file = new WeightsFile();
  const sizes = new SizeTable();
  const weightData = new Uint8Array(new tf.io.CompositeArrayBuffer(artifacts.weightData!).slice());
  const binary = built.model.layers.filter(isQuantizedLayer);
  const signAtZero = built.quant.settings.signAtZero;
  const folds = new Map(binary.map((l) => [l.name, planFold(l, signAtZero)] as const));
  const folded = new Set([...folds.values()].flatMap((f) => (f === null ? [] : f.layers.map((l) => l.name))));
  const prelus = new Map<string, tf.layers.Layer>();
  if (opts.fusePrelu !== false) {
    for (const l of binary) {
      const act = planPrelu(l, folded);
      if (act !== null) prelus.set(l.name, act);
    }
  }
  const fusedNames = new Set([...prelus.values()].map((l) => l.name));
  const packedNames = new Set(binary.map((l) => `${l.name}/kernel`));
  const skip = (spec: string) => packedNames.has(spec) || folded.has(layerOf(spec)) || fusedNames.has(layerOf(spec));
  const realSpecs = appendRealWeights(artifacts.weightSpecs!, weightData, skip, (b) => file.append(b), (l, k) => sizes.row(l, k));
  const realSpan = { offset: 0, bytes: file.offset };
  const entries = packBinaryLayers(binary, folds, prelus, run.config, file, sizes);
  return {
    dir, run, built, topology: artifacts.modelTopology, folds, folded, binaryCount: binary.length, realSpecs, realSpan, entries, sizes,
    weights: file.bytes(),
  };
}

export interface ExportOptions {
  /**
   * Fuse each PReLU that is a binary layer's sole consumer into the engine's epilogue (default
   * true). false keeps it a separate layer: the same floats, one pass over the output more (the
   * tests and bench/fused-prelu.ts compare the two).
   */
  fusePrelu?: boolean;
}

/** Writes the export of the finished run at `runDir` into `outDir` (default `<runDir>/export`) and returns its manifest. */
export async function exportRun(runDir: string, outDir?: string, opts: ExportOptions = {}): Promise<ExportManifest> {
  const dir = resolve(runDir);
  const out = resolve(outDir ?? join(dir, 'export'));
  const run = readRun(dir);
  const artifacts = await fileSystemHandler(join(dir, FILES.model)).load();
  const built = await loadModel(fileSystemHandler(join(dir, FILES.model)));
  try {
    const packed = pack(dir, run, built, artifacts, opts);
    const manifest = manifestOf(packed);
    mkdirSync(out, { recursive: true });
    writeFileAtomic(join(out, EXPORT_WEIGHTS), packed.weights);
    copyFileSync(join(dir, FILES.config), join(out, EXPORT_CONFIG));
    writeFileAtomic(join(out, MANIFEST_JSON), `${JSON.stringify(manifest)}\n`);
    return manifest;
  } finally {
    built.dispose();
  }
}

/** Copies the weights neither packed nor folded (float32 only) and counts them in the size table. */
function appendRealWeights(specs: tf.io.WeightsManifestEntry[], data: Uint8Array, skip: (spec: string) => boolean,
  append: (b: Uint8Array) => unknown, row: (layer: string, kind: SizeRow['kind']) => SizeRow): tf.io.WeightsManifestEntry[] {
  const kept: tf.io.WeightsManifestEntry[] = [];
  let at = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32' || spec.quantization) throw new DataError(`saved weight ${spec.name}: dtype ${spec.dtype} not supported by export (float32 only)`);
    const bytes = 4 * spec.shape.reduce((a, b) => a * b, 1);
    const r = row(layerOf(spec.name), 'real');
    if (!skip(spec.name)) {
      append(data.slice(at, at + bytes));
      kept.push(spec);
      r.packedBytes += bytes;
      r.float32Bytes += bytes;
    }
    at += bytes;
  }
  return kept;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function choicesOf(config: RunConfig, quant: QuantState): Record<string, string> {
  const s = quant.settings;
  return {
    sign_at_zero: s.signAtZero,
    activation: config.model.activation,
    activation_placement: config.model.activation_placement,
    weight_scale: s.weightScale,
    gradient: s.gradient,
    'binarize.order': config.binarize.order,
    keep_real: config.model.keep_real.join(',') || '-',
    progressive: s.progressive.enabled ? `on, eval ${s.progressive.evalHardSign ? 'hard sign' : 'smooth'}` : 'off',
  };
}
