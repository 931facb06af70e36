/**
 * Loads an export (src/export/manifest.ts) as a runnable tfjs model: the real layers from their
 * float32 weights, every binary layer a PackedBinaryLayer holding its packed bits and α and
 * running them on a BinaryConvEngine. The checksum is verified first. Each binary HourGlass block
 * becomes one PackedBlock (fuse-blocks.ts; `fuseBlocks: false` keeps its layers).
 */
import tf from '../tf.cjs';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError } from '../errors.ts';
import { EXPORT_FORMAT, EXPORT_WEIGHTS, MANIFEST_JSON, READABLE_VERSIONS, sha256, type ExportManifest, type Span } from '../export/manifest.ts';
import type { BinaryConvEngine } from './engine.ts';
import { PACKED_LAYOUT } from './pack.ts';
import { fuseBlocks } from './fuse-blocks.ts';
import { PackedBlock, registerPackedBlock } from './packed-block.ts';
import { PackedBinaryLayer, registerPackedLayers } from './packed-layers.ts';

export interface LoadedExport {
  model: tf.LayersModel;
  manifest: ExportManifest;
  /** Switches every packed layer to another engine. */
  setEngine(engine: BinaryConvEngine): void;
}

/** The manifest of an export folder, checked for format, version and layout. */
export function readManifest(dir: string): ExportManifest {
  const path = join(resolve(dir), MANIFEST_JSON);
  if (!existsSync(path)) throw new DataError(`${path}: no export here (run 'bnn-ablate export <run-dir>' first)`);
  let m: ExportManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as ExportManifest;
  } catch (err) {
    throw new DataError(`${path}: not JSON (${(err as Error).message})`);
  }
  if (m.format !== EXPORT_FORMAT || !READABLE_VERSIONS.includes(m.version)) {
    throw new DataError(`${path}: format ${String(m.format)} v${String(m.version)}, this version reads ${EXPORT_FORMAT} v${READABLE_VERSIONS.join(', v')}`);
  }
  if (m.layout !== PACKED_LAYOUT) throw new DataError(`${path}: layout '${m.layout}' is not '${PACKED_LAYOUT}'`);
  return m;
}

function slice(bytes: Uint8Array, s: Span): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset + s.offset, bytes.byteOffset + s.offset + s.bytes) as ArrayBuffer;
}

export interface LoadOptions {
  /**
   * Run each binary HourGlass block as one PackedBlock (default true): the native engine then
   * writes its branches straight into their concat, residual added. false keeps the export's
   * layers (the same floats; tests and bench/fused-block.ts compare the two).
   */
  fuseBlocks?: boolean;
}

/** The packed layer `name` of a loaded model: a layer of its own, or a branch of the block holding it. */
function packedLayer(model: tf.LayersModel, name: string, blockOf: Map<string, string>): PackedBinaryLayer | undefined {
  const block = blockOf.get(name);
  const layer = block === undefined ? model.getLayer(name) : (model.getLayer(block) as PackedBlock).branch(name);
  return layer instanceof PackedBinaryLayer ? layer : undefined;
}

export async function loadExported(dir: string, engine: BinaryConvEngine, opts: LoadOptions = {}): Promise<LoadedExport> {
  const manifest = readManifest(dir);
  const weightsPath = join(resolve(dir), EXPORT_WEIGHTS);
  if (!existsSync(weightsPath)) throw new DataError(`${weightsPath}: missing`);
  const bytes = new Uint8Array(readFileSync(weightsPath));
  if (sha256(bytes) !== manifest.checksum.weights) {
    throw new DataError(`${weightsPath}: sha256 does not match manifest.json (the file is damaged or from another export)`);
  }
  registerPackedLayers();
  registerPackedBlock();
  const fused = opts.fuseBlocks === false ? { topology: manifest.topology, blockOf: new Map<string, string>() } : fuseBlocks(manifest.topology);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: fused.topology as tf.io.ModelJSON['modelTopology'],
    weightSpecs: manifest.real.specs,
    weightData: slice(bytes, manifest.real.span),
  }));
  const layers: PackedBinaryLayer[] = [];
  for (const p of manifest.packed) {
    const layer = packedLayer(model, p.name, fused.blockOf);
    if (layer === undefined) throw new DataError(`${weightsPath}: layer ${p.name} is not a packed layer in the topology`);
    layer.attach(new Uint32Array(slice(bytes, p.bits)), new Float32Array(slice(bytes, p.alpha)), engine,
      p.thresholds === null ? undefined : { table: new Float32Array(slice(bytes, p.thresholds)) },
      p.prelu == null ? undefined : new Float32Array(slice(bytes, p.prelu.slope)));
    layers.push(layer);
  }
  return { model, manifest, setEngine: (e) => { for (const l of layers) l.setEngine(e); } };
}
