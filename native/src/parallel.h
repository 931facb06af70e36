// Work splitting for the addon's own loops (norm.cc, eltwise.cc, split.cc, pool.cc, reduce.cc,
// binarize.cc), and the run-time instruction-set dispatch they compile with.
//
// Determinism: a reduction over the rows of a [rows, C] tensor is split by CHANNEL BLOCKS, never
// by rows: each channel's sum is accumulated by one thread, down the rows in row order, exactly
// as the wasm kernels (bn-kernel.ts, prelu-grad.ts) do. The block size may depend on the thread
// count; the bits do not: the result is the same at every thread count, and the same as the
// wasm twin's. Elementwise passes are split by rows (no sums, so any split gives the same bits).
// (oneDNN's convolutions are another matter: their bits may change with the thread count.)
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

// Run-time dispatch: GCC (and Clang on Linux) compile each marked function for AVX-512, AVX2 and
// baseline x86-64, and the loader picks one by CPUID (an ifunc), so the binary runs on any x86-64
// without -march=native. FP contraction is off for the whole addon (binding.gyp), so the clones
// round identically: only the vector width differs, never the operation order per element.
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define BNN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BNN_CLONES
#endif

namespace bnn {

// Below this many elements a loop runs on the calling thread: waking sleeping OpenMP workers
// (OMP_WAIT_POLICY=passive, index.cjs) costs tens of microseconds.
constexpr int64_t kParallelMin = 1 << 15;

bool asyncBusy();  // async.h: a background job is queued or running

// While a background job runs (async.h), one core is its: the loop takes one thread fewer. The
// bits do not depend on the count (above), so this timing-dependent choice is safe here, and
// here only. On the background thread itself OpenMP is set to 1 thread.
inline int threadsFor(int64_t elements) {
  if (elements < kParallelMin) return 1;
  const int threads = omp_get_max_threads();
  return std::max(1, threads > 1 && asyncBusy() ? threads - 1 : threads);
}

// Calls f(k0, k1) for channel blocks covering [0, c): 8 to 64 channels each (a multiple of 8
// so that a block's part of a row is whole vectors), about one block per thread.
template <class F>
void forChannelBlocks(int64_t rows, int64_t c, F&& f) {
  const int threads = threadsFor(rows * c);
  const int64_t per = (c + threads - 1) / threads;
  const int64_t block = std::min<int64_t>(64, std::max<int64_t>(8, (per + 7) / 8 * 8));
  const int64_t blocks = (c + block - 1) / block;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && blocks > 1)
  for (int64_t b = 0; b < blocks; ++b) f(b * block, std::min(c, (b + 1) * block));
}

// Calls f(r0, r1) for row ranges covering [0, rows), one per thread; each row has `width` elements.
template <class F>
void forRowRanges(int64_t rows, int64_t width, F&& f) {
  const int threads = static_cast<int>(std::min<int64_t>(threadsFor(rows * width), std::max<int64_t>(rows, 1)));
  const int64_t per = (rows + threads - 1) / threads;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int t = 0; t < threads; ++t) {
    const int64_t r0 = t * per, r1 = std::min(rows, r0 + per);
    if (r0 < r1) f(r0, r1);
  }
}

}  // namespace bnn
