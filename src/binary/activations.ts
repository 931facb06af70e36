/**
 * The non-linearity after (or, with placement 'pre', before) each binary conv: none, relu,
 * leaky_relu or per-channel prelu (config `model.activation`). These are tfjs's own layers, so they
 * save and load with no registration.
 */
import tf from '../tf.cjs';
import { DEFAULTS, SCHEMA, type RunConfig } from '../config/schema.ts';
import { ConfigError } from '../errors.ts';

export type ActivationKind = RunConfig['model']['activation'];
export const ACTIVATION_KINDS: readonly ActivationKind[] = SCHEMA.model.activation.choices;

/** Where the activation sits relative to the sign (config `model.activation_placement`). */
export type ActivationPlacement = RunConfig['model']['activation_placement'];

/** PyTorch's nn.PReLU init, the value the authors' code starts from: the schema's `model.prelu_init`. */
export const DEFAULT_PRELU_INIT = DEFAULTS.model.prelu_init;
/** Negative slope of leaky_relu: the schema's `model.leaky_slope` (assumed). */
export const DEFAULT_LEAKY_SLOPE = DEFAULTS.model.leaky_slope;

export interface ActivationSpec {
  kind: ActivationKind;
  /** Slope of leaky_relu for x < 0. */
  leakySlope?: number;
  /** Initial slope of every PReLU channel. */
  preluInit?: number;
}

export function parseActivation(kind: string): ActivationKind {
  if (!(ACTIVATION_KINDS as readonly string[]).includes(kind)) {
    throw new ConfigError(`model.activation: '${kind}' is not one of ${ACTIVATION_KINDS.join(', ')}`);
  }
  return kind as ActivationKind;
}

/**
 * A new activation layer, or null for 'none'. PReLU learns one slope per channel, shared over the
 * spatial axes (sharedAxes [1, 2] for NHWC; for rank-2 dense outputs, one per unit), as PyTorch's
 * nn.PReLU(num_parameters=C) does in the authors' blocks.
 */
export function activationLayer(spec: ActivationSpec, name: string, rank: 2 | 4 = 4): tf.layers.Layer | null {
  switch (spec.kind) {
    case 'none':
      return null;
    case 'relu':
      return tf.layers.reLU({ name });
    case 'leaky_relu':
      return tf.layers.leakyReLU({ alpha: spec.leakySlope ?? DEFAULT_LEAKY_SLOPE, name });
    case 'prelu':
      return tf.layers.prelu({
        alphaInitializer: tf.initializers.constant({ value: spec.preluInit ?? DEFAULT_PRELU_INIT }),
        sharedAxes: rank === 4 ? [1, 2] : undefined,
        name,
      });
  }
}

/** Applies `activationLayer` to a symbolic tensor; 'none' returns the input unchanged. */
export function applyActivation(x: tf.SymbolicTensor, spec: ActivationSpec, name: string): tf.SymbolicTensor {
  const layer = activationLayer(spec, name, x.shape.length === 2 ? 2 : 4);
  return layer === null ? x : (layer.apply(x) as tf.SymbolicTensor);
}
