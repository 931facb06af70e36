import { hasKernel, type Attrs, type JsKernel } from './js-kernel.ts';
import { at, defineWasmFuncs, elementwise, vecLoop } from './wasm-simd.ts';

/**
 * One fused update kernel per optimizer and variable (cpu and wasm): reads the variable, its
 * gradient and its slots, and writes the new variable and slots in one pass.
 *
 * Why: tfjs's optimizers issue 5-17 small ops per variable (RMSprop: 17, the mean square twice),
 * ~3,200 kernel calls per step of the reference HourGlass (184 variables), each with its engine
 * bookkeeping and a wasm heap allocation: ~50 ms of a ~800 ms step. One kernel per variable does
 * the same arithmetic.
 *
 * EXACTLY the same arithmetic: every tfjs op rounds its result to float32, so each step below is
 * wrapped in Math.fround in the order tfjs evaluates it, with the scalars (decay, 1 − decay, lr,
 * ε, …) rounded to float32 as tfjs's scalar tensors are. A float64 +, −, ×, ÷ or √ of float32
 * operands rounded once to float32 is the correctly rounded float32 result (53 ≥ 2·24 + 2), which
 * is what wasm's f32 arithmetic and the cpu backend's Float32Array stores compute. So these
 * kernels are bit-identical to tfjs's optimizers on both backends (test/train/optimizers.test.ts).
 * On wasm the same steps run as f32x4 SIMD (IEEE float32 lanes, no fused multiply-add), 4
 * elements at a time: again the same bits.
 */

const P = (names: string): Array<[string, 'i32']> => names.split(' ').map((n) => [`$${n}`, 'i32']);
const F = (names: string): Array<[string, 'f32']> => names.split(' ').map((n) => [`$${n}`, 'f32']);
const V = (names: string): Array<[string, 'v128']> => names.split(' ').map((n) => [`$${n}`, 'v128']);
/** WAT: splat f32 params into v128 locals of the same name with a V prefix. */
const splat = (names: string): string => names.split(' ').map((n) => `local.get $${n} f32x4.splat local.set $V${n}`).join('\n');

defineWasmFuncs([{
  name: 'rmsprop',
  params: [...P('x g ms mom x1 ms1 mom1 bytes'), ...F('rho rho1 mu lr eps')],
  locals: [['$i', 'i32'], ...V('vg vs vm Vrho Vrho1 Vmu Vlr Veps')],
  body: `${splat('rho rho1 mu lr eps')} ${vecLoop(`
    ${at('$g')} v128.load local.set $vg
    ${at('$ms')} v128.load local.get $Vrho f32x4.mul
    local.get $vg local.get $vg f32x4.mul local.get $Vrho1 f32x4.mul
    f32x4.add local.set $vs
    ${at('$mom')} v128.load local.get $Vmu f32x4.mul
    local.get $vg local.get $Vlr f32x4.mul
    local.get $vs local.get $Veps f32x4.add f32x4.sqrt
    f32x4.div f32x4.add local.set $vm
    ${at('$ms1')} local.get $vs v128.store
    ${at('$mom1')} local.get $vm v128.store
    ${at('$x1')} ${at('$x')} v128.load local.get $vm f32x4.sub v128.store`)}`,
}, {
  name: 'adam',
  params: [...P('x g m v x1 m1 v1 bytes'), ...F('b1 b1c b2 b2c c1 c2 eps negLr')],
  locals: [['$i', 'i32'], ...V('vg vm vv Vb1 Vb1c Vb2 Vb2c Vc1 Vc2 Veps VnegLr')],
  body: `${splat('b1 b1c b2 b2c c1 c2 eps negLr')} ${vecLoop(`
    ${at('$g')} v128.load local.set $vg
    ${at('$m')} v128.load local.get $Vb1 f32x4.mul local.get $vg local.get $Vb1c f32x4.mul f32x4.add local.set $vm
    ${at('$v')} v128.load local.get $Vb2 f32x4.mul
    local.get $vg local.get $vg f32x4.mul local.get $Vb2c f32x4.mul f32x4.add local.set $vv
    ${at('$m1')} local.get $vm v128.store
    ${at('$v1')} local.get $vv v128.store
    ${at('$x1')}
    local.get $vm local.get $Vc1 f32x4.div
    local.get $vv local.get $Vc2 f32x4.div f32x4.sqrt local.get $Veps f32x4.add
    f32x4.div local.get $VnegLr f32x4.mul
    ${at('$x')} v128.load f32x4.add v128.store`)}`,
}, {
  name: 'momentum',
  params: [...P('x g acc x1 acc1 bytes nesterov'), ...F('mu c')],
  locals: [['$i', 'i32'], ...V('vg va vt Vmu Vc')],
  body: `${splat('mu c')} ${vecLoop(`
    ${at('$g')} v128.load local.set $vg
    local.get $Vmu ${at('$acc')} v128.load f32x4.mul local.get $vg f32x4.add local.tee $va local.set $vt
    ${at('$acc1')} local.get $va v128.store
    local.get $nesterov if local.get $vg local.get $va local.get $Vmu f32x4.mul f32x4.add local.set $vt end
    ${at('$x1')} local.get $Vc local.get $vt f32x4.mul ${at('$x')} v128.load f32x4.add v128.store`)}`,
}, {
  name: 'sgd',
  params: [...P('x g x1 bytes'), ...F('c')],
  locals: [['$i', 'i32'], ...V('Vc')],
  body: `${splat('c')} ${vecLoop(`${at('$x1')} local.get $Vc ${at('$g')} v128.load f32x4.mul ${at('$x')} v128.load f32x4.add v128.store`)}`,
}]);

export const RMSPROP_UPDATE = 'BnnRmspropUpdate';
export const ADAM_UPDATE = 'BnnAdamUpdate';
export const MOMENTUM_UPDATE = 'BnnMomentumUpdate';
export const SGD_UPDATE = 'BnnSgdUpdate';

const f = Math.fround;
const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

const same = (shapes: readonly (readonly number[])[], n: number): number[][] =>
  Array.from({ length: n }, () => [...shapes[0]!]);

/**
 * tfjs RMSPropOptimizer, centered = false:
 *   ms' = ms·ρ + g²·(1 − ρ);  mom' = mom·μ + g·lr / √(ms' + ε);  x' = x − mom'.
 */
const rmspropUpdateKernel: JsKernel = {
  name: RMSPROP_UPDATE,
  inputs: ['x', 'g', 'ms', 'mom'],
  outShapes: (s) => same(s, 3),
  simd(ctx, [xs], a) {
    return elementwise(ctx, 'rmsprop', size(xs!), [a.decay as number, 1 - (a.decay as number), a.momentum as number,
      a.lr as number, a.epsilon as number], (ins, outs) => this.run(ins, outs, [], a));
  },
  run([x, g, ms, mom], [x1, ms1, mom1], _s, a: Attrs) {
    const rho = f(a.decay as number), rho1 = f(1 - (a.decay as number));
    const mu = f(a.momentum as number), lr = f(a.lr as number), eps = f(a.epsilon as number);
    const n = x!.length;
    for (let i = 0; i < n; i++) {
      const gi = g![i]!;
      const s = f(f(ms![i]! * rho) + f(f(gi * gi) * rho1));
      const m = f(f(mom![i]! * mu) + f(f(gi * lr) / f(Math.sqrt(f(s + eps)))));
      ms1![i] = s;
      mom1![i] = m;
      x1![i] = x![i]! - m;
    }
  },
};

/**
 * tfjs AdamOptimizer (oneMinusAccBeta = 1 − β^t, computed by the caller from tfjs's own
 * accBeta variables):
 *   m' = m·β1 + g·(1 − β1);  v' = v·β2 + g²·(1 − β2);
 *   x' = (m'/(1 − β1^t)) / (√(v'/(1 − β2^t)) + ε) · (−lr) + x.
 */
const adamUpdateKernel: JsKernel = {
  name: ADAM_UPDATE,
  inputs: ['x', 'g', 'm', 'v'],
  outShapes: (s) => same(s, 3),
  simd(ctx, [xs], a) {
    return elementwise(ctx, 'adam', size(xs!), [a.beta1 as number, 1 - (a.beta1 as number), a.beta2 as number,
      1 - (a.beta2 as number), a.oneMinusAccBeta1 as number, a.oneMinusAccBeta2 as number, a.epsilon as number,
      -(a.lr as number)], (ins, outs) => this.run(ins, outs, [], a));
  },
  run([x, g, m, v], [x1, m1, v1], _s, a: Attrs) {
    const b1 = f(a.beta1 as number), b1c = f(1 - (a.beta1 as number));
    const b2 = f(a.beta2 as number), b2c = f(1 - (a.beta2 as number));
    const c1 = f(a.oneMinusAccBeta1 as number), c2 = f(a.oneMinusAccBeta2 as number);
    const eps = f(a.epsilon as number), negLr = f(-(a.lr as number));
    const n = x!.length;
    for (let i = 0; i < n; i++) {
      const gi = g![i]!;
      const mi = f(f(m![i]! * b1) + f(gi * b1c));
      const vi = f(f(v![i]! * b2) + f(f(gi * gi) * b2c));
      m1![i] = mi;
      v1![i] = vi;
      const step = f(f(mi / c1) / f(f(Math.sqrt(f(vi / c2))) + eps));
      x1![i] = f(step * negLr) + x![i]!;
    }
  },
};

/**
 * tfjs MomentumOptimizer: acc' = μ·acc + g;  x' = c·acc' + x (nesterov: c·(g + acc'·μ) + x),
 * c = −lr.
 */
const momentumUpdateKernel: JsKernel = {
  name: MOMENTUM_UPDATE,
  inputs: ['x', 'g', 'acc'],
  outShapes: (s) => same(s, 2),
  simd(ctx, [xs], a) {
    return elementwise(ctx, 'momentum', size(xs!), [a.nesterov === true ? 1 : 0, a.momentum as number, -(a.lr as number)],
      (ins, outs) => this.run(ins, outs, [], a));
  },
  run([x, g, acc], [x1, acc1], _s, a: Attrs) {
    const mu = f(a.momentum as number), c = f(-(a.lr as number));
    const nesterov = a.nesterov === true;
    const n = x!.length;
    for (let i = 0; i < n; i++) {
      const gi = g![i]!;
      const ai = f(f(mu * acc![i]!) + gi);
      acc1![i] = ai;
      x1![i] = f((nesterov ? f(c * f(gi + f(ai * mu))) : f(c * ai))) + x![i]!;
    }
  },
};

/** tfjs SGDOptimizer: x' = c·g + x, c = −lr. */
const sgdUpdateKernel: JsKernel = {
  name: SGD_UPDATE,
  inputs: ['x', 'g'],
  outShapes: (s) => same(s, 1),
  simd(ctx, [xs], a) {
    return elementwise(ctx, 'sgd', size(xs!), [-(a.lr as number)], (ins, outs) => this.run(ins, outs, [], a));
  },
  run([x, g], [x1], _s, a: Attrs) {
    const c = f(-(a.lr as number));
    const n = x!.length;
    for (let i = 0; i < n; i++) x1![i] = f(c * g![i]!) + x![i]!;
  },
};

/** Whether the fused updates run on the current backend (cpu, wasm). */
export const hasFusedOptimizers = (): boolean => hasKernel(RMSPROP_UPDATE);

/** This module's kernels, registered on cpu and wasm by register.ts (nothing is registered at import). */
export const OPTIMIZER_KERNELS: readonly JsKernel[] = [rmspropUpdateKernel, adamUpdateKernel, momentumUpdateKernel, sgdUpdateKernel];
