/**
 * Every run-config key, its default and what it means: the one place to read them all
 * (nanoGPT style). Experiment files override these through `extends`, `set`, `grid`, presets and
 * `--set`; unknown keys are errors. Choices marked "assumed" are the project's where the paper
 * (arXiv 1904.05868) is silent — see docs/paper.md §5 (NOT FOUND) and §6 (what is assumed).
 */

/** The type a leaf accepts; `--set` strings are parsed into it. */
export type LeafType = 'number' | 'integer' | 'string' | 'boolean' | 'number[]' | 'string[]' | 'any';

export interface Leaf<T = unknown> {
  default: T;
  type: LeafType;
  /** Allowed values, for enumerations. */
  choices?: readonly T[];
  /** Whether `null` is accepted besides `type`. */
  nullable?: boolean;
  /** Inclusive numeric bounds. */
  min?: number;
  max?: number;
  /** Exclusive lower bound: the value must be greater. */
  above?: number;
  doc: string;
}

/** A leaf whose value is one of `choices`: `RunConfig` types it as that literal union. */
export interface ChoiceLeaf<T extends string> extends Leaf<T> {
  choices: readonly T[];
}

function leaf<const T extends string>(spec: Leaf<T> & { choices: readonly T[] }): ChoiceLeaf<T>;
function leaf<T>(spec: Leaf<T>): Leaf<T>;
function leaf<T>(spec: Leaf<T>): Leaf<T> { return spec; }

export const SCHEMA = {
  task: leaf({ default: 'pose', type: 'string', choices: ['pose', 'classification'], doc: 'pose: heatmaps + PCKh; classification: logits + top-1/top-5' }),
  seed: leaf({ default: 0, type: 'integer', min: 0, doc: 'seeds weights, data generation and data order; experiments set it from `seeds`' }),

  model: {
    arch: leaf({ default: 'hourglass', type: 'string', choices: ['hourglass', 'alexnet', 'resnet18'], doc: 'network family' }),
    binary: leaf({ default: true, type: 'boolean', doc: 'false builds the same network fully real-valued (teachers, reference rows)' }),
    stacks: leaf({ default: 1, type: 'integer', min: 1, max: 8, doc: 'stacked HourGlass networks, each supervised (paper: 1, 2, 3)' }),
    depth: leaf({ default: 3, type: 'integer', min: 1, max: 6, doc: 'HourGlass recursion depth (paper: 4 at 64x64 heatmaps; 3 at our 16x16)' }),
    channels: leaf({ default: 128, type: 'integer', min: 4, doc: 'HourGlass width C (paper: 256)' }),
    block: leaf({ default: 'hpm', type: 'string', choices: ['hpm'], doc: 'ICCV17 hierarchical, parallel & multi-scale block (C/2, C/4, C/4 chained 3x3 convs)' }),
    activation: leaf({ default: 'prelu', type: 'string', choices: ['none', 'relu', 'leaky_relu', 'prelu'], doc: 'non-linearity after each binary conv (paper: PReLU beats ReLU)' }),
    leaky_slope: leaf({ default: 0.1, type: 'number', min: 0, max: 1, doc: 'negative slope of leaky_relu (assumed)' }),
    prelu_init: leaf({ default: 0.25, type: 'number', min: 0, max: 1, doc: 'initial per-channel PReLU slope (PyTorch default)' }),
    activation_placement: leaf({ default: 'post', type: 'string', choices: ['post', 'pre'], doc: 'post: BN→sign→conv→act; pre: BN→act→sign→conv (degenerate with relu and a never-zero sign)' }),
    sign_at_zero: leaf({ default: 'plus_one', type: 'string', choices: ['plus_one', 'zero'], doc: 'sign(0): +1 (XNOR/Larq) or 0 (Torch)' }),
    width_multiplier: leaf({ default: 1, type: 'number', min: 0.03125, max: 4, doc: 'classification nets: scales every layer width' }),
    keep_real: leaf({ default: ['first', 'last'], type: 'string[]', doc: 'layers left real-valued, by name; "first" and "last" name the stem and the head' }),
  },

  binarize: {
    order: leaf({ default: 'joint', type: 'string', choices: ['joint', 'real-first', 'weights-first', 'features-first'], doc: 'init order; features-first is the paper\'s reverse order' }),
    stage_split: leaf({ default: 0.5, type: 'number', min: 0, max: 1, doc: 'equal total steps (stage_steps null): fraction of train.steps in the first stage of a two-stage order (assumed)' }),
    stage_steps: leaf({ default: null as number | null, type: 'integer', min: 1, nullable: true, doc: 'null: equal total steps (a two-stage order splits train.steps at stage_split); N: each stage its own budget (first stage N steps, then train.steps fully binary, the lr schedule restarting at each stage), as the paper trains each stage on its own' }),
    weight_scale: leaf({ default: 'channel', type: 'string', choices: ['channel', 'tensor', 'none'], doc: 'alpha = mean|W| per output filter (XNOR-Net, authors\' code), per tensor, or none' }),
    weight_clip: leaf({ default: false, type: 'boolean', doc: 'clip latent weights to [-1, 1] after each step' }),
    gradient: leaf({ default: 'clipped_ste', type: 'string', choices: ['clipped_ste', 'ste', 'approx_sign', 'swish_sign'], doc: 'backward pass of the hard sign' }),
    swish_beta: leaf({ default: 5, type: 'number', min: 0, doc: 'beta of swish_sign (Larq default)' }),
  },

  progressive: {
    enabled: leaf({ default: false, type: 'boolean', doc: 'replace sign by a smooth f(lambda x) with lambda growing during training' }),
    function: leaf({ default: 'tanh', type: 'string', choices: ['tanh', 'sigmoid', 'softsign'], doc: 'tanh(lx), 2*sigmoid(lx)-1, or lx/(1+|lx|)' }),
    apply_to: leaf({ default: 'both', type: 'string', choices: ['features', 'weights', 'both'], doc: 'which quantizers go progressive (assumed both)' }),
    scale: leaf({ default: 'mean_abs', type: 'string', choices: ['mean_abs', 'none'], doc: 'lambda multiplies x / mean|x| of each tensor (mean_abs) or raw x (none); assumed, the paper does not say (docs/paper.md)' }),
    gradient: leaf({ default: 'exact', type: 'string', choices: ['exact', 'surrogate'], doc: 'backward pass: exact = the derivative of f (the paper gives it for the sigmoid form); surrogate = the hard sign\'s binarize.gradient, f only in the forward pass' }),
    lambda_start: leaf({ default: 1, type: 'number', min: 0, doc: 'lambda at the start of the schedule (assumed)' }),
    lambda_end: leaf({ default: 1000, type: 'number', min: 0, doc: 'lambda at the end of the schedule (assumed: with scale mean_abs, tanh, sigmoid and softsign are then within 0.1 of sign on >= 99 % of entries)' }),
    schedule: leaf({ default: 'exponential', type: 'string', choices: ['linear', 'exponential', 'step'], doc: 'how lambda grows between start and end' }),
    span: leaf({ default: 'run', type: 'string', choices: ['run', 'stage'], doc: 'lambda runs its schedule over the whole run, or restarts in each binarization stage (assumed run)' }),
    eval_hard_sign: leaf({ default: true, type: 'boolean', doc: 'evaluate with the hard sign (the deployed binary network)' }),
  },

  data: {
    name: leaf({ default: 'synthetic-pose', type: 'string', choices: ['synthetic-pose', 'mpii', 'coco-keypoints', 'mnist', 'fashion-mnist', 'cifar10', 'image-folder', 'imagenet'], doc: 'dataset; synthetic-pose and mnist need no download; imagenet is image-folder with ImageNet\'s name' }),
    root: leaf({ default: null as string | null, type: 'string', nullable: true, doc: 'dataset folder (relative to the working directory); fashion-mnist falls back to /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist) when unset' }),
    train_annotations: leaf({ default: 'annotations/*_train.json', type: 'string', doc: 'coco-keypoints: training COCO keypoints file relative to data.root (\'*\' in the file name: exactly one match)' }),
    val_annotations: leaf({ default: 'annotations/*_val.json', type: 'string', doc: 'coco-keypoints: validation COCO keypoints file relative to data.root' }),
    images: leaf({ default: 'images', type: 'string', doc: 'coco-keypoints: image folder relative to data.root (file_name is relative to it)' }),
    bbox_margin: leaf({ default: 1.25, type: 'number', min: 1, doc: 'coco-keypoints: crop side = margin x the longer bbox side, centred on the bbox (mmpose\'s padding 1.25)' }),
    flip_pairs: leaf({ default: [] as string[], type: 'string[]', doc: 'coco-keypoints: "left:right" keypoint-name pairs swapped by a flip; empty derives them from left_/right_, l_/r_ names' }),
    mean: leaf({ default: null as number[] | null, type: 'number[]', nullable: true, doc: 'per-channel mean of pixel/255 subtracted from inputs; null: the set\'s usual (ImageNet for photos and image folders, CIFAR-10\'s for cifar10, Fashion-MNIST\'s)' }),
    std: leaf({ default: null as number[] | null, type: 'number[]', nullable: true, doc: 'per-channel std dividing inputs; null: the set\'s usual (see data.mean)' }),
    crop: leaf({ default: 'auto', type: 'string', choices: ['auto', 'resized', 'padded'], doc: 'classification training crop: resized = RandomResizedCrop (ImageNet), padded = pad by crop_padding and take a random input-size crop (CIFAR); auto: padded for cifar10 / fashion-mnist, resized for image folders' }),
    crop_padding: leaf({ default: 4, type: 'integer', min: 0, doc: 'padded crop: zero padding on each side in input pixels (CIFAR literature: 4)' }),
    input_size: leaf({ default: 64, type: 'integer', min: 16, doc: 'network input side in pixels (paper pose: 256)' }),
    heatmap_size: leaf({ default: 16, type: 'integer', min: 4, doc: 'heatmap side (paper: 64); input_size / 4' }),
    heatmap_sigma: leaf({ default: 1, type: 'number', min: 0.1, doc: 'Gaussian sigma of target heatmaps, in heatmap pixels' }),
    train_size: leaf({ default: 8000, type: 'integer', min: 1, doc: 'training images (synthetic sets; caps real ones)' }),
    val_size: leaf({ default: 500, type: 'integer', min: 1, doc: 'validation images' }),
    augment: leaf({ default: true, type: 'boolean', doc: 'scale, rotation and flip augmentation of real data' }),
    skip_bad_records: leaf({ default: false, type: 'boolean', doc: 'skip and count bad annotations / images instead of failing' }),
    num_classes: leaf({ default: 10, type: 'integer', min: 2, doc: 'classification classes (imagenet: from the folders)' }),
  },

  train: {
    optimizer: leaf({ default: 'adam', type: 'string', choices: ['adam', 'rmsprop', 'sgd'], doc: 'optimizer' }),
    lr: leaf({ default: 1e-3, type: 'number', above: 0, doc: 'learning rate' }),
    momentum: leaf({ default: 0.9, type: 'number', min: 0, max: 1, doc: 'sgd momentum (rmsprop runs without, as PyTorch\'s default)' }),
    weight_decay: leaf({ default: 0, type: 'number', min: 0, doc: 'L2 penalty on real-valued weights' }),
    batch_size: leaf({ default: 16, type: 'integer', min: 1, doc: 'images per step' }),
    steps: leaf({ default: 1000, type: 'integer', min: 1, doc: 'optimizer steps (ignored when epochs is set)' }),
    epochs: leaf({ default: null as number | null, type: 'integer', min: 1, nullable: true, doc: 'passes over the training set; overrides steps' }),
    lr_schedule: leaf({ default: 'step', type: 'string', choices: ['constant', 'step', 'cosine'], doc: 'learning-rate schedule' }),
    lr_milestones: leaf({ default: [0.75], type: 'number[]', doc: 'step schedule: fractions of training, each in (0, 1), where lr *= lr_gamma' }),
    lr_gamma: leaf({ default: 0.1, type: 'number', min: 0, doc: 'step schedule factor' }),
    warmup_steps: leaf({ default: 0, type: 'integer', min: 0, doc: 'linear warm-up steps' }),
    eval_every: leaf({ default: 250, type: 'integer', min: 1, doc: 'evaluate every N steps (and at the end)' }),
    checkpoint_every: leaf({ default: 500, type: 'integer', min: 1, doc: 'checkpoint every N steps (and at the end)' }),
    tensorboard: leaf({ default: true, type: 'boolean', doc: 'write TensorBoard event files to <run>/tb/ (scalars and latent-weight histograms at each evaluation)' }),
    threads: leaf({ default: null as number | null, type: 'integer', min: 1, nullable: true, doc: 'compute threads of a run on the native backend (and tfjs-node); null: cores / parallel jobs locally, --cpus-per-task on Slurm; wasm and cpu always use 1' }),
  },

  distill: {
    teacher: leaf({ default: null as unknown, type: 'any', nullable: true, doc: 'null; a finished run folder (path relative to the working directory); or a mapping of keys selecting a run of the same grid' }),
    weight: leaf({ default: 0.5, type: 'number', min: 0, max: 1, doc: 'pose: (1-w) MSE to ground truth + w MSE to the teacher (assumed 0.5)' }),
    temperature: leaf({ default: 4, type: 'number', min: 0.01, doc: 'classification: Hinton KD temperature (assumed)' }),
  },

  eval: {
    batch_size: leaf({ default: 32, type: 'integer', min: 1, doc: 'images per evaluation batch' }),
    pckh_threshold: leaf({ default: 0.5, type: 'number', min: 0, doc: 'PCKh threshold (MPII: 0.5)' }),
    pck_normalizer: leaf({ default: 'auto', type: 'string', choices: ['auto', 'torso', 'head', 'bbox'], doc: 'coco-keypoints PCK reference length: torso = |l_shoulder - r_hip| (LSP), head = |neck - head_top|, bbox = longer bbox side; auto: torso where the set has those keypoints, else bbox. MPII always uses its head boxes' }),
    pck_alpha: leaf({ default: 0.2, type: 'number', min: 0, doc: 'coco-keypoints PCK threshold as a fraction of the reference length (LSP: 0.2)' }),
  },
} as const;

type Widen<T> = T extends string ? string : T extends number ? number : T extends boolean ? boolean
  : T extends readonly (infer U)[] ? Widen<U>[] : T;
type Resolve<S> = S extends ChoiceLeaf<infer C> ? C : S extends Leaf<infer T> ? Widen<T>
  : { -readonly [K in keyof S]: Resolve<S[K]> };

/** A fully resolved run configuration. */
export type RunConfig = Resolve<typeof SCHEMA>;

export function isLeaf(node: unknown): node is Leaf {
  return typeof node === 'object' && node !== null && 'doc' in node && 'type' in node && 'default' in node;
}

/** A deep copy of every default. */
export function defaultConfig(): RunConfig {
  const build = (node: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(node).map(([k, v]) =>
      [k, isLeaf(v) ? structuredClone(v.default) : build(v as Record<string, unknown>)]));
  return build(SCHEMA) as RunConfig;
}

type DeepReadonly<T> = T extends readonly (infer U)[] ? readonly DeepReadonly<U>[]
  : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

const deepFreeze = <T>(value: T): DeepReadonly<T> => {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
};

/**
 * The schema's defaults, frozen: what modules outside src/config read when they need a default
 * (`DEFAULT_*` constants derive from it, so a default is stated only in SCHEMA above).
 */
export const DEFAULTS: DeepReadonly<RunConfig> = deepFreeze(defaultConfig());

/** Every dotted leaf key with its spec, in schema order. */
export function leafEntries(): Array<[string, Leaf]> {
  const out: Array<[string, Leaf]> = [];
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (isLeaf(v)) out.push([key, v]);
      else walk(v as Record<string, unknown>, key);
    }
  };
  walk(SCHEMA, '');
  return out;
}
