/**
 * Compute backends: pick and initialise one (`selectBackend`, once per process, before building
 * models), list what this machine offers (`probeBackends`), and the kernel overrides (fast
 * convolution gradients, fixed pooling/resize gradients) that make the JS backends trainable.
 */
import { installKernelOverrides } from './kernels.ts';
import { installBannerFilter } from './quiet.ts';

// Importing this module is how code gets tfjs ready. Code that never calls selectBackend runs on
// tfjs's default cpu backend, so the banner filter and the cpu kernel fixes (correct resize/avg
// pool gradients, fast filter gradient) go in at import, before any tensor is written.
installBannerFilter();
installKernelOverrides('cpu');

export {
  BACKEND_CHOICES,
  BACKEND_NAMES,
  probeBackends,
  selectBackend,
  type BackendName,
  type BackendProbe,
  type BackendRequest,
  type ProbeReport,
  type SelectedBackend,
} from './select.ts';
export { convBackpropFilter, convBackpropInput, type ConvGeometry, type ConvPad } from './conv-grad.ts';
export { maxPoolGradInto, resizeNearestBackprop, type PoolGeometry } from './pool-grad.ts';
export {
  batchNormTrain, fusedBinarizeWeights, fusedSign, hasFusedBatchNorm, hasFusedSign, type FusedSignGradient,
} from './fused.ts';
export {
  hasFastConvGradients,
  installKernelOverrides,
  kernelOverrides,
  overrideCallCounts,
  uninstallKernelOverrides,
} from './kernels.ts';
export { classifyImportError } from './native.ts';
