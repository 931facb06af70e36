/**
 * Shapes the reporter reads (what the runner writes under results/<experiment>/) and the report it
 * builds. Kept apart from the code so tests and the CI gate can name them without pulling anything in.
 */
import type { RunConfig } from '../config/schema.ts';
import type { RunMeta, RunStatus } from '../results/store.ts';
import type { PowerRow } from './power.ts';

export type Task = RunConfig['task'];
/** The headline metric of a study: PCKh Mean (pose) or top-1 (classification), both in percent. */
export type Metric = 'pckh' | 'top1';

/** An experiment's `report:` mapping as written in its YAML (free-form; only these keys are read). */
export interface ReportSpec {
  metric?: Metric;
  baseline?: Record<string, unknown>;
  reference?: Record<string, unknown>;
  paper_finding?: string;
  expect?: string;
  paper_delta?: unknown;
  [key: string]: unknown;
}

/** One run as `experiment.json` lists it. */
export interface PlannedRunInfo {
  id: string;
  name: string;
  seed: number;
  params: Record<string, unknown>;
  dependsOn: string[];
}

/** `results/<experiment>/experiment.json`, written by the runner when it plans a study. */
export interface ExperimentFile {
  experiment: string;
  file?: string;
  description?: string;
  task?: Task;
  report?: ReportSpec;
  preset?: string | null;
  sets?: string[];
  varying?: string[];
  runs: PlannedRunInfo[];
  plannedAt?: string;
}

/** `final.json` of a finished run. */
export interface FinalJson {
  task?: Task;
  step?: number;
  wall_s?: number;
  images_per_s?: number;
  metrics: {
    pckh?: number;
    pckh_columns?: Record<string, number | null>;
    pckh_variant?: string;
    pckh_threshold?: number;
    top1?: number;
    top5?: number;
    val_loss?: number;
    [key: string]: unknown;
  };
}

/** One line of `metrics.jsonl`. */
export interface MetricRecord {
  step: number;
  epoch?: number;
  stage?: string;
  lambda?: number;
  lr?: number;
  loss?: number;
  val_loss?: number;
  pckh?: number;
  top1?: number;
  top5?: number;
  elapsed_s?: number;
  /** Binary-network diagnostics (src/binary/diagnostics.ts), on runs with binary layers. */
  diag?: {
    flip_ratio?: number | null;
    mean_abs_w?: number;
    clipped?: number;
    input_plus_min?: number | null;
    input_plus_max?: number | null;
    soft_agree_w?: number | null;
    soft_agree_x?: number | null;
  };
}

/** Everything the reporter knows about one planned run. */
export interface RunRecord extends PlannedRunInfo {
  /** `absent`: planned but no folder yet. */
  status: RunStatus | 'absent';
  final?: FinalJson;
  metrics: MetricRecord[];
  meta?: RunMeta;
  /** The resolved config (config.yaml), when readable. */
  config?: unknown;
}

/** A results folder as loaded. */
export interface LoadedExperiment {
  dir: string;
  name: string;
  file?: string;
  description?: string;
  task: Task;
  spec: ReportSpec;
  preset: string | null;
  sets: string[];
  /** Dotted keys that differ between runs (seed excluded). */
  varying: string[];
  runs: RunRecord[];
  /** Things a reader should know that are not errors (missing experiment.json, stray folders...). */
  notes: string[];
}

/** n, mean and sample std (n − 1 denominator) of per-seed values; std is null below two seeds. */
export interface Stat {
  n: number;
  mean: number | null;
  std: number | null;
}

export type Role = 'baseline' | 'reference' | 'teacher' | 'ablation';
export type Verdict = 'reproduced' | 'not significant' | 'contradicted' | 'no data';

/** A difference of the headline metric between two rows. */
export interface Comparison {
  /** Key of the row compared against. */
  versus: string;
  versusLabel: string;
  /** Row − versus, in points; null when either side has no finished run. */
  delta: number | null;
  /** Standard error of `delta`; null when it cannot be estimated (fewer than two seeds). */
  se: number | null;
  /** Spread of one seed's difference: sd of the paired differences, or √(s₁² + s₂²) unpaired. */
  sd: number | null;
  /** Degrees of freedom of the t-test on `delta`: n − 1 paired, Welch–Satterthwaite unpaired. */
  df: number | null;
  /** Seeds paired (method `paired`) or runs on the smaller side (`unpaired`). */
  n: number;
  method: 'paired' | 'unpaired' | 'none';
}

/** A result the paper reports, as this project knows it (see paper.ts for every source). */
export interface PaperFinding {
  id: string;
  claim: string;
  task: Task | 'any';
  /** Setting of the row the finding is about... */
  row: Record<string, unknown>;
  /** ...and of the row it is measured against. */
  versus: Record<string, unknown>;
  /** Expected sign of (row − versus) in the headline metric. */
  sign: 1 | -1;
  /** The paper's Δ in points, or null where its value is unknown (never guessed). */
  delta: number | null;
  qualifier?: 'about' | 'up to' | 'more than';
  /** Where the claim comes from (a section of docs/paper.md). */
  source: string;
}

export interface FindingResult {
  finding: PaperFinding;
  row: string;
  rowLabel: string;
  comparison: Comparison;
  verdict: Verdict;
}

export interface ReportRow {
  /** Canonical JSON of the run params without seed: the row's identity across reports and baselines. */
  key: string;
  label: string;
  role: Role;
  params: Record<string, unknown>;
  /** Planned runs (seeds) and the seeds that finished. */
  planned: number;
  seeds: number[];
  /** Per column: stats over seeds and the per-seed values they came from. */
  columns: Record<string, Stat>;
  values: Record<string, Record<string, number>>;
  /**
   * How a two-stage init order spent its steps (binarize.stage_steps): "equal total: s × T" or
   * "own: N + T"; null for single-stage rows (joint order, real models).
   */
  stageBudget: string | null;
  /** Throughput and time, for the CSV and JSON. */
  wallS: Stat;
  imagesPerS: Stat;
  /** Δ of the headline metric vs the row's baseline row (absent for baseline and teacher rows). */
  comparison?: Comparison;
  /** The paper finding about exactly this comparison, when there is one. */
  finding?: FindingResult;
}

/** A run left out of the averages. */
export interface ExcludedRun {
  id: string;
  name: string;
  seed: number;
  status: RunStatus | 'absent';
  error: string | null;
}

export interface ExperimentReport {
  experiment: string;
  dir: string;
  file?: string;
  description?: string;
  task: Task;
  metric: Metric;
  /** Table columns in order; `headline` is the one Δ, findings and check use. */
  columns: string[];
  headline: string;
  preset: string | null;
  sets: string[];
  spec: ReportSpec;
  rows: ReportRow[];
  findings: FindingResult[];
  /** Minimum detectable effect and seeds needed for every comparison (power.ts). */
  power: PowerRow[];
  excluded: ExcludedRun[];
  /** PCKh variants and thresholds named by the runs' final.json (pose only). */
  pckhVariants: string[];
  pckhThresholds: number[];
  /** Settings worth naming in every table (activation placement, sign at zero, steps...). */
  setup: Record<string, string>;
  notes: string[];
}
