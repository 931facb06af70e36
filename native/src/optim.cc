// The fused optimizer updates RMSprop and Adam: twins of BnnRmspropUpdate / BnnAdamUpdate
// (src/backend/optimizer-kernels.ts), bit-identical to them and so to tfjs's own optimizers:
// float32 arithmetic in tfjs's evaluation order (no FMA contraction: binding.gyp), scalars rounded
// to float32 as tfjs's scalar tensors are. Elementwise, so split across threads freely.
#include <cmath>

#include "common.h"
#include "parallel.h"

// √ vectorizes because the addon is built with -fno-math-errno (binding.gyp): a negative argument
// gives NaN either way, only errno is not set.

namespace bnn {
namespace {

//   ms' = ms·ρ + g²·(1 − ρ);  mom' = mom·μ + g·lr / √(ms' + ε);  x' = x − mom'.
BNN_CLONES void rmspropRange(const float* __restrict x, const float* __restrict g, const float* __restrict ms,
                             const float* __restrict mom, float* __restrict x1, float* __restrict ms1,
                             float* __restrict mom1, int64_t i0, int64_t i1, float rho, float rho1, float mu, float lr,
                             float eps) {
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) {
    const float gi = g[i];
    const float s = ms[i] * rho + (gi * gi) * rho1;
    const float m = mom[i] * mu + (gi * lr) / __builtin_sqrtf(s + eps);
    ms1[i] = s;
    mom1[i] = m;
    x1[i] = x[i] - m;
  }
}

//   m' = m·β1 + g·(1 − β1);  v' = v·β2 + g²·(1 − β2);  x' = (m'/c1) / (√(v'/c2) + ε) · (−lr) + x.
BNN_CLONES void adamRange(const float* __restrict x, const float* __restrict g, const float* __restrict m,
                          const float* __restrict v, float* __restrict x1, float* __restrict m1, float* __restrict v1,
                          int64_t i0, int64_t i1, const float* __restrict k) {
  const float b1 = k[0], b1c = k[1], b2 = k[2], b2c = k[3], c1 = k[4], c2 = k[5], eps = k[6], negLr = k[7];
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * b1c;
    const float vi = v[i] * b2 + (gi * gi) * b2c;
    m1[i] = mi;
    v1[i] = vi;
    x1[i] = ((mi / c1) / (__builtin_sqrtf(vi / c2) + eps)) * negLr + x[i];
  }
}

template <class F>
void forElements(int64_t n, F&& f) {
  constexpr int64_t kRow = 4096;
  forRowRanges((n + kRow - 1) / kRow, kRow, [&](int64_t r0, int64_t r1) { f(r0 * kRow, std::min(n, r1 * kRow)); });
}

float f32(const Napi::Value& v) { return static_cast<float>(v.As<Napi::Number>().DoubleValue()); }

struct Slots {
  const float *x, *g, *a, *b;
  float *x1, *a1, *b1;
  int64_t n;
};

// heap, x, g, slotA, slotB, x1, slotA1, slotB1, n
Slots readSlots(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const int64_t n = info[8].As<Napi::Number>().Int64Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "optimizer update: empty variable");
  const uint64_t u = static_cast<uint64_t>(n);
  return {heap.at(info[1], u), heap.at(info[2], u), heap.at(info[3], u), heap.at(info[4], u),
          heap.at(info[5], u), heap.at(info[6], u), heap.at(info[7], u), n};
}

// rmsprop(heap, x, g, ms, mom, x1, ms1, mom1, n, decay, momentum, lr, epsilon)
Napi::Value Rmsprop(const Napi::CallbackInfo& info) {
  const Slots s = readSlots(info);
  const double decay = info[9].As<Napi::Number>().DoubleValue();
  const float rho = static_cast<float>(decay), rho1 = static_cast<float>(1 - decay);
  const float mu = f32(info[10]), lr = f32(info[11]), eps = f32(info[12]);
  forElements(s.n, [&](int64_t i0, int64_t i1) {
    rmspropRange(s.x, s.g, s.a, s.b, s.x1, s.a1, s.b1, i0, i1, rho, rho1, mu, lr, eps);
  });
  return info.Env().Undefined();
}

// adam(heap, x, g, m, v, x1, m1, v1, n, beta1, beta2, oneMinusAccBeta1, oneMinusAccBeta2, epsilon, lr)
Napi::Value Adam(const Napi::CallbackInfo& info) {
  const Slots s = readSlots(info);
  const double beta1 = info[9].As<Napi::Number>().DoubleValue(), beta2 = info[10].As<Napi::Number>().DoubleValue();
  const float k[8] = {static_cast<float>(beta1), static_cast<float>(1 - beta1), static_cast<float>(beta2),
                      static_cast<float>(1 - beta2), f32(info[11]), f32(info[12]), f32(info[13]),
                      static_cast<float>(-info[14].As<Napi::Number>().DoubleValue())};
  forElements(s.n, [&](int64_t i0, int64_t i1) { adamRange(s.x, s.g, s.a, s.b, s.x1, s.a1, s.b1, i0, i1, k); });
  return info.Env().Undefined();
}

}  // namespace

const Export kOptimExports[] = {
    {"rmsprop", Rmsprop},
    {"adam", Adam},
    {nullptr, nullptr},
};

}  // namespace bnn
