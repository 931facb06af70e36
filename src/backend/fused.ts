/**
 * The fused typed-array kernels (js-kernel.ts) that the binary layers and the models call, in one
 * import. Importing this registers nothing: register.ts does, when a backend is selected; until
 * then `hasFusedSign` / `hasFusedBatchNorm` say no and callers take the plain tfjs ops.
 */
export { batchNormTrain, hasFusedBatchNorm, type BatchNormTrainResult } from './bn-kernel.ts';
export { fusedBinarizeWeights, fusedSign, hasFusedSign, type FusedSignGradient } from './binary-kernels.ts';
