import tf from '../tf.cjs';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../results/atomic.ts';
import { fileSystemHandler } from './file-io.ts';
import { optimizerState, restoreOptimizerState } from './optimizer-state.ts';

/**
 * Checkpoints: `<dir>/step-<N>/` holds the model (TensorFlow.js format), the optimizer's whole state
 * (its slots and the scalars tfjs leaves out of them: optimizer-state.ts)
 * and the loop state; `<dir>/latest.json` names the newest complete one and is written last, so
 * a process killed while checkpointing leaves the previous checkpoint in force.
 */

const LATEST = 'latest.json';
const OPTIMIZER_JSON = 'optimizer.json';
const OPTIMIZER_BIN = 'optimizer.bin';
const STATE_JSON = 'state.json';

/** What the loop needs besides weights to continue exactly where it stopped. */
export interface LoopState {
  /** Optimizer steps completed. */
  step: number;
  /** Training loss summed since the last evaluation, and how many steps it covers. */
  lossSum: number;
  lossCount: number;
  /** Seconds spent training before this checkpoint (wall time across attempts). */
  elapsed: number;
}

export async function saveCheckpoint(dir: string, model: tf.LayersModel, optimizer: tf.Optimizer, state: LoopState): Promise<void> {
  const name = `step-${state.step}`;
  const target = join(dir, name);
  rmSync(target, { recursive: true, force: true });
  await model.save(fileSystemHandler(target));
  const slots = await optimizerState(optimizer);
  const { data, specs } = await tf.io.encodeWeights(slots);
  writeFileAtomic(join(target, OPTIMIZER_BIN), new Uint8Array(new tf.io.CompositeArrayBuffer(data).slice()));
  writeFileAtomic(join(target, OPTIMIZER_JSON), JSON.stringify({ className: optimizer.getClassName(), specs }));
  writeFileAtomic(join(target, STATE_JSON), JSON.stringify(state));
  writeFileAtomic(join(dir, LATEST), JSON.stringify({ step: state.step, dir: name }));
  for (const old of readdirSync(dir)) {
    if (old.startsWith('step-') && old !== name) rmSync(join(dir, old), { recursive: true, force: true });
  }
}

/** The newest complete checkpoint's folder, or undefined when there is none. */
export function latestCheckpoint(dir: string): string | undefined {
  const pointer = join(dir, LATEST);
  if (!existsSync(pointer)) return undefined;
  try {
    const { dir: name } = JSON.parse(readFileSync(pointer, 'utf8')) as { dir: string };
    const folder = join(dir, name);
    return existsSync(join(folder, STATE_JSON)) ? folder : undefined;
  } catch {
    return undefined;
  }
}

/** A checkpoint read in full and checked, before anything of it is applied. */
interface CheckpointContents {
  weights: tf.NamedTensorMap;
  className: string;
  saved: Array<{ name: string; tensor: tf.Tensor }>;
  state: LoopState;
}

/** Reads every file of a checkpoint; throws (naming the folder) when any is missing or torn. */
async function readCheckpoint(folder: string): Promise<CheckpointContents> {
  try {
    const artifacts = await fileSystemHandler(folder).load();
    const weights = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    const { className, specs } = JSON.parse(readFileSync(join(folder, OPTIMIZER_JSON), 'utf8')) as { className: string; specs: tf.io.WeightsManifestEntry[] };
    const bytes = readFileSync(join(folder, OPTIMIZER_BIN));
    const slotMap = tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, specs);
    const saved = specs.map((s) => ({ name: s.name, tensor: slotMap[s.name]! }));
    const state = JSON.parse(readFileSync(join(folder, STATE_JSON), 'utf8')) as LoopState;
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`${STATE_JSON} has no step`);
    return { weights, className, saved, state };
  } catch (err) {
    throw new CorruptCheckpointError(`${folder}: unreadable checkpoint (${(err as Error).message})`);
  }
}

/** A checkpoint that cannot be read; the trainer sets it aside and starts the run afresh. */
export class CorruptCheckpointError extends Error {}

/**
 * Loads weights into `model` (built from the same config) and the optimizer's state into
 * `optimizer`, and returns the loop state. Slots are restored by position, which matches because
 * the caller passes the same variable list in the same order as the run that saved them. The
 * whole checkpoint is read first, so a torn one throws CorruptCheckpointError with the model and
 * optimizer untouched.
 */
export async function restoreCheckpoint(folder: string, model: tf.LayersModel, optimizer: tf.Optimizer): Promise<LoopState> {
  const { weights, className, saved, state } = await readCheckpoint(folder);
  if (className !== optimizer.getClassName()) {
    tf.dispose([...Object.values(weights), ...saved.map((s) => s.tensor)]);
    throw new Error(`${folder}: checkpoint optimizer is ${className}, the run uses ${optimizer.getClassName()}`);
  }
  model.loadWeights(weights, true);
  tf.dispose(Object.values(weights));
  await restoreOptimizerState(optimizer, saved);
  // The optimizer's variables hold their own references to these buffers.
  tf.dispose(saved.map((s) => s.tensor));
  return state;
}
