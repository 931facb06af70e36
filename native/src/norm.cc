// Training-mode batch normalization over the last axis, forward and gradient: the twins of
// BnnBatchNormTrain / BnnBatchNormTrainGrad (src/backend/bn-kernel.ts, whose comment has the
// math), bit-identical to them. Same float64 operations in the same order per element and per
// channel; each channel's sums run down the rows in row order on one thread (parallel.h), so the
// results are also the same at every thread count.
//
// Why native: the wasm SIMD kernels walk the tensor once per group of 4 channels (stride C), so
// a [8,32,32,64] tensor is read 16 times per pass; here a thread reads each row's block of up to
// 64 channels once, with AVX-512 or AVX2 where the CPU has them.
#include <cmath>
#include <vector>

#include "common.h"
#include "parallel.h"

namespace bnn {
namespace {

// s1[k] = Σ (x − shift[k]), s2[k] = Σ (x − shift[k])² for channels [k0, k1) of x [rows, c].
BNN_CLONES void shiftedSums(const float* __restrict x, int64_t rows, int64_t c, int64_t k0, int64_t k1,
                            const double* __restrict shift, double* __restrict s1, double* __restrict s2) {
  double a[64] = {0}, b[64] = {0};
  const int64_t w = k1 - k0;
  const double* h = shift + k0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * c + k0;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) {
      const double d = static_cast<double>(row[j]) - h[j];
      a[j] += d;
      b[j] += d * d;
    }
  }
  for (int64_t j = 0; j < w; ++j) {
    s1[k0 + j] = a[j];
    s2[k0 + j] = b[j];
  }
}

// s1[k] = Σ dy, s2[k] = Σ dy·(x − mean[k]) for channels [k0, k1) (mean float32, sums float64).
BNN_CLONES void gradSums(const float* __restrict dy, const float* __restrict x, int64_t rows, int64_t c, int64_t k0,
                         int64_t k1, const float* __restrict mean, double* __restrict s1, double* __restrict s2) {
  double a[64] = {0}, b[64] = {0}, m[64];
  const int64_t w = k1 - k0;
  for (int64_t j = 0; j < w; ++j) m[j] = mean[k0 + j];
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = dy + r * c + k0;
    const float* v = x + r * c + k0;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) {
      const double gj = g[j];
      a[j] += gj;
      b[j] += gj * (static_cast<double>(v[j]) - m[j]);
    }
  }
  for (int64_t j = 0; j < w; ++j) {
    s1[k0 + j] = a[j];
    s2[k0 + j] = b[j];
  }
}

// out = u·a[k] + w·b[k] + d[k] for rows [r0, r1), rounded once to float32 (bn-kernel.ts affine;
// the forward passes w = u and b = 0, as the JS does, so even u·0 is evaluated).
BNN_CLONES void affine(float* __restrict out, const float* __restrict u, const float* __restrict w, int64_t c,
                       int64_t r0, int64_t r1, const double* __restrict a, const double* __restrict b,
                       const double* __restrict d) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r * c;
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) {
      out[o + k] = static_cast<float>(static_cast<double>(u[o + k]) * a[k] + static_cast<double>(w[o + k]) * b[k] + d[k]);
    }
  }
}

void affineAll(float* out, const float* u, const float* w, int64_t rows, int64_t c, const double* a, const double* b,
               const double* d) {
  forRowRanges(rows, c, [&](int64_t r0, int64_t r1) { affine(out, u, w, c, r0, r1, a, b, d); });
}

// Math.max(0, v) as JS computes it: NaN stays NaN, −0 becomes +0.
inline double jsMax0(double v) { return std::isnan(v) ? v : (v > 0 ? v : 0.0); }

struct Shape {
  int64_t rows, c;
};

Shape readShape(const Napi::CallbackInfo& info, int first) {
  Shape s{info[first].As<Napi::Number>().Int64Value(), info[first + 1].As<Napi::Number>().Int64Value()};
  if (s.rows < 1 || s.c < 1) throw Napi::RangeError::New(info.Env(), "batch norm: empty tensor");
  return s;
}

// bnTrain(heap, x, gamma, beta, movingMean, movingVariance, y, mean, variance, newMm, newMv,
//         rows, c, epsilon, momentum)
Napi::Value BnTrain(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const Shape s = readShape(info, 11);
  const double eps = info[13].As<Napi::Number>().DoubleValue();
  const double decay = 1 - info[14].As<Napi::Number>().DoubleValue();
  const uint64_t n = static_cast<uint64_t>(s.rows * s.c), c = static_cast<uint64_t>(s.c);
  const float* x = heap.at(info[1], n);
  const float *gamma = heap.at(info[2], c), *beta = heap.at(info[3], c);
  const float *mm = heap.at(info[4], c), *mv = heap.at(info[5], c);
  float* y = heap.at(info[6], n);
  float *mean = heap.at(info[7], c), *variance = heap.at(info[8], c);
  float *newMm = heap.at(info[9], c), *newMv = heap.at(info[10], c);
  // Sums of (x − x[0,k]): shifting by a sample keeps E[d²] − E[d]² free of cancellation.
  std::vector<double> shift(x, x + c), s1(c), s2(c), scale(c), offset(c), zero(c, 0.0);
  forChannelBlocks(s.rows, s.c, [&](int64_t k0, int64_t k1) {
    shiftedSums(x, s.rows, s.c, k0, k1, shift.data(), s1.data(), s2.data());
  });
  const double p = static_cast<double>(s.rows);
  for (uint64_t k = 0; k < c; ++k) {  // bn-kernel.ts finishStats, operation for operation
    const double m1 = s1[k] / p;
    const double mu = shift[k] + m1;
    const double v = jsMax0(s2[k] / p - m1 * m1);
    mean[k] = static_cast<float>(mu);
    variance[k] = static_cast<float>(v);
    newMm[k] = static_cast<float>(mm[k] - (mm[k] - mu) * decay);
    newMv[k] = static_cast<float>(mv[k] - (mv[k] - v) * decay);
    scale[k] = gamma[k] / std::sqrt(v + eps);
    offset[k] = beta[k] - mu * scale[k];
  }
  affineAll(y, x, x, s.rows, s.c, scale.data(), zero.data(), offset.data());
  return info.Env().Undefined();
}

// bnTrainGrad(heap, dy, x, gamma, mean, variance, dx, dGamma, dBeta, rows, c, epsilon)
Napi::Value BnTrainGrad(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const Shape s = readShape(info, 9);
  const double eps = info[11].As<Napi::Number>().DoubleValue();
  const uint64_t n = static_cast<uint64_t>(s.rows * s.c), c = static_cast<uint64_t>(s.c);
  const float *dy = heap.at(info[1], n), *x = heap.at(info[2], n);
  const float *gamma = heap.at(info[3], c), *mean = heap.at(info[4], c), *variance = heap.at(info[5], c);
  float* dx = heap.at(info[6], n);
  float *dGamma = heap.at(info[7], c), *dBeta = heap.at(info[8], c);
  std::vector<double> sDy(c), sDyXc(c), a(c), b(c), d(c);
  forChannelBlocks(s.rows, s.c, [&](int64_t k0, int64_t k1) {
    gradSums(dy, x, s.rows, s.c, k0, k1, mean, sDy.data(), sDyXc.data());
  });
  const double p = static_cast<double>(s.rows);
  for (uint64_t k = 0; k < c; ++k) {  // bn-kernel.ts gradCoefficients, operation for operation
    const double r = 1 / std::sqrt(static_cast<double>(variance[k]) + eps);
    a[k] = gamma[k] * r;
    b[k] = -a[k] * r * r * sDyXc[k] / p;
    d[k] = -a[k] * sDy[k] / p - b[k] * mean[k];
    dGamma[k] = static_cast<float>(sDyXc[k] * r);
    dBeta[k] = static_cast<float>(sDy[k]);
  }
  affineAll(dx, dy, x, s.rows, s.c, a.data(), b.data(), d.data());
  return info.Env().Undefined();
}

}  // namespace

// Inference batch norm (tfjs's FusedBatchNorm, what tf.layers runs outside training), the twin
// of the wasm backend's kernel bit for bit: per channel k, n[k] = sqrtf(var[k] + eps) in float32,
// then y = offset[k] + float((x − mean[k])·scale[k]) / n[k] with the division and the sum in
// float64, rounded once to float32 (that kernel holds n in a double). offset 0 and scale 1 where
// absent. Elementwise: split by rows, the same bits at every thread count.
BNN_CLONES void bnInferRows(const float* __restrict x, float* __restrict y, const float* __restrict mean,
                            const float* __restrict scale, const double* __restrict off, const double* __restrict n,
                            int64_t c, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = x + r * c;
    float* out = y + r * c;
#pragma omp simd
    for (int64_t k = 0; k < c; ++k) {
      const float u = (row[k] - mean[k]) * scale[k];
      out[k] = static_cast<float>(off[k] + static_cast<double>(u) / n[k]);
    }
  }
}

// bnInfer(heap, x, mean, variance, offset, scale, y, rows, c, epsilon): offset and scale are -1
// where absent; the four vectors hold c floats.
Napi::Value BnInfer(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const int64_t rows = info[7].As<Napi::Number>().Int64Value(), c = info[8].As<Napi::Number>().Int64Value();
  if (rows < 1 || c < 1) throw Napi::RangeError::New(info.Env(), "bnInfer: empty tensor");
  const float eps = info[9].As<Napi::Number>().FloatValue();
  const uint64_t size = static_cast<uint64_t>(rows * c), cu = static_cast<uint64_t>(c);
  const float *x = heap.at(info[1], size), *mean = heap.at(info[2], cu), *variance = heap.at(info[3], cu);
  const bool hasOffset = info[4].As<Napi::Number>().Int64Value() >= 0, hasScale = info[5].As<Napi::Number>().Int64Value() >= 0;
  const float* offset = hasOffset ? heap.at(info[4], cu) : nullptr;
  std::vector<float> ones(hasScale ? 0 : cu, 1.f);
  const float* scale = hasScale ? heap.at(info[5], cu) : ones.data();
  float* y = heap.at(info[6], size);
  std::vector<double> off(cu), n(cu);
  for (int64_t k = 0; k < c; ++k) {
    off[k] = hasOffset ? offset[k] : 0.0;
    n[k] = std::sqrt(variance[k] + eps);  // float overload: rounded to float32 as in the wasm kernel
  }
  forRowRanges(rows, c, [&](int64_t r0, int64_t r1) { bnInferRows(x, y, mean, scale, off.data(), n.data(), c, r0, r1); });
  return info.Env().Undefined();
}

const Export kNormExports[] = {
    {"bnTrain", BnTrain},
    {"bnTrainGrad", BnTrainGrad},
    {"bnInfer", BnInfer},
    {nullptr, nullptr},
};

}  // namespace bnn
