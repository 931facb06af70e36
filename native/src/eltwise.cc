// PReLU's gradient for one slope per channel of the last axis: the twin of BnnPreluGrad
// (src/backend/prelu-grad.ts), bit-identical to it:
//   dx = dy (x > 0) or dy·α (else), written m·dy + (1 − m)·dy·α with m ∈ {0, 1};
//   dα[k] = Σ dy·x·(1 − m) down the rows, in float64, in row order (one thread per channel
//   block, parallel.h: the same bits at every thread count).
// The JS walks the tensor once per 4 channels at ~2 ns per element; this is one pass.
#include "common.h"
#include "parallel.h"

// The select below vectorizes for AVX2 and SSE2 only when comparisons may not trap (AVX-512 has
// masks). Values are unchanged: only floating-point exception flags are not modelled.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

namespace bnn {
namespace {

BNN_CLONES void preluGradBlock(const float* __restrict dy, const float* __restrict x, const float* __restrict alpha,
                               float* __restrict dx, float* __restrict dAlpha, int64_t rows, int64_t c, int64_t k0,
                               int64_t k1) {
  double s[64] = {0}, a[64];
  const int64_t w = k1 - k0;
  for (int64_t j = 0; j < w; ++j) a[j] = alpha[k0 + j];
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t o = r * c + k0;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) {
      const double v = x[o + j], g = dy[o + j];
      const double m = v > 0 ? 1.0 : 0.0;  // a select, not a branch: the sign of x is a coin flip
      dx[o + j] = static_cast<float>(g * m + g * a[j] * (1 - m));
      s[j] += g * v * (1 - m);
    }
  }
  for (int64_t j = 0; j < w; ++j) dAlpha[k0 + j] = static_cast<float>(s[j]);
}

// preluGrad(heap, dy, x, alpha, dx, dAlpha, rows, c)
Napi::Value PreluGrad(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const int64_t rows = info[6].As<Napi::Number>().Int64Value(), c = info[7].As<Napi::Number>().Int64Value();
  if (rows < 1 || c < 1) throw Napi::RangeError::New(info.Env(), "preluGrad: empty tensor");
  const uint64_t n = static_cast<uint64_t>(rows * c);
  const float *dy = heap.at(info[1], n), *x = heap.at(info[2], n), *alpha = heap.at(info[3], static_cast<uint64_t>(c));
  float *dx = heap.at(info[4], n), *dAlpha = heap.at(info[5], static_cast<uint64_t>(c));
  forChannelBlocks(rows, c, [&](int64_t k0, int64_t k1) { preluGradBlock(dy, x, alpha, dx, dAlpha, rows, c, k0, k1); });
  return info.Env().Undefined();
}

}  // namespace

const Export kEltwiseExports[] = {
    {"preluGrad", PreluGrad},
    {nullptr, nullptr},
};

}  // namespace bnn
