// Weight binarization, alpha * sign(W) with alpha = mean|W| per output channel (the last axis),
// per tensor, or 1, and its gradient: the twins of BnnBinarizeWeights / BnnBinarizeWeightsGrad
// in src/backend/binary-kernels.ts, bit-identical to them: float64 sums accumulated down each
// column in row order, the same operation order per element, no FMA contraction (binding.gyp).
//   scale: 0 channel, 1 tensor, 2 none
// Vectorized across columns (each column's sum still runs down the rows in row order) and split
// across threads by column blocks (parallel.h), so the bits do not depend on either.
#include <cmath>
#include <vector>

#include "async.h"
#include "common.h"
#include "parallel.h"

// The sign selects vectorize for AVX2 and SSE2 only when comparisons may not trap (values unchanged).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

namespace bnn {
namespace {

// Branch-free (random signs mispredict a branch half the time: 7-15 ns per element measured).
inline double q(float v) { return static_cast<double>(v >= 0) * 2.0 - 1.0; }  // the weights' sign: +1 at zero
inline double gAbs(float v) { return static_cast<double>(v > 0) * 2.0 - 1.0; }  // tf.abs's gradient: -1 at zero

// acc[k] += |w| (dy == nullptr) or dy * q(w) down the rows, for columns [k0, k1).
BNN_CLONES void columnSums(const float* __restrict w, const float* __restrict dy, int64_t rows, int64_t cols, int64_t k0,
                           int64_t k1, double* __restrict acc) {
  for (int64_t o = 0; o < rows * cols; o += cols) {
    if (dy) {
#pragma omp simd
      for (int64_t k = k0; k < k1; ++k) acc[k] += dy[o + k] * q(w[o + k]);
    } else {
#pragma omp simd
      for (int64_t k = k0; k < k1; ++k) acc[k] += std::fabs(static_cast<double>(w[o + k]));
    }
  }
}

// Per-column sums of |w| (dy == nullptr) or of dy * q(w), turned into means as the JS does.
std::vector<double> columnMeans(const float* w, const float* dy, int64_t n, int64_t cols, int scale) {
  std::vector<double> s(static_cast<size_t>(cols), 0.0);
  forChannelBlocks(n / cols, cols, [&](int64_t k0, int64_t k1) { columnSums(w, dy, n / cols, cols, k0, k1, s.data()); });
  if (scale == 1) {
    double t = 0;
    for (double v : s) t += v;
    for (double& v : s) v = t / static_cast<double>(n);
  } else {
    const double rows = static_cast<double>(n / cols);
    for (double& v : s) v /= rows;
  }
  return s;
}

// out = q(w) * alpha[k] for rows [r0, r1).
BNN_CLONES void signTimesAlpha(const float* __restrict w, float* __restrict out, int64_t cols, int64_t r0, int64_t r1,
                               const float* __restrict alpha) {
  for (int64_t o = r0 * cols; o < r1 * cols; o += cols) {
#pragma omp simd
    for (int64_t k = 0; k < cols; ++k) out[o + k] = static_cast<float>(q(w[o + k]) * alpha[k]);
  }
}

// dw = dy * alpha[k] * pass + gAbs(w) * dAlpha[k] for rows [r0, r1); pass = 1[|w| <= 1] when Clip.
template <bool Clip>
BNN_CLONES void weightsGrad(const float* __restrict dy, const float* __restrict w, float* __restrict dw, int64_t cols,
                            int64_t r0, int64_t r1, const double* __restrict alpha, const double* __restrict dAlpha) {
  for (int64_t o = r0 * cols; o < r1 * cols; o += cols) {
#pragma omp simd
    for (int64_t k = 0; k < cols; ++k) {
      const float v = w[o + k];
      const double pass = Clip ? static_cast<double>((v >= -1.0f) & (v <= 1.0f)) : 1.0;  // |v| <= 1, NaN fails; & not &&: no branch
      dw[o + k] = static_cast<float>(static_cast<double>(dy[o + k]) * alpha[k] * pass + gAbs(v) * dAlpha[k]);
    }
  }
}

struct Args {
  int64_t n, cols;
  int scale;
};

Args readArgs(const Napi::CallbackInfo& info, int first) {
  Args a{info[first].As<Napi::Number>().Int64Value(), info[first + 1].As<Napi::Number>().Int64Value(),
         info[first + 2].As<Napi::Number>().Int32Value()};
  if (a.cols < 1 || a.n < 0 || a.n % a.cols != 0 || a.scale < 0 || a.scale > 2) {
    throw Napi::RangeError::New(info.Env(), "binarize: bad shape or scale");
  }
  return a;
}

// binarizeWeights(heap, w, out, n, cols, scale)
Napi::Value BinarizeWeights(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  Args a = readArgs(info, 3);
  const float* w = heap.at(info[1], static_cast<uint64_t>(a.n));
  float* out = heap.at(info[2], static_cast<uint64_t>(a.n));
  std::vector<float> alpha(static_cast<size_t>(a.cols), 1.0f);
  if (a.scale != 2) {
    std::vector<double> m = columnMeans(w, nullptr, a.n, a.cols, a.scale);
    for (int64_t k = 0; k < a.cols; ++k) alpha[k] = static_cast<float>(m[k]);  // rounded first, as in JS
  }
  forRowRanges(a.n / a.cols, a.cols, [&](int64_t r0, int64_t r1) { signTimesAlpha(w, out, a.cols, r0, r1, alpha.data()); });
  return info.Env().Undefined();
}

// dw = dy * alpha * 1[|w| <= 1 when clip] + gAbs(w) * mean(dy * q(w))
void binarizeGrad(const float* dy, const float* w, float* dw, const Args& a, bool clip) {
  std::vector<double> alpha(static_cast<size_t>(a.cols), 1.0), dAlpha(static_cast<size_t>(a.cols), 0.0);
  if (a.scale != 2) {
    alpha = columnMeans(w, nullptr, a.n, a.cols, a.scale);
    dAlpha = columnMeans(w, dy, a.n, a.cols, a.scale);
  }
  forRowRanges(a.n / a.cols, a.cols, [&](int64_t r0, int64_t r1) {
    (clip ? weightsGrad<true> : weightsGrad<false>)(dy, w, dw, a.cols, r0, r1, alpha.data(), dAlpha.data());
  });
}

// binarizeWeightsGrad(heap, dy, w, dw, n, cols, scale, clip)
Napi::Value BinarizeWeightsGrad(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  Args a = readArgs(info, 4);
  binarizeGrad(heap.at(info[1], static_cast<uint64_t>(a.n)), heap.at(info[2], static_cast<uint64_t>(a.n)),
               heap.at(info[3], static_cast<uint64_t>(a.n)), a, info[7].ToBoolean());
  return info.Env().Undefined();
}

// binarizeWeightsGradAsync(same arguments): queued behind the job writing dy (the filter
// gradient, async.h), so both run in the background; returns the job's id. The same bits as the
// inline kernel: the column sums do not depend on the thread count (parallel.h).
Napi::Value BinarizeWeightsGradAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!asyncActive()) throw Napi::Error::New(env, "binarizeWeightsGradAsync: background jobs are off");
  Heap heap(info[0]);
  Args a = readArgs(info, 4);
  const float* dy = heap.at(info[1], static_cast<uint64_t>(a.n));
  const float* w = heap.at(info[2], static_cast<uint64_t>(a.n));
  float* dw = heap.at(info[3], static_cast<uint64_t>(a.n));
  const bool clip = info[7].ToBoolean();
  const uint64_t id = submitJob(env, heap.base(), [=] { binarizeGrad(dy, w, dw, a, clip); });
  return Napi::Number::New(env, static_cast<double>(id));
}

}  // namespace

const Export kBinarizeExports[] = {
    {"binarizeWeights", BinarizeWeights},
    {"binarizeWeightsGrad", BinarizeWeightsGrad},
    {"binarizeWeightsGradAsync", BinarizeWeightsGradAsync},
    {nullptr, nullptr},
};

}  // namespace bnn
