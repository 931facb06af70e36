/**
 * A Larq-style model summary (larq `models.summary`, larq/models.py) as a pure function of a
 * built model: per layer its output shape, parameters by precision, memory and MACs; totals with
 * the size at 1 bit against the float32 equivalent, the compression ratio and the share of binary
 * MACs. It reads the quantization state as it is now, so a real-first stage reports 0 % binary.
 * Conventions, as Larq's: a binarized kernel counts as 1-bit (α is derived from it and not
 * counted); a MAC is binary only when both its input and its kernel are; only conv and dense
 * layers count MACs; sizes are bytes with 1 kB = 1024 B. OPs follow the binary-network papers
 * (Bi-Real Net, Liu et al. 2018; Real-to-Binary, Martinez et al. 2020): OPs = FLOPs + BOPs / 64,
 * where FLOPs counts real multiply-accumulates (their ResNet-18 has 1.8·10⁹ FLOPs, its MAC count)
 * and BOPs binary ones, since one 64-bit XNOR + popcount does 64.
 */
import type * as tf from '@tensorflow/tfjs';
import { isQuantizedLayer, type QuantState } from '../binary/quant-state.ts';

export interface LayerSummary {
  name: string;
  /** tfjs class name, e.g. BinaryConv2D, Conv2D, BatchNormalization. */
  className: string;
  /** Output shape without the batch dimension, e.g. [16, 16, 128]. */
  outputShape: number[];
  /** Parameters stored at 1 bit (binarized kernels). */
  params1bit: number;
  /** Parameters stored at 32 bits (everything else, BN statistics included). */
  params32bit: number;
  /** Bytes: params1bit / 8 + 4 · params32bit. */
  memoryBytes: number;
  /** Multiply-accumulates per image with both operands binary. */
  macsBinary: number;
  /** Multiply-accumulates per image with a real operand. */
  macsReal: number;
}

export interface ModelSummary {
  name: string;
  layers: LayerSummary[];
  /** Choices a reader needs to interpret the numbers (placement, sign at zero, flags, …). */
  choices: Record<string, string>;
  totals: {
    params: number;
    trainableParams: number;
    nonTrainableParams: number;
    params1bit: number;
    params32bit: number;
    /** Bytes at the stated precisions. */
    modelBytes: number;
    /** Bytes if every parameter were float32. */
    float32Bytes: number;
    /** float32Bytes / modelBytes. */
    compressionRatio: number;
    /** MACs per image. */
    macs: number;
    macsBinary: number;
    /** macsBinary / macs (0 when there are no MACs). */
    binaryMacRatio: number;
    /** FLOPs in the binary-network papers' convention: real multiply-accumulates (= macs − macsBinary). */
    flops: number;
    /** BOPs: binary multiply-accumulates (= macsBinary; one XNOR + popcount bit each). */
    bops: number;
    /** OPs = FLOPs + BOPs / 64 (Bi-Real Net, Real-to-Binary, ReActNet): a 64-bit XNOR-popcount does 64 BOPs. */
    ops: number;
  };
}

export interface SummarizeOptions {
  /** The model's state, for the choices section; found on the layers when omitted. */
  quant?: QuantState;
  /** Extra choices to print, e.g. { activation_placement: 'post' } from the run config. */
  choices?: Record<string, string>;
}

/** Binary operations one real operation stands for in OPs (a 64-bit XNOR + popcount). */
export const BOPS_PER_OP = 64;

const size = (shape: readonly (number | null)[]): number => shape.reduce<number>((a, d) => a * (d ?? 1), 1);

function singleShape(layer: tf.layers.Layer): number[] {
  const shape = layer.outputShape;
  const first = (Array.isArray(shape[0]) ? shape[0] : shape) as (number | null)[];
  return first.slice(1).map((d) => d ?? -1);
}

/** MACs per image of a conv or dense layer, from its kernel and output shapes; 0 for others. */
function layerMacs(layer: tf.layers.Layer, out: number[]): number {
  const kernel = layer.weights.find((w) => w.originalName.endsWith('kernel'));
  if (kernel === undefined) return 0;
  const k = kernel.shape as number[];
  if (k.length === 4) return out[0] * out[1] * k[0] * k[1] * k[2] * k[3];
  if (k.length === 2) return size(out.slice(0, -1)) * k[0] * k[1];
  return 0;
}

/** One layer's row: its parameters (1-bit where its weights are binarized now) and MACs (binary where both sides are). */
function layerSummary(layer: tf.layers.Layer): LayerSummary {
  const out = singleShape(layer);
  let params1bit = 0;
  let params32bit = 0;
  let macsBinary = 0;
  let macsReal = 0;
  const macs = layerMacs(layer, out);
  if (isQuantizedLayer(layer)) {
    const { features, weights } = layer.quant.binarization;
    for (const w of layer.weights) {
      const n = size(w.shape);
      if (weights && w.originalName.endsWith('kernel')) params1bit += n;
      else params32bit += n;
    }
    if (features && weights) macsBinary = macs;
    else macsReal = macs;
  } else {
    params32bit = layer.weights.reduce((s, w) => s + size(w.shape), 0);
    macsReal = macs;
  }
  return {
    name: layer.name, className: layer.getClassName(), outputShape: out, params1bit, params32bit,
    memoryBytes: params1bit / 8 + 4 * params32bit, macsBinary, macsReal,
  };
}

/** The binarization choices in force (the model's QuantState), then the caller's. */
function choicesOf(quant: QuantState | undefined, extra: Record<string, string> | undefined): Record<string, string> {
  const choices: Record<string, string> = {};
  if (quant !== undefined) {
    const s = quant.settings;
    const f = quant.binarization;
    choices.binarized = `features ${f.features ? 'on' : 'off'}, weights ${f.weights ? 'on' : 'off'}`;
    choices.sign_at_zero = s.signAtZero;
    choices.gradient = s.gradient === 'swish_sign' ? `swish_sign(β=${s.swishBeta})` : s.gradient;
    choices.weight_scale = s.weightScale;
    choices.progressive = s.progressive.enabled
      ? `${s.progressive.fn}(${s.progressive.scale === 'mean_abs' ? 'λx/mean|x|' : 'λx'}) on ${s.progressive.applyTo}, λ=${quant.lambda}, eval ${s.progressive.evalHardSign ? 'hard sign' : 'smooth'}`
      : 'off';
  }
  Object.assign(choices, extra ?? {});
  return choices;
}

function totalsOf(layers: LayerSummary[], trainableParams: number): ModelSummary['totals'] {
  const sum = (f: (l: LayerSummary) => number) => layers.reduce((s, l) => s + f(l), 0);
  const params1bit = sum((l) => l.params1bit);
  const params32bit = sum((l) => l.params32bit);
  const macsBinary = sum((l) => l.macsBinary);
  const macs = macsBinary + sum((l) => l.macsReal);
  const modelBytes = params1bit / 8 + 4 * params32bit;
  const float32Bytes = 4 * (params1bit + params32bit);
  return {
    params: params1bit + params32bit,
    trainableParams,
    nonTrainableParams: params1bit + params32bit - trainableParams,
    params1bit,
    params32bit,
    modelBytes,
    float32Bytes,
    compressionRatio: modelBytes === 0 ? 1 : float32Bytes / modelBytes,
    macs,
    macsBinary,
    binaryMacRatio: macs === 0 ? 0 : macsBinary / macs,
    flops: macs - macsBinary,
    bops: macsBinary,
    ops: macs - macsBinary + macsBinary / BOPS_PER_OP,
  };
}

/** The summary of `model` at its current binarization flags. */
export function summarizeModel(model: tf.LayersModel, opts: SummarizeOptions = {}): ModelSummary {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  // The caller's QuantState, else the first binary layer's (one state is shared model-wide).
  const quant = opts.quant ?? layers.find(isQuantizedLayer)?.quant;
  const trainableParams = model.trainableWeights.reduce((s, w) => s + size(w.shape), 0);
  const rows = layers.map(layerSummary);
  return { name: model.name, layers: rows, choices: choicesOf(quant, opts.choices), totals: totalsOf(rows, trainableParams) };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const kb = (bytes: number) => (bytes / 1024).toFixed(2);
const mb = (bytes: number) => (bytes / 1024 ** 2).toFixed(2);

/** Human-readable table and totals, stable for snapshot tests (no locale or time dependence). */
export function formatSummary(s: ModelSummary): string {
  const header = ['Layer', 'Class', 'Output shape', '# 1-bit', '# 32-bit', 'Memory (kB)', 'MACs 1-bit', 'MACs 32-bit'];
  const rows = s.layers.map((l) => [
    l.name, l.className, `(${l.outputShape.join(', ')})`, int(l.params1bit), int(l.params32bit),
    kb(l.memoryBytes), int(l.macsBinary), int(l.macsReal),
  ]);
  const t = s.totals;
  rows.push(['Total', '', '', int(t.params1bit), int(t.params32bit), kb(t.modelBytes), int(t.macsBinary), int(t.macs - t.macsBinary)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // Text columns left-aligned, numbers right-aligned.
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1));
  const out = [`Model: ${s.name}`, rule, line(header), rule, ...rows.slice(0, -1).map(line), rule, line(rows[rows.length - 1]), rule];
  const totals: Array<[string, string]> = [
    ['Total params', int(t.params)],
    ['Trainable params', int(t.trainableParams)],
    ['Non-trainable params', int(t.nonTrainableParams)],
    ['Model size', `${mb(t.modelBytes)} MiB`],
    ['Float-32 equivalent', `${mb(t.float32Bytes)} MiB`],
    ['Compression ratio', t.compressionRatio.toFixed(2)],
    ['MACs per image', int(t.macs)],
    ['Binary MACs', `${(100 * t.binaryMacRatio).toFixed(2)} %`],
    ['FLOPs (real MACs)', int(t.flops)],
    ['BOPs (binary MACs)', int(t.bops)],
    [`OPs (FLOPs + BOPs/${BOPS_PER_OP})`, int(t.ops)],
  ];
  const keyWidth = Math.max(...totals.map(([k]) => k.length), ...Object.keys(s.choices).map((k) => k.length));
  for (const [k, v] of totals) out.push(`${k.padEnd(keyWidth)}  ${v}`);
  if (Object.keys(s.choices).length > 0) {
    out.push(rule);
    for (const [k, v] of Object.entries(s.choices)) out.push(`${k.padEnd(keyWidth)}  ${v}`);
  }
  return out.join('\n') + '\n';
}
