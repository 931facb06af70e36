/**
 * Seeded randomness for data code: a small counter-free PRNG (sfc32), seed hashing so that any
 * (seed, split, index) gets its own independent stream, and the epoch order of a split.
 *
 * Only 32-bit integer operations (Math.imul, shifts, xor) and exact float conversions are used,
 * so every platform and Node version produces the same numbers. Math.random is never used: data
 * must be reproducible from the config's seed alone.
 */
import { DataError } from '../errors.ts';
import type { BatchOptions, Split } from './types.ts';

/** murmur3's 32-bit finaliser: a bijective avalanche mix of one 32-bit word. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hashes non-negative integers (up to 2^53) into one 32-bit seed. Both halves of each part are
 * mixed in, so large seeds are not silently truncated, and the order of parts matters.
 */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    h = mix32((h ^ mix32(lo + 0x7f4a7c15)) + Math.imul(hi, 0x2545f491));
    h = mix32(h + 0x6a09e667);
  }
  return h;
}

/** Stream ids for the two splits: different salts give disjoint, independent sample streams. */
export const SPLIT_SALT: Record<Split, number> = { train: 0x7472, val: 0x76616c };

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128-bit state, passes PractRand
 * far beyond what a data generator needs, and is a handful of integer ops per number.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = mix32(seed ^ 0xdeadbeef);
    this.b = mix32(seed + 0x41c64e6d);
    this.c = mix32(seed ^ 0x12345678);
    this.d = 1;
    // The first outputs of a freshly seeded sfc32 are correlated with the seed; discard them.
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1), a multiple of 2^-32 (exact in a double). */
  float(): number {
    return this.u32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi] inclusive. */
  intIn(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  bool(p = 0.5): boolean {
    return this.float() < p;
  }

  /** +1 or -1 with equal odds. */
  sign(): number {
    return this.u32() & 1 ? 1 : -1;
  }

  /** Triangular on [lo, hi] peaking in the middle: a cheap bell shape without log/cos. */
  tri(lo: number, hi: number): number {
    return lo + (hi - lo) * 0.5 * (this.float() + this.float());
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** The independent stream of sample `index` of `split` under data seed `seed`. */
export function sampleRng(seed: number, split: Split, index: number): Rng {
  return new Rng(hashSeed(seed, SPLIT_SALT[split], index));
}

/** A Fisher–Yates permutation of 0..n-1 from `rng`. */
export function permutation(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/**
 * The order of one epoch over `n` items: identity when not shuffling, else a permutation fixed by
 * (options.seed, options.epoch) alone, so that every loader and platform agrees on it.
 */
export function epochOrder(n: number, options: Pick<BatchOptions, 'seed' | 'epoch' | 'shuffle'>): Int32Array {
  if (!options.shuffle) {
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    return order;
  }
  return permutation(n, new Rng(hashSeed(options.seed, options.epoch, 0x6f72646572)));
}

/** Splits an epoch order into batches of indices, dropping a last partial batch when asked. */
export function* batchIndices(order: Int32Array, options: Pick<BatchOptions, 'batchSize' | 'dropLast'>): Generator<Int32Array> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new DataError(`batchSize must be a positive integer, got ${batchSize}`);
  for (let start = 0; start < order.length; start += batchSize) {
    const end = Math.min(order.length, start + batchSize);
    if (end - start < batchSize && options.dropLast) return;
    yield order.subarray(start, end);
  }
}
