/**
 * The fused typed-array kernels (js-kernel.ts) that the binary layers and the models call, in one
 * import. Importing this registers every kernel on cpu and wasm, and the Prelu gradient override.
 */
import './conv-kernels.ts';
import './prelu-grad.ts';
export { batchNormTrain, hasFusedBatchNorm, type BatchNormTrainResult } from './bn-kernel.ts';
export { fusedBinarizeWeights, fusedSign, hasFusedSign, type FusedSignGradient } from './binary-kernels.ts';
