import * as tf from '@tensorflow/tfjs';
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../config/schema.ts';
import { createDataset } from '../data/index.ts';
import type { Dataset } from '../data/types.ts';
import { RunFailedError } from '../errors.ts';
import { FILES } from '../results/store.ts';
import { buildModel, loadModel, type BinaryModel } from '../models/index.ts';
import { BinaryDiagnostics, PROBE_IMAGES, pruneReferences, type DiagnosticsRecord } from '../binary/diagnostics.ts';
import { batchTensors } from './batches.ts';
import { CorruptCheckpointError, latestCheckpoint, restoreCheckpoint, saveCheckpoint, type LoopState } from './checkpoint.ts';
import { evaluate, type EvalMetrics } from './evaluate.ts';
import { fileSystemHandler } from './file-io.ts';
import { makeTrainStep } from './step.ts';
import { createOptimizer, setLearningRate } from './optimizers.ts';
import { binarizationStages, lambdaAt, runLength, stageAt, stageLearningRate, type Stage } from './schedules.ts';

/** One line of metrics.jsonl. */
export interface EvalRecord {
  step: number;
  epoch: number;
  stage: string;
  lambda: number | null;
  lr: number;
  /** Mean training loss since the previous evaluation. */
  loss: number;
  elapsed_s: number;
  /** Training throughput over the interval since the previous evaluation. */
  images_per_s: number;
  /** Binary-network health signals (src/binary/diagnostics.ts); absent for a fully real network. */
  diag?: DiagnosticsRecord;
  [metric: string]: unknown;
}

/** What an evaluation hands its hook besides the record. */
export interface EvalExtras {
  /** Latent kernels of the binary layers at this step, by layer name (read for the diagnostics anyway). */
  latentWeights: Record<string, Float32Array>;
}

/** final.json. */
export interface FinalRecord {
  task: RunConfig['task'];
  step: number;
  wall_s: number;
  images_per_s: number;
  metrics: Omit<EvalMetrics, 'task'>;
}

export interface StepProgress {
  step: number;
  total: number;
  epoch: number;
  stage: string;
  loss: number;
  imagesPerSecond: number;
}

export interface TrainHooks {
  onEval?(record: EvalRecord, extras: EvalExtras): void;
  onProgress?(progress: StepProgress): void;
  /** Training starts at `step` (0, or a checkpoint's): metrics logged after it will be logged again. */
  onStart?(step: number): void;
  /** Training continues from a checkpoint at `step`. */
  onResume?(step: number): void;
}

export interface TrainInputs {
  config: RunConfig;
  /** The run's folder: `checkpoints/` and the final `model/` go here. */
  runDir: string;
  /** Folder of the finished teacher run when config.distill.teacher is set. */
  teacherDir?: string;
  /** Aborting checkpoints the run and returns `interrupted`. */
  signal?: AbortSignal;
  hooks?: TrainHooks;
}

export type TrainOutcome = { status: 'done'; final: FinalRecord } | { status: 'interrupted'; step: number };


/**
 * Trains one run end to end: stages of the init-order ablation, the progressive λ, distillation,
 * periodic evaluation and checkpoints. Everything that varies with the step is a function of the
 * step, and the data order a function of (seed, epoch), so a run resumed from a checkpoint ends
 * with the same metrics as one that never stopped (on the deterministic cpu and wasm backends).
 */
export async function train(inputs: TrainInputs): Promise<TrainOutcome> {
  const { config, hooks = {} } = inputs;
  const dataset = await createDataset(config);
  const built = buildModel(config, { inputShape: [...dataset.inputShape], numClasses: dataset.numClasses, numJoints: dataset.numJoints });
  const teacher = inputs.teacherDir ? await loadTeacher(inputs.teacherDir, dataset) : undefined;
  const optimizer = createOptimizer(config.train);
  const diagnostics = BinaryDiagnostics.of(built.model, built.quant, await probeImages(dataset, config));
  try {
    return await loop(inputs, dataset, built, optimizer, teacher, hooks, diagnostics);
  } finally {
    diagnostics?.dispose();
    optimizer.dispose();
    built.dispose();
    teacher?.dispose();
  }
}

async function loop(inputs: TrainInputs, dataset: Dataset, built: BinaryModel, optimizer: tf.Optimizer,
  teacher: BinaryModel | undefined, hooks: TrainHooks, diagnostics: BinaryDiagnostics | undefined): Promise<TrainOutcome> {
  const { config, runDir, signal } = inputs;
  const { train: t } = config;
  const model = built.model;
  const trainSize = dataset.size('train');
  const dropLast = trainSize >= t.batch_size;
  const stepsPerEpoch = Math.max(1, dropLast ? Math.floor(trainSize / t.batch_size) : 1);
  const budget = t.epochs ? t.epochs * stepsPerEpoch : t.steps;
  const { order, stage_split: split } = config.binarize;
  // A config stored before binarize.stage_steps existed has no such key: equal total steps, as then.
  const stageSteps = config.binarize.stage_steps ?? null;
  const stages = binarizationStages(order, split, budget, config.model.binary, stageSteps);
  // Longer than the budget when each stage has its own (binarize.stage_steps).
  const total = runLength(stages);
  const checkpoints = join(runDir, FILES.checkpoints);

  let state: LoopState = { step: 0, lossSum: 0, lossCount: 0, elapsed: 0 };
  const resumeFrom = latestCheckpoint(checkpoints);
  if (resumeFrom) {
    try {
      state = await restoreCheckpoint(resumeFrom, model, optimizer);
      // Without the saved reference the first interval's flip ratio is unknown (null), not wrong.
      diagnostics?.loadReference(checkpoints, state.step);
      hooks.onResume?.(state.step);
    } catch (err) {
      if (!(err instanceof CorruptCheckpointError)) throw err;
      // Nothing of it was applied: keep it aside for a look, and train from step 0.
      const aside = `${checkpoints}.corrupt-${Date.now()}`;
      renameSync(checkpoints, aside);
      process.stderr.write(`${err.message}; moved to ${aside}, training from step 0\n`);
    }
  }
  if (state.step === 0) await diagnostics?.resetReference();
  hooks.onStart?.(state.step);
  // The flip-ratio reference is saved before the checkpoint it belongs to, so latest.json never
  // names a checkpoint without one; older references go once the new checkpoint is in force.
  const checkpoint = async () => {
    diagnostics?.saveReference(checkpoints, state.step);
    await saveCheckpoint(checkpoints, model, optimizer, state);
    pruneReferences(checkpoints, state.step);
  };
  const sessionStart = performance.now();
  const earlierSessions = state.elapsed;
  const elapsed = () => earlierSessions + (performance.now() - sessionStart) / 1000;
  let trainSeconds = 0;
  let trainImages = 0;
  let interval = { seconds: 0, images: 0 };
  let stage: Stage | undefined;
  let lastEval: EvalMetrics | undefined;

  const step = makeTrainStep(config, dataset, built, optimizer, teacher);

  while (state.step < total) {
    const epoch = Math.floor(state.step / stepsPerEpoch);
    let skip = state.step % stepsPerEpoch;
    const batches = dataset.batches('train', { batchSize: t.batch_size, seed: config.seed, epoch, shuffle: true, dropLast });
    for await (const batch of batches) {
      if (skip > 0) { skip--; continue; }
      // Data iteration resolves through microtasks only; one macrotask turn per step lets
      // signal handlers (and the IPC channel) run, so Ctrl-C is seen within a step.
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) {
        state.elapsed = elapsed();
        await checkpoint();
        return { status: 'interrupted', step: state.step };
      }
      const current = stageAt(stages, state.step);
      if (current !== stage) {
        stage = current;
        built.quant.setBinarization({ features: stage.features, weights: stage.weights });
      }
      const lambda = config.progressive.enabled ? lambdaFor(config, stage, state.step, total) : null;
      if (lambda !== null) built.quant.setLambda(lambda);
      const lr = stageLearningRate(state.step, stages, t, stageSteps !== null);
      setLearningRate(optimizer, lr);

      const began = performance.now();
      const loss = await step(batch);
      const seconds = (performance.now() - began) / 1000;
      trainSeconds += seconds;
      trainImages += batch.size;
      interval = { seconds: interval.seconds + seconds, images: interval.images + batch.size };
      if (!Number.isFinite(loss)) throw new RunFailedError(`training loss is ${loss} at step ${state.step + 1} (stage ${stage.name}, lr ${lr})`);

      state.step++;
      state.lossSum += loss;
      state.lossCount++;
      hooks.onProgress?.({ step: state.step, total, epoch, stage: stage.name, loss, imagesPerSecond: trainImages / Math.max(trainSeconds, 1e-9) });

      if (state.step % t.eval_every === 0 || state.step === total) {
        lastEval = await evaluate(model, dataset, { batchSize: config.eval.batch_size, pckhThreshold: config.eval.pckh_threshold, seed: config.seed });
        const { task: _task, ...metrics } = lastEval;
        const measured = await diagnostics?.measure();
        hooks.onEval?.({
          step: state.step, epoch, stage: stage.name, lambda, lr, loss: state.lossSum / state.lossCount, elapsed_s: round(elapsed()),
          images_per_s: round(interval.images / Math.max(interval.seconds, 1e-9)), ...metrics, ...(measured ? { diag: measured.record } : {}),
        }, { latentWeights: measured?.latent ?? {} });
        interval = { seconds: 0, images: 0 };
        state.lossSum = 0;
        state.lossCount = 0;
      }
      if (state.step % t.checkpoint_every === 0 && state.step < total) {
        state.elapsed = elapsed();
        await checkpoint();
      }
      if (state.step >= total) break;
    }
  }

  lastEval ??= await evaluate(model, dataset, { batchSize: config.eval.batch_size, pckhThreshold: config.eval.pckh_threshold, seed: config.seed });
  await model.save(fileSystemHandler(join(runDir, FILES.model)));
  // The final model supersedes the checkpoints; a finished run never resumes.
  rmSync(checkpoints, { recursive: true, force: true });
  const { task, ...metrics } = lastEval;
  return {
    status: 'done',
    final: { task, step: state.step, wall_s: round(elapsed()), images_per_s: round(trainImages / Math.max(trainSeconds, 1e-9)), metrics },
  };
}

/** The first validation images, the fixed batch the diagnostics probe layer inputs with. */
async function probeImages(dataset: Dataset, config: RunConfig): Promise<tf.Tensor | null> {
  const batches = dataset.batches('val', { batchSize: PROBE_IMAGES, seed: config.seed, epoch: 0, shuffle: false, dropLast: false });
  for await (const batch of batches) {
    const t = batchTensors(batch, dataset);
    tf.dispose(Object.values(t).filter((v): v is tf.Tensor => v instanceof tf.Tensor && v !== t.images));
    return t.images;
  }
  return null;
}

/** λ for this step: over the whole run, or restarting within each stage (progressive.span). */
function lambdaFor(config: RunConfig, stage: Stage, step: number, total: number): number {
  const [start, end] = config.progressive.span === 'stage' ? [stage.start, stage.end] : [0, total];
  return lambdaAt(step, start, end, config.progressive);
}

async function loadTeacher(teacherDir: string, dataset: Dataset): Promise<BinaryModel> {
  const teacher = await loadModel(fileSystemHandler(join(teacherDir, FILES.model)));
  const inputShape = teacher.model.inputs[0]!.shape.slice(1);
  if (inputShape.join('x') !== dataset.inputShape.join('x')) {
    teacher.dispose();
    throw new RunFailedError(`teacher ${teacherDir} takes ${inputShape.join('x')} inputs, this run feeds ${dataset.inputShape.join('x')}`);
  }
  return teacher;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
