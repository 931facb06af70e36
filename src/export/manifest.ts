/**
 * The exported model on disk: `manifest.json` (this shape), `weights.bin` (real float32 weights
 * in tfjs weight-spec order, then per binary layer its packed sign bits and its α), and
 * `config.yaml` (the run's resolved config, so `evaluate` finds the validation data).
 */
import { createHash } from 'node:crypto';
import type * as tf from '@tensorflow/tfjs';

export const EXPORT_FORMAT = 'bnn-ablate-packed';
/** 2: a PReLU that follows a binary layer may be fused into it (PackedLayerEntry.prelu); 1 had none. */
export const EXPORT_VERSION = 2;
/** Versions this code reads: a v1 export is a v2 one with nothing fused. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];
export const MANIFEST_JSON = 'manifest.json';
export const EXPORT_WEIGHTS = 'weights.bin';
export const EXPORT_CONFIG = 'config.yaml';

/** A byte range of weights.bin. */
export interface Span {
  offset: number;
  bytes: number;
}

/** One binary layer: its geometry and where its packed bits and α are. */
export interface PackedLayerEntry {
  name: string;
  /** conv: BinaryConv2D; dense: BinaryDense (a 1×1 conv on a 1×1 image). */
  kind: 'conv' | 'dense';
  /** [kh, kw, in, out] of the trained kernel (HWIO). */
  kernel: [number, number, number, number];
  strides: number;
  padding: 'same' | 'valid';
  /** uint32 little-endian words, layout `manifest.layout` (pack.ts): [out, kh, kw, words]. */
  bits: Span;
  /** float32 α per output channel. */
  alpha: Span;
  /** Whether the layer has a (real, float32) bias, stored with the real weights. */
  bias: boolean;
  /** float32 [in][s, lo, hi] sign thresholds replacing the folded layers (engine.ts SignThresholds), or null. */
  thresholds: Span | null;
  /** Layers folded into the thresholds (the batch norm, and a pre-placed activation), input side first. */
  folded: string[];
  /**
   * The PReLU that was this layer's sole consumer, fused into the engine's epilogue (removed from
   * the topology; its consumers read this layer): its name and float32 slope per output channel.
   * null or absent (v1): none.
   */
  prelu?: { layer: string; slope: Span } | null;
}

/** One row of the size table. */
export interface SizeRow {
  layer: string;
  kind: 'binary' | 'real';
  /** Bytes in the export (packed bits + α for binary layers, float32 otherwise). */
  packedBytes: number;
  /** Bytes of the same layer's weights in the trained model (float32 latent weights). */
  float32Bytes: number;
}

export interface SizeTable {
  layers: SizeRow[];
  /** weights.bin of the export. */
  packedBytes: number;
  /** weights.bin of the trained model. */
  float32Bytes: number;
  /** float32Bytes / packedBytes. */
  ratio: number;
}

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  /** Name of the bit layout (pack.ts PACKED_LAYOUT) and what it means. */
  layout: string;
  layoutDescription: string;
  source: { runDir: string; runId: string; backend: string | null };
  task: string;
  arch: string;
  inputShape: number[];
  /** The run's choices that decide what the packed network computes. */
  choices: Record<string, string>;
  /** How batch norm was treated. */
  batchNorm: string;
  /** The trained model's tfjs topology with binary layers replaced by PackedBinaryLayer. */
  topology: unknown;
  /** Real weights: tfjs specs (in order) and their span of weights.bin. */
  real: { specs: tf.io.WeightsManifestEntry[]; span: Span };
  packed: PackedLayerEntry[];
  sizes: SizeTable;
  /** Per image, from the model summary (src/models/summary.ts): OPs = FLOPs + BOPs / 64. */
  ops: { macs: number; flops: number; bops: number; ops: number };
  /** The trained model's final.json metrics, for `evaluate` to compare with. */
  trained: Record<string, unknown> | null;
  checksum: { algorithm: 'sha256'; weights: string };
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const kib = (b: number) => (b / 1024).toFixed(2);

/** The size table as text: per layer (binary ones first), then the totals. */
export function formatSizeTable(s: SizeTable): string {
  const rows = [...s.layers].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'binary' ? -1 : 1))
    .map((r) => [r.layer, r.kind, kib(r.packedBytes), kib(r.float32Bytes), (r.float32Bytes / Math.max(r.packedBytes, 1)).toFixed(2)]);
  const sum = (kind: string, f: (r: SizeRow) => number) => s.layers.filter((r) => r.kind === kind).reduce((a, r) => a + f(r), 0);
  for (const kind of ['binary', 'real']) {
    const p = sum(kind, (r) => r.packedBytes);
    const f = sum(kind, (r) => r.float32Bytes);
    rows.push([`all ${kind}`, kind, kib(p), kib(f), (f / Math.max(p, 1)).toFixed(2)]);
  }
  rows.push(['weights file', '', kib(s.packedBytes), kib(s.float32Bytes), s.ratio.toFixed(2)]);
  const header = ['Layer', 'Kind', 'Packed (kB)', 'Float32 (kB)', 'Ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1));
  const n = s.layers.length;
  return [rule, line(header), rule, ...rows.slice(0, n).map(line), rule, ...rows.slice(n).map(line), rule].join('\n') + '\n';
}

/** What `summary <export-dir>` shows: bytes on disk per file, the size table, OPs. */
export function formatExportSummary(m: ExportManifest, files: Array<{ name: string; bytes: number }>): string {
  const int = (n: number) => Math.round(n).toLocaleString('en-US');
  const lines = [`Export of run ${m.source.runId} (${m.arch}, ${m.task}), layout ${m.layout}`, 'bytes on disk:'];
  for (const f of files) lines.push(`  ${f.name.padEnd(14)} ${int(f.bytes).padStart(12)}`);
  lines.push(`  ${'total'.padEnd(14)} ${int(files.reduce((a, f) => a + f.bytes, 0)).padStart(12)}`);
  lines.push(formatSizeTable(m.sizes).trimEnd());
  lines.push(`MACs per image          ${int(m.ops.macs)}`, `FLOPs (real MACs)       ${int(m.ops.flops)}`,
    `BOPs (binary MACs)      ${int(m.ops.bops)}`, `OPs (FLOPs + BOPs/64)   ${int(m.ops.ops)}`);
  for (const [k, v] of Object.entries(m.choices)) lines.push(`${k.padEnd(22)}  ${v}`);
  return `${lines.join('\n')}\n`;
}
