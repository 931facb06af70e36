/**
 * Compute backends: pick and initialise one (`selectBackend`, once per process, before building
 * models), list what this machine offers (`probeBackends`), and the kernel overrides (fast
 * convolution gradients, fixed pooling/resize gradients) that make the JS backends trainable.
 * Importing registers nothing with tfjs: selecting a backend registers its profile, from the one
 * list in register.ts. Code that never selects one runs on stock tfjs.
 */
import { installBannerFilter } from './quiet.ts';

// The one import-time effect: a console.warn filter for tfjs's Node.js banner (quiet.ts), so a
// tensor made before selectBackend does not print it. It touches no tfjs registry.
installBannerFilter();

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
export { overrideCallCounts } from './kernels.ts';
export {
  hasFastConvGradients,
  installKernelOverrides,
  kernelOverrides,
  listOverrides,
  PROFILE_NAMES,
  registerProfile,
  uninstallKernelOverrides,
  type Profile,
  type ProfileOverrides,
} from './register.ts';
export { classifyImportError, type Importer } from './native.ts';
