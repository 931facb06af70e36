/** Binarization: quantizers, the model-wide quantization state, binary layers, activations. Imports tfjs. */
export {
  DEFAULT_SWISH_BETA, binarizeWeights, binarizeWeightsHard, hardSign, signForward, signSurrogateForward, signSurrogateGrad, smoothSign, smoothSignSurrogate, weightScale,
  type ProgressiveGradient, type ProgressiveScale, type SignAtZero, type SignGradient, type SmoothSign, type WeightScale,
} from './quantizers.ts';
export {
  DEFAULT_LAMBDA, DEFAULT_QUANT_SETTINGS, QuantState, applyWeightClip, attachQuantState, initialFlagsForOrder,
  isQuantizedLayer, quantSettingsFromConfig,
  type BinarizationFlags, type ProgressiveTarget, type QuantMode, type QuantSettings, type QuantStateConfig, type QuantizedLayer,
} from './quant-state.ts';
export {
  BinaryConv2D, BinaryDense, DEFAULT_BINARY_USE_BIAS, defaultKernelInitializer,
  type BinaryConv2DArgs, type BinaryDenseArgs, type BinaryLayerArgs,
} from './binary-layers.ts';
export {
  ACTIVATION_KINDS, DEFAULT_LEAKY_SLOPE, DEFAULT_PRELU_INIT, activationLayer, applyActivation, parseActivation,
  type ActivationKind, type ActivationPlacement, type ActivationSpec,
} from './activations.ts';
