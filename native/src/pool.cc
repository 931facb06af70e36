// Max pooling's gradient: the twin of the wasm override's maxPoolGradInto (src/backend/
// pool-grad.ts), bit-identical to it. dy goes to the first maximum of its window in row-major
// scan order (strict >, branch-free as in the JS: best = v·win + b·(1 − win) in float64), cells
// outside the image never win, and the sums into dx run in the JS's window order. Images are
// split across threads: every window's cells lie in its own image, so no two threads write the
// same dx, and each image's sums keep their order.
#include <cstring>
#include <vector>

#include "common.h"
#include "parallel.h"

// The window-maximum select vectorizes below AVX-512 only when comparisons may not trap (values unchanged).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

namespace bnn {
namespace {

struct Pool {
  int64_t n, h, w, c, ho, wo, sh, sw, kh, kw, top, left;
};

BNN_CLONES void image(const float* __restrict dy, const float* __restrict x, float* __restrict dx, const Pool& g,
                      int64_t b, float* __restrict best, int64_t* __restrict arg) {
  std::memset(dx + b * g.h * g.w * g.c, 0, static_cast<size_t>(g.h * g.w * g.c) * sizeof(float));
  for (int64_t i = 0; i < g.ho; ++i) {
    for (int64_t j = 0; j < g.wo; ++j) {
      bool first = true;
      for (int64_t p = 0; p < g.kh; ++p) {
        const int64_t row = i * g.sh + p - g.top;
        if (row < 0 || row >= g.h) continue;
        for (int64_t q = 0; q < g.kw; ++q) {
          const int64_t col = j * g.sw + q - g.left;
          if (col < 0 || col >= g.w) continue;
          const int64_t base = ((b * g.h + row) * g.w + col) * g.c;
          if (first) {
            for (int64_t k = 0; k < g.c; ++k) {
              best[k] = x[base + k];
              arg[k] = base + k;
            }
            first = false;
            continue;
          }
#pragma omp simd
          for (int64_t k = 0; k < g.c; ++k) {
            const double v = x[base + k], bk = best[k];
            const double win = v > bk ? 1.0 : 0.0;
            best[k] = static_cast<float>(v * win + bk * (1 - win));
            arg[k] += static_cast<int64_t>(win) * (base + k - arg[k]);
          }
        }
      }
      if (first) continue;
      const int64_t o = ((b * g.ho + i) * g.wo + j) * g.c;
      for (int64_t k = 0; k < g.c; ++k) dx[arg[k]] = static_cast<float>(static_cast<double>(dx[arg[k]]) + dy[o + k]);
    }
  }
}

// maxPoolGrad(heap, dy, x, dx, [n, h, w, c, ho, wo, sh, sw, kh, kw, top, left])
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const auto a = info[4].As<Napi::Array>();
  if (a.Length() != 12) throw Napi::RangeError::New(info.Env(), "maxPoolGrad: 12 geometry values expected");
  const Pool g{intAt(a, 0), intAt(a, 1), intAt(a, 2), intAt(a, 3), intAt(a, 4), intAt(a, 5),
               intAt(a, 6), intAt(a, 7), intAt(a, 8), intAt(a, 9), intAt(a, 10), intAt(a, 11)};
  if (g.n < 1 || g.h < 1 || g.w < 1 || g.c < 1 || g.ho < 0 || g.wo < 0 || g.sh < 1 || g.sw < 1 || g.kh < 1 || g.kw < 1) {
    throw Napi::RangeError::New(info.Env(), "maxPoolGrad: bad geometry");
  }
  const float* dy = heap.at(info[1], static_cast<uint64_t>(g.n * g.ho * g.wo * g.c));
  const float* x = heap.at(info[2], static_cast<uint64_t>(g.n * g.h * g.w * g.c));
  float* dx = heap.at(info[3], static_cast<uint64_t>(g.n * g.h * g.w * g.c));
  forRowRanges(g.n, g.h * g.w * g.c, [&](int64_t b0, int64_t b1) {
    std::vector<float> best(static_cast<size_t>(g.c));
    std::vector<int64_t> arg(static_cast<size_t>(g.c));
    for (int64_t b = b0; b < b1; ++b) image(dy, x, dx, g, b, best.data(), arg.data());
  });
  return info.Env().Undefined();
}

}  // namespace

const Export kPoolExports[] = {
    {"maxPoolGrad", MaxPoolGrad},
    {nullptr, nullptr},
};

}  // namespace bnn
