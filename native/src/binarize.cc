// Weight binarization, alpha * sign(W) with alpha = mean|W| per output channel (the last axis),
// per tensor, or 1, and its gradient: the twins of BnnBinarizeWeights / BnnBinarizeWeightsGrad
// in src/backend/binary-kernels.ts, bit-identical to them: float64 sums accumulated down each
// column in row order, the same operation order per element, no FMA contraction (binding.gyp).
//   scale: 0 channel, 1 tensor, 2 none
#include <cmath>
#include <vector>

#include "common.h"

namespace bnn {
namespace {

// Branch-free (random signs mispredict a branch half the time: 7-15 ns per element measured).
inline double q(float v) { return static_cast<double>(v >= 0) * 2.0 - 1.0; }  // the weights' sign: +1 at zero
inline double gAbs(float v) { return static_cast<double>(v > 0) * 2.0 - 1.0; }  // tf.abs's gradient: -1 at zero

// Per-column sums of |w| (dy == nullptr) or of dy * q(w), turned into means as the JS does.
std::vector<double> columnMeans(const float* w, const float* dy, int64_t n, int64_t cols, int scale) {
  std::vector<double> s(static_cast<size_t>(cols), 0.0);
  double* acc = s.data();
  for (int64_t o = 0; o < n; o += cols) {
    if (dy) {
      for (int64_t k = 0; k < cols; ++k) acc[k] += dy[o + k] * q(w[o + k]);
    } else {
      for (int64_t k = 0; k < cols; ++k) acc[k] += std::fabs(static_cast<double>(w[o + k]));
    }
  }
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
  for (int64_t o = 0; o < a.n; o += a.cols) {
    for (int64_t k = 0; k < a.cols; ++k) out[o + k] = static_cast<float>(q(w[o + k]) * alpha[k]);
  }
  return info.Env().Undefined();
}

// binarizeWeightsGrad(heap, dy, w, dw, n, cols, scale, clip):
//   dw = dy * alpha * 1[|w| <= 1 when clip] + gAbs(w) * mean(dy * q(w))
Napi::Value BinarizeWeightsGrad(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  Args a = readArgs(info, 4);
  const bool clip = info[7].ToBoolean();
  const float* dy = heap.at(info[1], static_cast<uint64_t>(a.n));
  const float* w = heap.at(info[2], static_cast<uint64_t>(a.n));
  float* dw = heap.at(info[3], static_cast<uint64_t>(a.n));
  std::vector<double> alpha(static_cast<size_t>(a.cols), 1.0), dAlpha(static_cast<size_t>(a.cols), 0.0);
  if (a.scale != 2) {
    alpha = columnMeans(w, nullptr, a.n, a.cols, a.scale);
    dAlpha = columnMeans(w, dy, a.n, a.cols, a.scale);
  }
  for (int64_t o = 0; o < a.n; o += a.cols) {
    for (int64_t k = 0; k < a.cols; ++k) {
      const float v = w[o + k];
      const double pass = clip ? static_cast<double>(std::fabs(v) <= 1.0f) : 1.0;
      dw[o + k] = static_cast<float>(static_cast<double>(dy[o + k]) * alpha[k] * pass + gAbs(v) * dAlpha[k]);
    }
  }
  return info.Env().Undefined();
}

}  // namespace

const Export kBinarizeExports[] = {
    {"binarizeWeights", BinarizeWeights},
    {"binarizeWeightsGrad", BinarizeWeightsGrad},
    {nullptr, nullptr},
};

}  // namespace bnn
