/**
 * Step-indexed schedules: learning rate, binarization stages (the init-order ablation) and the
 * progressive-quantization λ. Pure functions of the step, so a resumed run recomputes exactly
 * what an uninterrupted one would have used.
 */

export interface LrScheduleConfig {
  lr: number;
  lr_schedule: string;
  lr_milestones: number[];
  lr_gamma: number;
  warmup_steps: number;
}

/** Learning rate for optimizer step `step` (0-based) of `total`. */
export function learningRateAt(step: number, total: number, cfg: LrScheduleConfig): number {
  if (cfg.warmup_steps > 0 && step < cfg.warmup_steps) return cfg.lr * (step + 1) / cfg.warmup_steps;
  switch (cfg.lr_schedule) {
    case 'constant':
      return cfg.lr;
    case 'step': {
      const passed = cfg.lr_milestones.filter((fraction) => step >= Math.round(fraction * total)).length;
      return cfg.lr * cfg.lr_gamma ** passed;
    }
    case 'cosine': {
      const span = Math.max(1, total - cfg.warmup_steps);
      const t = Math.min(1, (step - cfg.warmup_steps) / span);
      return 0.5 * cfg.lr * (1 + Math.cos(Math.PI * t));
    }
    default:
      throw new Error(`unknown lr_schedule '${cfg.lr_schedule}'`);
  }
}

/** Which parts of the network are binary during a stage. */
export interface Stage {
  name: string;
  /** First step of the stage (inclusive). */
  start: number;
  /** End step (exclusive). */
  end: number;
  features: boolean;
  weights: boolean;
}

/**
 * The binarization stages of a run. `features-first` is the paper's reverse-order
 * initialization (binary features with real weights, then weights too); `real-first` is the
 * standard practice it is compared against. A real-valued model has one real stage.
 *
 * `budget` is the run's step budget (train.steps, or epochs × steps per epoch). How a two-stage
 * order spends it (binarize.stage_steps):
 * - null, "equal total steps": the first stage takes round(split · budget) of it, so the fully
 *   binary stage gets less than a joint run's budget (half at split 0.5);
 * - N, "each stage its own budget" (the paper trains each stage on its own): the first stage
 *   runs N steps, then the fully binary stage runs the whole budget, as long as a joint run; the
 *   run is N + budget steps long.
 */
export function binarizationStages(order: string, split: number, budget: number, binaryModel: boolean, stageSteps: number | null = null): Stage[] {
  if (!binaryModel) return [{ name: 'real', start: 0, end: budget, features: false, weights: false }];
  const perStage = stageSteps !== null && order !== 'joint';
  const cut = perStage ? stageSteps : Math.min(budget, Math.max(0, Math.round(split * budget)));
  const total = perStage ? stageSteps + budget : budget;
  const two = (first: Omit<Stage, 'start' | 'end'>): Stage[] => [
    { ...first, start: 0, end: cut },
    { name: 'binary', start: cut, end: total, features: true, weights: true },
  ].filter((stage) => stage.end > stage.start);
  switch (order) {
    case 'joint':
      return [{ name: 'binary', start: 0, end: total, features: true, weights: true }];
    case 'real-first':
      return two({ name: 'real', features: false, weights: false });
    case 'weights-first':
      return two({ name: 'binary-weights', features: false, weights: true });
    case 'features-first':
      return two({ name: 'binary-features', features: true, weights: false });
    default:
      throw new Error(`unknown binarize.order '${order}'`);
  }
}

export function stageAt(stages: Stage[], step: number): Stage {
  return stages.find((s) => step >= s.start && step < s.end) ?? stages[stages.length - 1]!;
}

/** Optimizer steps of the whole run: where its last stage ends. */
export function runLength(stages: Stage[]): number {
  return stages[stages.length - 1]!.end;
}

/**
 * Learning rate at `step`: one schedule over the run, or, with each stage on its own budget
 * (`perStage`), the schedule restarted at every stage's start as if it were a run of its own.
 */
export function stageLearningRate(step: number, stages: Stage[], cfg: LrScheduleConfig, perStage: boolean): number {
  if (!perStage) return learningRateAt(step, runLength(stages), cfg);
  const stage = stageAt(stages, step);
  return learningRateAt(step - stage.start, stage.end - stage.start, cfg);
}

export interface LambdaScheduleConfig {
  lambda_start: number;
  lambda_end: number;
  schedule: string;
}

/** Number of equal plateaus of the `step` λ schedule (assumed: the paper gives no schedule). */
export const LAMBDA_STEP_PLATEAUS = 5;

/**
 * λ at `step` of a span [start, end): linear, exponential (geometric: equal ratios per step, so
 * the approximation sharpens evenly on a log scale) or step (LAMBDA_STEP_PLATEAUS plateaus).
 */
export function lambdaAt(step: number, start: number, end: number, cfg: LambdaScheduleConfig): number {
  const t = end - start <= 1 ? 1 : Math.min(1, Math.max(0, (step - start) / (end - start - 1)));
  const { lambda_start: l0, lambda_end: l1 } = cfg;
  switch (cfg.schedule) {
    case 'linear':
      return l0 + (l1 - l0) * t;
    case 'exponential':
      if (l0 <= 0 || l1 <= 0) return l0 + (l1 - l0) * t;
      return l0 * (l1 / l0) ** t;
    case 'step': {
      const k = Math.min(LAMBDA_STEP_PLATEAUS - 1, Math.floor(t * LAMBDA_STEP_PLATEAUS));
      return l0 + (l1 - l0) * (k / (LAMBDA_STEP_PLATEAUS - 1));
    }
    default:
      throw new Error(`unknown progressive.schedule '${cfg.schedule}'`);
  }
}
