// Sum over a block of consecutive axes of a float32 tensor, viewed as [outer, red, inner]:
// out[o, i] = Σ_r x[o, r, i], accumulated in float32 from +0 in r order: what tfjs's wasm Sum
// computes (it transposes the reduced axes innermost, then adds them one by one), bit for bit,
// without the transpose. Split across threads by outer rows, or by inner blocks where there are
// few rows; each output's additions keep their order either way.
#include <algorithm>

#include "common.h"
#include "parallel.h"

namespace bnn {
namespace {

BNN_CLONES void sumBlock(const float* __restrict x, float* __restrict out, int64_t red, int64_t inner, int64_t o,
                         int64_t i0, int64_t i1) {
  float* acc = out + o * inner;
  for (int64_t i = i0; i < i1; ++i) acc[i] = 0.0f;
  for (int64_t r = 0; r < red; ++r) {
    const float* row = x + (o * red + r) * inner;
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) acc[i] += row[i];
  }
}

// sumAxes(heap, x, out, outer, red, inner)
Napi::Value SumAxes(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const int64_t outer = info[3].As<Napi::Number>().Int64Value(), red = info[4].As<Napi::Number>().Int64Value(),
                inner = info[5].As<Napi::Number>().Int64Value();
  if (outer < 1 || red < 1 || inner < 1) throw Napi::RangeError::New(info.Env(), "sumAxes: empty tensor");
  const float* x = heap.at(info[1], static_cast<uint64_t>(outer * red * inner));
  float* out = heap.at(info[2], static_cast<uint64_t>(outer * inner));
  if (outer >= threadsFor(outer * red * inner)) {
    forRowRanges(outer, red * inner, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) sumBlock(x, out, red, inner, o, 0, inner);
    });
  } else {
    for (int64_t o = 0; o < outer; ++o) {
      forChannelBlocks(red, inner, [&](int64_t i0, int64_t i1) { sumBlock(x, out, red, inner, o, i0, i1); });
    }
  }
  return info.Env().Undefined();
}

}  // namespace

const Export kReduceExports[] = {
    {"sumAxes", SumAxes},
    {nullptr, nullptr},
};

}  // namespace bnn
