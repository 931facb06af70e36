// Elementwise kernels, each bit-identical to its wasm twin.
//
// PReLU's gradient for one slope per channel of the last axis: the twin of BnnPreluGrad
// (src/backend/prelu-grad.ts):
//   dx = dy (x > 0) or dy·α (else), written m·dy + (1 − m)·dy·α with m ∈ {0, 1};
//   dα[k] = Σ dy·x·(1 − m) down the rows, in float64, in row order (one thread per channel
//   block, parallel.h: the same bits at every thread count).
// The JS walks the tensor once per 4 channels at ~2 ns per element; this is one pass.
#include <algorithm>
#include <cstdint>
#include <cstring>

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

// The hard sign (binary-kernels.ts BnnSign): NaN stays itself; else +1 for x >= 0 (plusOne) or
// sign(x) with sign(±0) = 0.
BNN_CLONES void signRange(const float* __restrict x, float* __restrict q, int64_t i0, int64_t i1, bool plusOne) {
  if (plusOne) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) {
      const float v = x[i];
      q[i] = v != v ? v : (v >= 0 ? 1.0f : -1.0f);
    }
  } else {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) {
      const float v = x[i];
      q[i] = v != v ? v : (v > 0 ? 1.0f : (v < 0 ? -1.0f : 0.0f));
    }
  }
}

// The clipped straight-through gradient (BnnSignGrad): dx = dy · 1[|x| <= 1], a product with
// 1 or 0 as in JS, so dy = ±inf or NaN outside [−1, 1] gives NaN there too.
BNN_CLONES void signGradRange(const float* __restrict dy, const float* __restrict x, float* __restrict dx, int64_t i0,
                              int64_t i1) {
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) {
    const float v = x[i];
    dx[i] = dy[i] * ((v >= -1.0f) & (v <= 1.0f) ? 1.0f : 0.0f);
  }
}

// PReLU for one slope per channel of the last axis, as tfjs's wasm Prelu computes it (XNNPACK's
// integer min/max kernel): y = max_i(x, 0) + min_i(x, 0)·α, where max_i and min_i compare the
// float's bits as signed integers (so −0 and negative NaNs count as negative). −0 becomes +0, as
// does an x·α that underflows to −0; measured against the wasm kernel in the tests.
BNN_CLONES void preluRows(const float* __restrict x, const float* __restrict alpha, float* __restrict y, int64_t c,
                          int64_t r0, int64_t r1) {
  for (int64_t o = r0 * c; o < r1 * c; o += c) {
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) {
      const float v = x[o + k];
      int32_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      const float pos = bits > 0 ? v : 0.0f, neg = bits < 0 ? v : 0.0f;
      y[o + k] = pos + neg * alpha[k];
    }
  }
}

BNN_CLONES void addRange(const float* __restrict a, const float* __restrict b, float* __restrict out, int64_t i0,
                         int64_t i1) {
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) out[i] = a[i] + b[i];
}

// Elementwise loops are split into 4096-element rows across threads (any split: no sums).
template <class F>
void forElements(int64_t n, F&& f) {
  constexpr int64_t kRow = 4096;
  forRowRanges((n + kRow - 1) / kRow, kRow, [&](int64_t r0, int64_t r1) { f(r0 * kRow, std::min(n, r1 * kRow)); });
}

int64_t count(const Napi::CallbackInfo& info, int at) {
  const int64_t n = info[at].As<Napi::Number>().Int64Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "elementwise: empty tensor");
  return n;
}

// sign(heap, x, q, n, plusOne)
Napi::Value Sign(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const int64_t n = count(info, 3);
  const float* x = heap.at(info[1], static_cast<uint64_t>(n));
  float* q = heap.at(info[2], static_cast<uint64_t>(n));
  const bool plusOne = info[4].ToBoolean();
  forElements(n, [&](int64_t i0, int64_t i1) { signRange(x, q, i0, i1, plusOne); });
  return info.Env().Undefined();
}

// signGrad(heap, dy, x, dx, n)
Napi::Value SignGrad(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const int64_t n = count(info, 4);
  const float *dy = heap.at(info[1], static_cast<uint64_t>(n)), *x = heap.at(info[2], static_cast<uint64_t>(n));
  float* dx = heap.at(info[3], static_cast<uint64_t>(n));
  forElements(n, [&](int64_t i0, int64_t i1) { signGradRange(dy, x, dx, i0, i1); });
  return info.Env().Undefined();
}

// prelu(heap, x, alpha, y, rows, c)
Napi::Value Prelu(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const int64_t rows = count(info, 4), c = count(info, 5);
  const float *x = heap.at(info[1], static_cast<uint64_t>(rows * c)), *alpha = heap.at(info[2], static_cast<uint64_t>(c));
  float* y = heap.at(info[3], static_cast<uint64_t>(rows * c));
  forRowRanges(rows, c, [&](int64_t r0, int64_t r1) { preluRows(x, alpha, y, c, r0, r1); });
  return info.Env().Undefined();
}

// add(heap, a, b, out, n): same-shape float32 a + b.
Napi::Value Add(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const int64_t n = count(info, 4);
  const float *a = heap.at(info[1], static_cast<uint64_t>(n)), *b = heap.at(info[2], static_cast<uint64_t>(n));
  float* out = heap.at(info[3], static_cast<uint64_t>(n));
  forElements(n, [&](int64_t i0, int64_t i1) { addRange(a, b, out, i0, i1); });
  return info.Env().Undefined();
}

}  // namespace

const Export kEltwiseExports[] = {
    {"preluGrad", PreluGrad},
    {"prelu", Prelu},
    {"sign", Sign},
    {"signGrad", SignGrad},
    {"add", Add},
    {nullptr, nullptr},
};

}  // namespace bnn
