import tf from '../tf.cjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../results/atomic.ts';
import { DataError } from '../errors.ts';

/**
 * Saves and loads models in the TensorFlow.js format (`model.json` + `weights.bin`) on the local
 * file system. The pure-JS tfjs package has no `file://` handler (tfjs-node brings one), so this
 * one is registered for the wasm and cpu backends. The weights file is written before model.json
 * and both atomically, so a reader that finds model.json finds the weights it names.
 */

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';
const SCHEME = 'file://';

export function fileSystemHandler(dir: string): Required<Pick<tf.io.IOHandler, 'save' | 'load'>> {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('binary model topologies are not supported by the file handler');
      }
      const weights = artifacts.weightData === undefined ? new ArrayBuffer(0)
        : new tf.io.CompositeArrayBuffer(artifacts.weightData).slice();
      writeFileAtomic(join(dir, WEIGHTS_BIN), new Uint8Array(weights));
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
      };
      writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = join(dir, MODEL_JSON);
      if (!existsSync(jsonPath)) throw new DataError(`${jsonPath}: no saved model here`);
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(readFileSync(jsonPath, 'utf8')) as tf.io.ModelJSON;
      } catch (err) {
        throw new DataError(`${jsonPath}: not a TensorFlow.js model.json (${(err as Error).message})`);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const path of group.paths) {
            const bytes = readFileSync(join(dir, path));
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

let registered = false;

/** Routes `file://` URLs to the handler above unless a native backend already handles them. */
export function registerFileSystemRouter(): void {
  if (registered || tf.io.getSaveHandlers(`${SCHEME}probe`).length > 0) return;
  // tfjs's router type says IOHandler, but routers return null for URLs they do not handle.
  const route = ((url: string | string[]) => {
    const path = Array.isArray(url) ? url[0] : url;
    return typeof path === 'string' && path.startsWith(SCHEME) ? fileSystemHandler(path.slice(SCHEME.length)) : null;
  }) as Parameters<typeof tf.io.registerSaveRouter>[0];
  tf.io.registerSaveRouter(route);
  tf.io.registerLoadRouter(route);
  registered = true;
}
