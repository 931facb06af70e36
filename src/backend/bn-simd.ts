import { defineWasmFuncs } from './wasm-simd.ts';

/**
 * The three loops of the fused batch norm (bn-kernel.ts: shiftedSums, affine, gradSums) as wasm
 * SIMD, for tensors [rows, C] with C a multiple of 4.
 *
 * Same loop order as the JS: 4 channels at a time (one f32x4 load per row, stride C), down the
 * rows, with the per-channel sums and coefficients in locals. Each f32x4 is widened to two f64x2
 * (channels k, k+1 and k+2, k+3) and every sum and product is float64 in the same order as the
 * JS loop's numbers, so each channel's sums and outputs are the same bits as the JS kernel's.
 */

/** WAT: the high two f32 lanes of local `v` widened to f64x2. */
const high = (v: string): string => `local.get ${v} local.get ${v} i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 f64x2.promote_low_f32x4`;
const low = (v: string): string => `local.get ${v} f64x2.promote_low_f32x4`;
/** WAT: address of the f64 pair for channel group $k (a byte offset into f32 rows) in array `p`. */
const f64At = (p: string): string => `local.get ${p} local.get $k i32.const 1 i32.shl i32.add`;

/** WAT: for ($k = 0; $k < $stride; $k += 16) { pre; for ($o = $k; $o < $total; $o += $stride) rows; post } */
const channelGroups = (pre: string, rows: string, post: string): string => `
  local.get $c i32.const 2 i32.shl local.set $stride
  local.get $stride local.get $rows i32.mul local.set $total
  i32.const 0 local.set $k
  block $kdone loop $knext
    local.get $k local.get $stride i32.ge_u br_if $kdone
    ${pre}
    local.get $k local.set $o
    block $rdone loop $rnext
      local.get $o local.get $total i32.ge_u br_if $rdone
      ${rows}
      local.get $o local.get $stride i32.add local.set $o
      br $rnext
    end end
    ${post}
    local.get $k i32.const 16 i32.add local.set $k
    br $knext
  end end`;

const I = (names: string): Array<[string, 'i32']> => names.split(' ').map((n) => [`$${n}`, 'i32']);
const V = (names: string): Array<[string, 'v128']> => names.split(' ').map((n) => [`$${n}`, 'v128']);
const LOOP_LOCALS = I('k o stride total');
const ZERO = 'v128.const f64x2 0 0';

/** WAT: acc += value, where the value's instructions leave an f64x2 on the stack. */
const accumulate = (acc: string, value: string): string => `local.get ${acc} ${value} f64x2.add local.set ${acc}`;

defineWasmFuncs([{
  // s1[k] = Σ (x − shift[k]), s2[k] = Σ (x − shift[k])² (float64 in and out).
  name: 'bn_shifted_sums',
  params: I('x c rows shift s1 s2'),
  locals: [...LOOP_LOCALS, ...V('h01 h23 a01 a23 b01 b23 v d')],
  body: channelGroups(`
    ${f64At('$shift')} v128.load local.set $h01
    ${f64At('$shift')} v128.load offset=16 local.set $h23
    ${ZERO} local.tee $a01 local.tee $a23 local.tee $b01 local.set $b23`, `
    local.get $x local.get $o i32.add v128.load local.set $v
    ${low('$v')} local.get $h01 f64x2.sub local.set $d
    ${accumulate('$a01', 'local.get $d')}
    ${accumulate('$b01', 'local.get $d local.get $d f64x2.mul')}
    ${high('$v')} local.get $h23 f64x2.sub local.set $d
    ${accumulate('$a23', 'local.get $d')}
    ${accumulate('$b23', 'local.get $d local.get $d f64x2.mul')}`, `
    ${f64At('$s1')} local.get $a01 v128.store
    ${f64At('$s1')} local.get $a23 v128.store offset=16
    ${f64At('$s2')} local.get $b01 v128.store
    ${f64At('$s2')} local.get $b23 v128.store offset=16`),
}, {
  // out = u·a[k] + w·b[k] + d[k], float64 coefficients, rounded once to float32.
  name: 'bn_affine',
  params: I('out u w c rows a b d'),
  locals: [...LOOP_LOCALS, ...V('a01 a23 b01 b23 d01 d23 vu vw lo')],
  body: channelGroups(`
    ${f64At('$a')} v128.load local.set $a01
    ${f64At('$a')} v128.load offset=16 local.set $a23
    ${f64At('$b')} v128.load local.set $b01
    ${f64At('$b')} v128.load offset=16 local.set $b23
    ${f64At('$d')} v128.load local.set $d01
    ${f64At('$d')} v128.load offset=16 local.set $d23`, `
    local.get $u local.get $o i32.add v128.load local.set $vu
    local.get $w local.get $o i32.add v128.load local.set $vw
    ${low('$vu')} local.get $a01 f64x2.mul ${low('$vw')} local.get $b01 f64x2.mul f64x2.add
    local.get $d01 f64x2.add f32x4.demote_f64x2_zero local.set $lo
    local.get $out local.get $o i32.add
    local.get $lo
    ${high('$vu')} local.get $a23 f64x2.mul ${high('$vw')} local.get $b23 f64x2.mul f64x2.add
    local.get $d23 f64x2.add f32x4.demote_f64x2_zero
    i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
    v128.store`, ''),
}, {
  // s1[k] = Σ dy, s2[k] = Σ dy·(x − mean[k]) (mean float32, sums float64).
  name: 'bn_grad_sums',
  params: I('dy x c rows mean s1 s2'),
  locals: [...LOOP_LOCALS, ...V('m01 m23 a01 a23 b01 b23 vg vx')],
  body: channelGroups(`
    local.get $mean local.get $k i32.add v128.load local.tee $vx f64x2.promote_low_f32x4 local.set $m01
    ${high('$vx')} local.set $m23
    ${ZERO} local.tee $a01 local.tee $a23 local.tee $b01 local.set $b23`, `
    local.get $dy local.get $o i32.add v128.load local.set $vg
    local.get $x local.get $o i32.add v128.load local.set $vx
    ${accumulate('$a01', low('$vg'))}
    ${accumulate('$b01', `${low('$vg')} ${low('$vx')} local.get $m01 f64x2.sub f64x2.mul`)}
    ${accumulate('$a23', high('$vg'))}
    ${accumulate('$b23', `${high('$vg')} ${high('$vx')} local.get $m23 f64x2.sub f64x2.mul`)}`, `
    ${f64At('$s1')} local.get $a01 v128.store
    ${f64At('$s1')} local.get $a23 v128.store offset=16
    ${f64At('$s2')} local.get $b01 v128.store
    ${f64At('$s2')} local.get $b23 v128.store offset=16`),
}]);
