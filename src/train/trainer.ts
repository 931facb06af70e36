import tf from '../tf.cjs';
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
  /** Opens the run's dataset (default createDataset); a pooled worker reuses one across runs (data/reuse.ts). */
  openDataset?: (config: RunConfig) => Promise<Dataset>;
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
  const dataset = await (inputs.openDataset ?? createDataset)(config);
  const built = buildModel(config, { inputShape: [...dataset.inputShape], numClasses: dataset.numClasses, numJoints: dataset.numJoints });
  const teacher = inputs.teacherDir ? await loadTeacher(inputs.teacherDir, dataset) : undefined;
  const optimizer = createOptimizer(config.train);
  const diagnostics = BinaryDiagnostics.of(built.model, built.quant, await probeImages(dataset, config));
  try {
    return await new TrainingLoop(inputs, dataset, built, optimizer, teacher, hooks, diagnostics).run();
  } finally {
    diagnostics?.dispose();
    optimizer.dispose();
    built.dispose();
    teacher?.dispose();
  }
}

/** The run's length: steps per epoch, the stages of the init-order ablation, the total. */
interface RunSchedule {
  stepsPerEpoch: number;
  dropLast: boolean;
  stages: Stage[];
  /** binarize.stage_steps, or null (a config stored before it existed: equal total steps, as then). */
  stageSteps: RunConfig['binarize']['stage_steps'] | null;
  total: number;
}

function runSchedule(config: RunConfig, dataset: Dataset): RunSchedule {
  const t = config.train;
  const trainSize = dataset.size('train');
  const dropLast = trainSize >= t.batch_size;
  const stepsPerEpoch = Math.max(1, dropLast ? Math.floor(trainSize / t.batch_size) : 1);
  const budget = t.epochs ? t.epochs * stepsPerEpoch : t.steps;
  const stageSteps = config.binarize.stage_steps ?? null;
  const stages = binarizationStages(config.binarize.order, config.binarize.stage_split, budget, config.model.binary, stageSteps);
  // Longer than the budget when each stage has its own (binarize.stage_steps).
  return { stepsPerEpoch, dropLast, stages, stageSteps, total: runLength(stages) };
}

/**
 * The loop state of the latest checkpoint, or step 0. A corrupt checkpoint (nothing of it
 * applied) is moved aside for a look and training starts over.
 */
async function resumeOrStart(checkpoints: string, built: BinaryModel, optimizer: tf.Optimizer, hooks: TrainHooks,
  diagnostics: BinaryDiagnostics | undefined): Promise<LoopState> {
  let state: LoopState = { step: 0, lossSum: 0, lossCount: 0, elapsed: 0 };
  const resumeFrom = latestCheckpoint(checkpoints);
  if (resumeFrom) {
    try {
      state = await restoreCheckpoint(resumeFrom, built.model, optimizer);
      // Without the saved reference the first interval's flip ratio is unknown (null), not wrong.
      diagnostics?.loadReference(checkpoints, state.step);
      hooks.onResume?.(state.step);
    } catch (err) {
      if (!(err instanceof CorruptCheckpointError)) throw err;
      const aside = `${checkpoints}.corrupt-${Date.now()}`;
      renameSync(checkpoints, aside);
      process.stderr.write(`${err.message}; moved to ${aside}, training from step 0\n`);
    }
  }
  if (state.step === 0) await diagnostics?.resetReference();
  hooks.onStart?.(state.step);
  return state;
}

/** The settings one step trains with: its stage, λ and learning rate. */
interface StepSettings {
  stage: Stage;
  lambda: number | null;
  lr: number;
  epoch: number;
}

/**
 * The training loop of one run, as named steps: `run` walks the epochs' batches (skipping those a
 * resumed run already trained) and for each batch applies the schedule, trains, and evaluates and
 * checkpoints when due; `finish` saves the model. Every step-dependent choice is a function of
 * the step, so a resumed run takes the same path as one that never stopped.
 */
class TrainingLoop {
  private readonly schedule: RunSchedule;
  private readonly checkpoints: string;
  private step: ReturnType<typeof makeTrainStep> = async () => { throw new Error('TrainingLoop.run builds the step'); };
  private state: LoopState = { step: 0, lossSum: 0, lossCount: 0, elapsed: 0 };
  private sessionStart = 0;
  private earlierSessions = 0;
  private trainSeconds = 0;
  private trainImages = 0;
  private interval = { seconds: 0, images: 0 };
  private stage: Stage | undefined;
  private lastEval: EvalMetrics | undefined;

  constructor(private readonly inputs: TrainInputs, private readonly dataset: Dataset, private readonly built: BinaryModel,
    private readonly optimizer: tf.Optimizer, private readonly teacher: BinaryModel | undefined, private readonly hooks: TrainHooks,
    private readonly diagnostics: BinaryDiagnostics | undefined) {
    this.schedule = runSchedule(inputs.config, dataset);
    this.checkpoints = join(inputs.runDir, FILES.checkpoints);
  }

  async run(): Promise<TrainOutcome> {
    this.state = await resumeOrStart(this.checkpoints, this.built, this.optimizer, this.hooks, this.diagnostics);
    this.sessionStart = performance.now();
    this.earlierSessions = this.state.elapsed;
    // Built after the restore, which it must follow: it captures the model's variables.
    this.step = makeTrainStep(this.inputs.config, this.dataset, this.built, this.optimizer, this.teacher);
    const { config } = this.inputs;
    const { stepsPerEpoch, dropLast, total } = this.schedule;
    while (this.state.step < total) {
      const epoch = Math.floor(this.state.step / stepsPerEpoch);
      let skip = this.state.step % stepsPerEpoch;
      const batches = this.dataset.batches('train', { batchSize: config.train.batch_size, seed: config.seed, epoch, shuffle: true, dropLast });
      for await (const batch of batches) {
        if (skip > 0) { skip--; continue; }
        // Data iteration resolves through microtasks only; one macrotask turn per step lets
        // signal handlers (and the IPC channel) run, so Ctrl-C is seen within a step.
        await new Promise((resolve) => setImmediate(resolve));
        if (this.inputs.signal?.aborted) return this.interrupt();
        const settings = this.applySchedule(epoch);
        await this.trainBatch(batch, settings);
        await this.evaluateIfDue(settings);
        await this.checkpointIfDue();
        if (this.state.step >= total) break;
      }
    }
    return this.finish();
  }

  private elapsed(): number {
    return this.earlierSessions + (performance.now() - this.sessionStart) / 1000;
  }

  /** The flip-ratio reference goes first, so latest.json never names a checkpoint without one. */
  private async checkpoint(): Promise<void> {
    this.state.elapsed = this.elapsed();
    this.diagnostics?.saveReference(this.checkpoints, this.state.step);
    await saveCheckpoint(this.checkpoints, this.built.model, this.optimizer, this.state);
    // Older references go once the new checkpoint is in force.
    pruneReferences(this.checkpoints, this.state.step);
  }

  private async interrupt(): Promise<TrainOutcome> {
    await this.checkpoint();
    return { status: 'interrupted', step: this.state.step };
  }

  /** Stage (binarization flags), λ and learning rate for the coming step. */
  private applySchedule(epoch: number): StepSettings {
    const { config } = this.inputs;
    const { stages, total, stageSteps } = this.schedule;
    const current = stageAt(stages, this.state.step);
    if (current !== this.stage) {
      this.stage = current;
      this.built.quant.setBinarization({ features: current.features, weights: current.weights });
    }
    const lambda = config.progressive.enabled ? lambdaFor(config, current, this.state.step, total) : null;
    if (lambda !== null) this.built.quant.setLambda(lambda);
    const lr = stageLearningRate(this.state.step, stages, config.train, stageSteps !== null);
    setLearningRate(this.optimizer, lr);
    return { stage: current, lambda, lr, epoch };
  }

  private async trainBatch(batch: Parameters<TrainingLoop['step']>[0], s: StepSettings): Promise<void> {
    const began = performance.now();
    const loss = await this.step(batch);
    const seconds = (performance.now() - began) / 1000;
    this.trainSeconds += seconds;
    this.trainImages += batch.size;
    this.interval = { seconds: this.interval.seconds + seconds, images: this.interval.images + batch.size };
    if (!Number.isFinite(loss)) throw new RunFailedError(`training loss is ${loss} at step ${this.state.step + 1} (stage ${s.stage.name}, lr ${s.lr})`);
    const state = this.state;
    state.step++;
    state.lossSum += loss;
    state.lossCount++;
    this.hooks.onProgress?.({
      step: state.step, total: this.schedule.total, epoch: s.epoch, stage: s.stage.name, loss,
      imagesPerSecond: this.trainImages / Math.max(this.trainSeconds, 1e-9),
    });
  }

  private evaluateModel(): Promise<EvalMetrics> {
    const { config } = this.inputs;
    return evaluate(this.built.model, this.dataset, { batchSize: config.eval.batch_size, pckhThreshold: config.eval.pckh_threshold, seed: config.seed });
  }

  /** Every eval_every steps and at the end: metrics.jsonl's record (through the hook). */
  private async evaluateIfDue(s: StepSettings): Promise<void> {
    const state = this.state;
    if (state.step % this.inputs.config.train.eval_every !== 0 && state.step !== this.schedule.total) return;
    this.lastEval = await this.evaluateModel();
    const { task: _task, ...metrics } = this.lastEval;
    const measured = await this.diagnostics?.measure();
    this.hooks.onEval?.({
      step: state.step, epoch: s.epoch, stage: s.stage.name, lambda: s.lambda, lr: s.lr, loss: state.lossSum / state.lossCount,
      elapsed_s: round(this.elapsed()), images_per_s: round(this.interval.images / Math.max(this.interval.seconds, 1e-9)),
      ...metrics, ...(measured ? { diag: measured.record } : {}),
    }, { latentWeights: measured?.latent ?? {} });
    this.interval = { seconds: 0, images: 0 };
    state.lossSum = 0;
    state.lossCount = 0;
  }

  private async checkpointIfDue(): Promise<void> {
    if (this.state.step % this.inputs.config.train.checkpoint_every === 0 && this.state.step < this.schedule.total) await this.checkpoint();
  }

  /** Saves the model; it supersedes the checkpoints (a finished run never resumes). */
  private async finish(): Promise<TrainOutcome> {
    this.lastEval ??= await this.evaluateModel();
    await this.built.model.save(fileSystemHandler(join(this.inputs.runDir, FILES.model)));
    rmSync(this.checkpoints, { recursive: true, force: true });
    const { task, ...metrics } = this.lastEval;
    const images_per_s = round(this.trainImages / Math.max(this.trainSeconds, 1e-9));
    return { status: 'done', final: { task, step: this.state.step, wall_s: round(this.elapsed()), images_per_s, metrics } };
  }
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
