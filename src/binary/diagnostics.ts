/**
 * Health signals of binary-network training, measured at each evaluation (Larq's flip ratio and
 * the questions behind it: are the binary weights still changing, is a sign state dying):
 * - flip_ratio   fraction of binary weights whose sign changed since the previous evaluation
 *                (since the start of training for the first one);
 * - input_plus   fraction of a binary layer's input entries the sign maps to +1, on a fixed probe
 *                batch of validation images in inference mode: 0 or 1 means one sign state died;
 * - mean_abs_w   mean |W| of the latent weights; clipped: fraction with |W| ≥ 1, where the clipped
 *                STE passes no gradient (and where weight_clip holds them);
 * - soft_agree_w / soft_agree_x  progressive runs: fraction of entries whose soft value f(λ·) is
 *                within SOFT_AGREE_TOLERANCE of the hard sign, for weights and probe inputs.
 * Cost per evaluation: one read of every latent kernel and one forward pass of the probe batch.
 */
import tf from '../tf.cjs';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../results/atomic.ts';
import { signForward, smoothSign, type SmoothSign } from './quantizers.ts';
import { isQuantizedLayer, type QuantizedLayer, type QuantState } from './quant-state.ts';

/**
 * |f(λx) − sign(x)| below this counts as agreeing (assumed: within 5% of the ±1 range, i.e.
 * |f| ≥ 0.9; no source defines the measure).
 */
export const SOFT_AGREE_TOLERANCE = 0.1;
/**
 * Images in the probe batch: every input entry of a layer counts (8 × H × W × C of them), so the
 * fractions are stable, and the forward pass stays a few percent of an evaluation (bench/diagnostics.ts).
 */
export const PROBE_IMAGES = 8;

export interface LayerDiagnostics {
  flip_ratio: number | null;
  input_plus: number | null;
  mean_abs_w: number;
  clipped: number;
  soft_agree_w?: number;
  soft_agree_x?: number;
}

/** The `diag` field of a metrics.jsonl record: totals over every binary weight, and per layer. */
export interface DiagnosticsRecord {
  flip_ratio: number | null;
  mean_abs_w: number;
  clipped: number;
  input_plus_min: number | null;
  input_plus_max: number | null;
  soft_agree_w: number | null;
  soft_agree_x: number | null;
  layers: Record<string, LayerDiagnostics>;
}

export interface Measurement {
  record: DiagnosticsRecord;
  /** Latent kernels by layer name (for histograms), read once for the measurement. */
  latent: Record<string, Float32Array>;
}

type NamedLayer = QuantizedLayer & { name: string };

/** f(z) of each smooth sign, in float64 (quantizers.ts has the tensor forms). */
function smoothScalar(fn: SmoothSign, z: number): number {
  return fn === 'tanh' ? Math.tanh(z) : fn === 'sigmoid' ? Math.tanh(z / 2) : z / (1 + Math.abs(z));
}

/** One bit per weight, set where w ≥ 0 (weights take +1 at zero). */
export function packSigns(w: ArrayLike<number>): Uint8Array {
  const bits = new Uint8Array(Math.ceil(w.length / 8));
  for (let i = 0; i < w.length; i++) if (w[i]! >= 0) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

/** Weights whose sign bit differs from `reference`. */
export function countFlips(w: ArrayLike<number>, reference: Uint8Array): number {
  let flips = 0;
  for (let i = 0; i < w.length; i++) if ((w[i]! >= 0 ? 1 : 0) !== ((reference[i >> 3]! >> (i & 7)) & 1)) flips++;
  return flips;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

export class BinaryDiagnostics {
  private readonly layers: NamedLayer[];
  /** Sign bits at the previous evaluation, per layer; null where unknown (after a resume without them). */
  private reference: Uint8Array[] | null = null;

  private constructor(private readonly model: tf.LayersModel, private readonly quant: QuantState, private readonly probe: tf.Tensor | null) {
    this.layers = model.layers.filter(isQuantizedLayer).filter((l) => l.latentKernel() !== null) as unknown as NamedLayer[];
  }

  /** Diagnostics of `model`'s binary layers, or undefined when it has none (a real network). Owns `probe`. */
  static of(model: tf.LayersModel, quant: QuantState, probe: tf.Tensor | null): BinaryDiagnostics | undefined {
    const d = new BinaryDiagnostics(model, quant, probe);
    if (d.layers.length > 0) return d;
    probe?.dispose();
    return undefined;
  }

  /** Takes the current signs as the reference of the next flip ratio. */
  async resetReference(): Promise<void> {
    // data(), not dataSync(): webgpu cannot read synchronously under Node.
    const kernels = await Promise.all(this.layers.map((l) => l.latentKernel()!.read().data()));
    this.reference = kernels.map((w) => packSigns(w as Float32Array));
  }

  /** Measures every signal and moves the flip-ratio reference to now. */
  async measure(): Promise<Measurement> {
    const inputs = await this.probeInputs();
    const kernels = await Promise.all(this.layers.map((l) => l.latentKernel()!.read().data()));
    const latent: Record<string, Float32Array> = {};
    const layers: Record<string, LayerDiagnostics> = {};
    const total = { n: 0, abs: 0, clipped: 0, flips: 0, agree: 0 };
    const p = this.quant.settings.progressive;
    const softWeights = p.enabled && p.applyTo !== 'features';
    const next: Uint8Array[] = [];
    this.layers.forEach((layer, k) => {
      const w = kernels[k] as Float32Array;
      latent[layer.name] = w;
      let abs = 0, clipped = 0, agree = 0;
      for (let i = 0; i < w.length; i++) {
        const a = Math.abs(w[i]!);
        abs += a;
        if (a >= 1) clipped++;
        if (softWeights && Math.abs(smoothScalar(p.fn, this.quant.lambda * w[i]!) - (w[i]! >= 0 ? 1 : -1)) < SOFT_AGREE_TOLERANCE) agree++;
      }
      const flips = this.reference ? countFlips(w, this.reference[k]!) : null;
      next.push(packSigns(w));
      Object.assign(total, { n: total.n + w.length, abs: total.abs + abs, clipped: total.clipped + clipped, flips: total.flips + (flips ?? 0), agree: total.agree + agree });
      const entry: LayerDiagnostics = {
        flip_ratio: flips === null ? null : round(flips / w.length),
        input_plus: inputs.get(layer.name)?.plus ?? null,
        mean_abs_w: round(abs / w.length), clipped: round(clipped / w.length),
      };
      if (softWeights) entry.soft_agree_w = round(agree / w.length);
      const x = inputs.get(layer.name)?.agree;
      if (x !== undefined) entry.soft_agree_x = x;
      layers[layer.name] = entry;
    });
    const record = this.totals(total, layers, this.reference !== null, softWeights);
    this.reference = next;
    return { record, latent };
  }

  private totals(t: { n: number; abs: number; clipped: number; flips: number; agree: number }, layers: Record<string, LayerDiagnostics>,
    haveReference: boolean, softWeights: boolean): DiagnosticsRecord {
    const plus = Object.values(layers).map((l) => l.input_plus).filter((v): v is number => v !== null);
    const agreeX = Object.values(layers).map((l) => l.soft_agree_x).filter((v): v is number => v !== undefined);
    return {
      flip_ratio: haveReference ? round(t.flips / t.n) : null,
      mean_abs_w: round(t.abs / t.n),
      clipped: round(t.clipped / t.n),
      input_plus_min: plus.length ? Math.min(...plus) : null,
      input_plus_max: plus.length ? Math.max(...plus) : null,
      soft_agree_w: softWeights ? round(t.agree / t.n) : null,
      // Layers' inputs differ in size; each layer counts once, as the ±1 balance does.
      soft_agree_x: agreeX.length ? round(agreeX.reduce((a, b) => a + b, 0) / agreeX.length) : null,
      layers,
    };
  }

  /** Per binary layer, on the probe batch: fraction of +1 signs at its input (and soft agreement). */
  private async probeInputs(): Promise<Map<string, { plus: number; agree?: number }>> {
    const out = new Map<string, { plus: number; agree?: number }>();
    if (this.probe === null) return out;
    const s = this.quant.settings;
    const softFeatures = s.progressive.enabled && s.progressive.applyTo !== 'weights';
    const kept = new Map<string, tf.Scalar[]>();
    this.quant.probe = (name, x) => {
      const plus = tf.mean(tf.cast(s.signAtZero === 'zero' ? tf.greater(x, 0) : tf.greaterEqual(x, 0), 'float32')) as tf.Scalar;
      const stats = [plus];
      if (softFeatures) {
        const gap = tf.abs(tf.sub(smoothSign(x, s.progressive.fn, this.quant.lambda), signForward(x, s.signAtZero)));
        stats.push(tf.mean(tf.cast(tf.less(gap, SOFT_AGREE_TOLERANCE), 'float32')) as tf.Scalar);
      }
      tf.dispose(kept.get(name) ?? []); // a layer called twice (shared weights) keeps its last call
      kept.set(name, stats.map((t) => tf.keep(t)));
    };
    try {
      tf.tidy(() => { this.model.predict(this.probe!); });
    } finally {
      this.quant.probe = null;
    }
    for (const [name, [plus, agree]] of kept) {
      const [p, a] = [(await plus!.data())[0]!, agree ? (await agree.data())[0]! : undefined];
      out.set(name, { plus: round(p), ...(a !== undefined ? { agree: round(a) } : {}) });
      tf.dispose([plus!, ...(agree ? [agree] : [])]);
    }
    return out;
  }

  /** Writes the flip-ratio reference beside a checkpoint at `step`, so a resumed run measures the same intervals. */
  saveReference(dir: string, step: number): void {
    if (this.reference === null) return;
    const lengths = new Uint32Array(this.reference.map((r) => r.length));
    writeFileAtomic(join(dir, `${REFERENCE_PREFIX}${step}.bin`), Buffer.concat([Buffer.from(lengths.buffer), ...this.reference]));
  }

  /** Restores the reference saved with the checkpoint at `step`; false (reference unknown) when absent or not this model's. */
  loadReference(dir: string, step: number): boolean {
    const path = join(dir, `${REFERENCE_PREFIX}${step}.bin`);
    this.reference = null;
    if (!existsSync(path)) return false;
    const bytes = readFileSync(path);
    const n = this.layers.length;
    if (bytes.length < 4 * n) return false;
    const lengths = Array.from({ length: n }, (_, i) => bytes.readUInt32LE(4 * i));
    const expected = this.layers.map((l) => Math.ceil(l.latentKernel()!.read().size / 8));
    if (lengths.some((len, i) => len !== expected[i]) || bytes.length !== 4 * n + lengths.reduce((a, b) => a + b, 0)) return false;
    let at = 4 * n;
    this.reference = lengths.map((len) => { const r = new Uint8Array(bytes.subarray(at, at + len)); at += len; return r; });
    return true;
  }

  dispose(): void {
    this.probe?.dispose();
  }
}

/** File name prefix of saved flip-ratio references in a checkpoints folder. */
export const REFERENCE_PREFIX = 'diag-signs-';

/** Removes saved references other than the one of the checkpoint at `step`. */
export function pruneReferences(dir: string, step: number): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    if (f.startsWith(REFERENCE_PREFIX) && f !== `${REFERENCE_PREFIX}${step}.bin`) rmSync(join(dir, f), { force: true });
  }
}
