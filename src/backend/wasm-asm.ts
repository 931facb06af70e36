/**
 * A small assembler from WebAssembly text (the flat instruction form of the spec's text format)
 * to a binary module, so that the SIMD kernels in wasm-simd.ts can be read and reviewed as
 * source, with no toolchain (emscripten, wabt) in the build: the project installs from npm only.
 *
 * Scope: what those kernels use. One module of functions over ONE imported memory ("env",
 * "memory": tfjs's own wasm heap, so kernels read and write tensors in place), params and locals
 * of types i32/i64/f32/f64/v128, flat instructions with named locals ($x) and named labels
 * (block $done … br_if $done), `;;` comments. Anything else is an error, never a guess.
 */

type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

export interface WasmFunc {
  name: string;
  params: Array<[string, ValType]>;
  locals?: Array<[string, ValType]>;
  /** Flat instructions, whitespace-separated, `;;` starts a comment. */
  body: string;
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}

const bytesOf = (a: ArrayBufferView): number[] => [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)];
const str = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];

/** Plain opcodes without immediates. */
const PLAIN: Record<string, number> = { 'return': 0x0f, 'drop': 0x1a, 'select': 0x1b, 'else': 0x05, 'end': 0x0b };
(['eqz', 'eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u'] as const).forEach((n, i) => {
  PLAIN[`i32.${n}`] = 0x45 + i;
  PLAIN[`i64.${n}`] = 0x50 + i;
});
(['eq', 'ne', 'lt', 'gt', 'le', 'ge'] as const).forEach((n, i) => { PLAIN[`f32.${n}`] = 0x5b + i; PLAIN[`f64.${n}`] = 0x61 + i; });
['clz', 'ctz', 'popcnt', 'add', 'sub', 'mul', 'div_s', 'div_u', 'rem_s', 'rem_u', 'and', 'or', 'xor', 'shl', 'shr_s', 'shr_u', 'rotl', 'rotr']
  .forEach((n, i) => { PLAIN[`i32.${n}`] = 0x67 + i; PLAIN[`i64.${n}`] = 0x79 + i; });
['abs', 'neg', 'ceil', 'floor', 'trunc', 'nearest', 'sqrt', 'add', 'sub', 'mul', 'div', 'min', 'max', 'copysign']
  .forEach((n, i) => { PLAIN[`f32.${n}`] = 0x8b + i; PLAIN[`f64.${n}`] = 0x99 + i; });
Object.assign(PLAIN, {
  'i32.wrap_i64': 0xa7, 'i32.trunc_f32_s': 0xa8, 'i64.extend_i32_s': 0xac, 'i64.extend_i32_u': 0xad,
  'f32.convert_i32_s': 0xb2, 'f32.demote_f64': 0xb6, 'f64.convert_i32_s': 0xb7, 'f64.convert_i32_u': 0xb8,
  'f64.promote_f32': 0xbb, 'i32.reinterpret_f32': 0xbc, 'f32.reinterpret_i32': 0xbe,
});

/** Loads and stores: opcode and natural alignment (log2 bytes). */
const MEM: Record<string, [number, number]> = {
  'i32.load': [0x28, 2], 'i64.load': [0x29, 3], 'f32.load': [0x2a, 2], 'f64.load': [0x2b, 3],
  'i32.store': [0x36, 2], 'i64.store': [0x37, 3], 'f32.store': [0x38, 2], 'f64.store': [0x39, 3],
};

/** SIMD (0xFD prefix) opcodes without immediates. */
const SIMD: Record<string, number> = {
  'i8x16.splat': 0x0f, 'i16x8.splat': 0x10, 'i32x4.splat': 0x11, 'i64x2.splat': 0x12, 'f32x4.splat': 0x13, 'f64x2.splat': 0x14,
  'v128.not': 0x4d, 'v128.and': 0x4e, 'v128.andnot': 0x4f, 'v128.or': 0x50, 'v128.xor': 0x51, 'v128.bitselect': 0x52,
  'v128.any_true': 0x53, 'f32x4.demote_f64x2_zero': 0x5e, 'f64x2.promote_low_f32x4': 0x5f, 'i8x16.popcnt': 0x62,
  'i8x16.add': 0x6e, 'i16x8.extadd_pairwise_i8x16_s': 0x7c, 'i16x8.extadd_pairwise_i8x16_u': 0x7d,
  'i32x4.extadd_pairwise_i16x8_s': 0x7e, 'i32x4.extadd_pairwise_i16x8_u': 0x7f, 'i16x8.add': 0x8e, 'i16x8.sub': 0x91,
  'i32x4.shl': 0xab, 'i32x4.shr_s': 0xac, 'i32x4.shr_u': 0xad, 'i32x4.add': 0xae, 'i32x4.sub': 0xb1, 'i32x4.mul': 0xb5,
  'i64x2.add': 0xce, 'f32x4.abs': 0xe0, 'f32x4.neg': 0xe1, 'f32x4.sqrt': 0xe3, 'f64x2.abs': 0xec, 'f64x2.neg': 0xed,
  'f64x2.sqrt': 0xef, 'i32x4.trunc_sat_f32x4_s': 0xf8, 'f32x4.convert_i32x4_s': 0xfa, 'f64x2.convert_low_i32x4_s': 0xfe,
};
(['eq', 'ne', 'lt', 'gt', 'le', 'ge'] as const).forEach((n, i) => { SIMD[`f32x4.${n}`] = 0x41 + i; SIMD[`f64x2.${n}`] = 0x47 + i; });
(['eq', 'ne', 'lt_s', 'lt_u', 'gt_s', 'gt_u', 'le_s', 'le_u', 'ge_s', 'ge_u'] as const).forEach((n, i) => { SIMD[`i32x4.${n}`] = 0x37 + i; });
(['add', 'sub', 'mul', 'div', 'min', 'max', 'pmin', 'pmax'] as const).forEach((n, i) => { SIMD[`f32x4.${n}`] = 0xe4 + i; SIMD[`f64x2.${n}`] = 0xf0 + i; });
SIMD['i32x4.bitmask'] = 0xa4; // the lanes' sign bits as an i32
/** SIMD lane instructions: opcode; the lane index follows as one byte. */
const LANE: Record<string, number> = {
  'i32x4.extract_lane': 0x1b, 'i32x4.replace_lane': 0x1c, 'f32x4.extract_lane': 0x1f, 'f32x4.replace_lane': 0x20,
  'f64x2.extract_lane': 0x21, 'f64x2.replace_lane': 0x22,
};

/** The tokens of one function body, read left to right, with the function's locals by name. */
class BodyReader {
  private t = 0;
  constructor(readonly name: string, private readonly tokens: string[], private readonly locals: Map<string, number>) {}

  get done(): boolean {
    return this.t >= this.tokens.length;
  }

  peek(): string | undefined {
    return this.tokens[this.t];
  }

  take(): string {
    return this.tokens[this.t++]!;
  }

  next(what: string): string {
    const tok = this.tokens[this.t++];
    if (tok === undefined) throw new Error(`${this.name}: ${what} expected at end of body`);
    return tok;
  }

  num(tok: string): number {
    const v = Number(tok);
    if (!Number.isFinite(v)) throw new Error(`${this.name}: '${tok}' is not a number`);
    return v;
  }

  local(tok: string): number {
    const i = this.locals.get(tok) ?? (/^\d+$/.test(tok) ? Number(tok) : undefined);
    if (i === undefined) throw new Error(`${this.name}: unknown local '${tok}'`);
    return i;
  }

  /** A load's or store's `offset=` and `align=` (bytes) immediates, as alignment exponent and offset. */
  memarg(natural: number): number[] {
    let offset = 0;
    let align = natural;
    while (!this.done && /^(offset|align)=/.test(this.peek()!)) {
      const [k, v] = this.take().split('=') as [string, string];
      if (k === 'offset') offset = this.num(v); else align = Math.log2(this.num(v));
    }
    return [...uleb(align), ...uleb(offset)];
  }
}

/** block / loop / if (with an optional $label), br / br_if (to a label or a depth), end; else undefined. */
function controlOp(op: string, r: BodyReader, labels: Array<string | null>): number[] | undefined {
  if (op === 'block' || op === 'loop' || op === 'if') {
    const label = r.peek()?.startsWith('$') ? r.take() : null;
    labels.push(label);
    return [op === 'block' ? 0x02 : op === 'loop' ? 0x03 : 0x04, 0x40];
  }
  if (op === 'br' || op === 'br_if') {
    const target = r.next('label');
    const depth = target.startsWith('$') ? labels.length - 1 - labels.lastIndexOf(target) : r.num(target);
    if (target.startsWith('$') && !labels.includes(target)) throw new Error(`${r.name}: unknown label ${target}`);
    return [op === 'br' ? 0x0c : 0x0d, ...uleb(depth)];
  }
  if (op === 'end') {
    labels.pop();
    return [0x0b];
  }
  return undefined;
}

/** Instructions with immediates that follow them: locals and constants; else undefined. */
function immediateOp(op: string, r: BodyReader): number[] | undefined {
  if (op === 'local.get' || op === 'local.set' || op === 'local.tee') {
    return [{ 'local.get': 0x20, 'local.set': 0x21, 'local.tee': 0x22 }[op], ...uleb(r.local(r.next('local')))];
  }
  if (op === 'i32.const') return [0x41, ...sleb(r.num(r.next('value')) | 0)];
  if (op === 'f32.const') return [0x43, ...bytesOf(new Float32Array([r.num(r.next('value'))]))];
  if (op === 'f64.const') return [0x44, ...bytesOf(new Float64Array([r.num(r.next('value'))]))];
  if (op === 'v128.const') {
    const shape = r.next('shape');
    const lanes = shape === 'f32x4' ? new Float32Array(4) : shape === 'i32x4' ? new Int32Array(4) : shape === 'f64x2' ? new Float64Array(2) : null;
    if (!lanes) throw new Error(`${r.name}: v128.const shape ${shape} not supported`);
    for (let i = 0; i < lanes.length; i++) lanes[i] = r.num(r.next('lane'));
    return [0xfd, ...uleb(0x0c), ...bytesOf(lanes)];
  }
  if (op === 'i8x16.shuffle') return [0xfd, ...uleb(0x0d), ...Array.from({ length: 16 }, () => r.num(r.next('lane')))];
  return undefined;
}

/** Memory, lane, SIMD and plain instructions, in the tables above; else undefined. */
function tableOp(op: string, r: BodyReader): number[] | undefined {
  if (op === 'v128.load' || op === 'v128.store') return [0xfd, ...uleb(op === 'v128.load' ? 0x00 : 0x0b), ...r.memarg(4)];
  if (op === 'memory.copy') return [0xfc, ...uleb(10), 0x00, 0x00];
  if (op === 'memory.fill') return [0xfc, ...uleb(11), 0x00];
  if (MEM[op]) return [MEM[op][0], ...r.memarg(MEM[op][1])];
  if (LANE[op] !== undefined) return [0xfd, ...uleb(LANE[op]), r.num(r.next('lane'))];
  if (SIMD[op] !== undefined) return [0xfd, ...uleb(SIMD[op])];
  if (PLAIN[op] !== undefined) return [PLAIN[op]];
  return undefined;
}

function assembleBody(f: WasmFunc): number[] {
  const locals = new Map<string, number>();
  [...f.params, ...(f.locals ?? [])].forEach(([n], i) => locals.set(n, i));
  const r = new BodyReader(f.name, f.body.replace(/;;[^\n]*/g, ' ').split(/\s+/).filter(Boolean), locals);
  const labels: Array<string | null> = [];
  const out: number[] = [];
  while (!r.done) {
    const op = r.take();
    const bytes = controlOp(op, r, labels) ?? immediateOp(op, r) ?? tableOp(op, r);
    if (!bytes) throw new Error(`${f.name}: unknown instruction '${op}'`);
    for (const b of bytes) out.push(b);
  }
  if (labels.length !== 0) throw new Error(`${f.name}: ${labels.length} block(s) not closed`);
  const declared = (f.locals ?? []).map(([, ty]) => [1, VALTYPE[ty]]);
  return [...vec(declared), ...out, 0x0b];
}

/** Assembles functions (all exported by name, no results) importing env.memory. */
export function assembleModule(funcs: WasmFunc[]): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [0x60, ...vec(f.params.map(([, ty]) => [VALTYPE[ty]])), 0x00]);
  const memoryImport = [...str('env'), ...str('memory'), 0x02, 0x00, ...uleb(1)];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([memoryImport])),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec(funcs.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(funcs.map((f) => { const b = assembleBody(f); return [...uleb(b.length), ...b]; }))),
  ];
  return new Uint8Array(bytes);
}
