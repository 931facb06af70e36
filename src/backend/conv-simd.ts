import { defineWasmFuncs } from './wasm-simd.ts';

/**
 * The im2col and 2-D transpose of conv-kernels.ts as wasm, for the wasm backend. Pure data
 * movement, so the results are the same values as the JS kernels' by construction.
 *
 * Why: the JS im2col spends most of its time per row, not per element: a subarray object, a
 * TypedArray.set and two fills for every (tap, channel, image) plane (~250 ns each; 9216 of them
 * for a 3x3 conv over 128 channels and 8 images, whatever the map size). Here a row costs a
 * bulk memory.copy plus a few stores, and the channel-major copy of x is a plain wasm loop.
 */

const I = (names: string): Array<[string, 'i32']> => names.split(' ').map((n) => [`$${n}`, 'i32']);

/** WAT: for ($v = 0; $v < $limit; $v++) body, with `$label` naming the loop. */
const forRange = (v: string, limit: string, label: string, body: string): string => `
  i32.const 0 local.set ${v}
  block ${label}_done loop ${label}
    local.get ${v} local.get ${limit} i32.ge_u br_if ${label}_done
    ${body}
    local.get ${v} i32.const 1 i32.add local.set ${v}
    br ${label}
  end end`;

/** WAT: stores 0.0 at row[j] for j in [from, to) (border columns: 0-3 of them, not worth a call). */
const zeroColumns = (from: string, to: string, label: string): string => `
  local.get ${from} local.set $j
  block ${label}_done loop ${label}
    local.get $j local.get ${to} i32.ge_s br_if ${label}_done
    local.get $row local.get $j i32.const 2 i32.shl i32.add f32.const 0 f32.store
    local.get $j i32.const 1 i32.add local.set $j
    br ${label}
  end end`;

defineWasmFuncs([{
  // out[k·rows + r] = x[r·cols + k]: [rows, cols] → [cols, rows].
  name: 'transpose2d',
  params: I('x out rows cols'),
  locals: I('k r s d'),
  body: forRange('$k', '$cols', '$kloop', `
    local.get $x local.get $k i32.const 2 i32.shl i32.add local.set $s
    local.get $out local.get $k local.get $rows i32.mul i32.const 2 i32.shl i32.add local.set $d
    ${forRange('$r', '$rows', '$rloop', `
      local.get $d local.get $s f32.load f32.store
      local.get $s local.get $cols i32.const 2 i32.shl i32.add local.set $s
      local.get $d i32.const 4 i32.add local.set $d`)}`),
}, {
  /*
   * One tap (p, q) of the transposed patches: for channel k and image b, output row i, column j
   * reads xT[k, b, i·sh + dy, j·sw + dx] (dy = p − top, dx = q − left), zero outside rows
   * [iLo, iHi) and columns [jLo, jHi) (the caller computes them: exactly where that pixel is
   * inside the image). `out` points at the tap's first row; xT is x channel-major, [C, nb·H·W].
   */
  name: 'im2col_tap',
  params: I('out xT c nb ho wo w plane m np sh sw dy dx iLo iHi jLo jHi'),
  locals: I('k b i j row src dst zero cnt'),
  body: forRange('$k', '$c', '$kloop', forRange('$b', '$nb', '$bloop', `
    ;; dst: output block of (k, b); src: image b of channel k in xT
    local.get $out local.get $k local.get $np i32.mul local.get $b local.get $ho i32.mul local.get $wo i32.mul i32.add
    i32.const 2 i32.shl i32.add local.set $dst
    local.get $xT local.get $k local.get $m i32.mul local.get $b local.get $plane i32.mul i32.add
    i32.const 2 i32.shl i32.add local.set $src
    ${forRange('$i', '$ho', '$iloop', `
      local.get $dst local.get $i local.get $wo i32.mul i32.const 2 i32.shl i32.add local.set $row
      local.get $i local.get $iLo i32.lt_s local.get $i local.get $iHi i32.ge_s i32.or
      if
        local.get $row i32.const 0 local.get $wo i32.const 2 i32.shl memory.fill
      else
        ${zeroColumns('$zero', '$jLo', '$lz')}
        ${zeroColumns('$jHi', '$wo', '$rz')}
        ;; $j = address of the source element (i·sh + dy, jLo·sw + dx); wraps below $src only
        ;; in intermediate sums (i32 arithmetic is modular), never in an address read.
        local.get $src
        local.get $i local.get $sh i32.mul local.get $dy i32.add local.get $w i32.mul
        local.get $jLo local.get $sw i32.mul i32.add local.get $dx i32.add
        i32.const 2 i32.shl i32.add local.set $j
        local.get $row local.get $jLo i32.const 2 i32.shl i32.add local.set $row
        local.get $sw i32.const 1 i32.eq if
          local.get $row local.get $j local.get $jHi local.get $jLo i32.sub i32.const 2 i32.shl memory.copy
        else
          local.get $jHi local.get $jLo i32.sub local.set $cnt
          block $g_done loop $g
            local.get $cnt i32.const 0 i32.le_s br_if $g_done
            local.get $row local.get $j f32.load f32.store
            local.get $row i32.const 4 i32.add local.set $row
            local.get $j local.get $sw i32.const 2 i32.shl i32.add local.set $j
            local.get $cnt i32.const 1 i32.sub local.set $cnt
            br $g
          end end
        end
      end`)}`)),
}]);
