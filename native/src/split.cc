// SplitV of a 4-byte tensor (float32, int32) into pieces along one axis: x viewed as
// [outer, dim, inner], piece i is [outer, size_i, inner]. Pure copies, split by outer rows
// across threads. tfjs's wasm SplitV slices each piece with a generic strided loop (~1.8 ms per
// call in the reference step, 25 ms of it; the concat gradients of the binary blocks).
#include <cstring>
#include <vector>

#include "common.h"
#include "parallel.h"

namespace bnn {
namespace {

// splitV(heap, x, outer, dim, inner, outs[], sizes[])
Napi::Value SplitV(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const int64_t outer = info[2].As<Napi::Number>().Int64Value(), dim = info[3].As<Napi::Number>().Int64Value(),
                inner = info[4].As<Napi::Number>().Int64Value();
  const auto outs = info[5].As<Napi::Array>(), sizes = info[6].As<Napi::Array>();
  if (outer < 0 || dim < 0 || inner < 0 || outs.Length() != sizes.Length()) {
    throw Napi::RangeError::New(info.Env(), "splitV: bad shape");
  }
  const float* x = heap.at(info[1], static_cast<uint64_t>(outer * dim * inner));
  std::vector<float*> dst;
  std::vector<int64_t> width, start;
  int64_t at = 0;
  for (uint32_t i = 0; i < outs.Length(); ++i) {
    const int64_t s = intAt(sizes, i);
    if (s < 0) throw Napi::RangeError::New(info.Env(), "splitV: negative size");
    dst.push_back(heap.at(outs.Get(i), static_cast<uint64_t>(outer * s * inner)));
    width.push_back(s * inner);
    start.push_back(at);
    at += s * inner;
  }
  if (at != dim * inner) throw Napi::RangeError::New(info.Env(), "splitV: sizes do not add up to the axis");
  forRowRanges(outer, dim * inner, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * at;
      for (size_t i = 0; i < dst.size(); ++i) {
        std::memcpy(dst[i] + r * width[i], row + start[i], static_cast<size_t>(width[i]) * sizeof(float));
      }
    }
  });
  return info.Env().Undefined();
}

}  // namespace

const Export kSplitExports[] = {
    {"splitV", SplitV},
    {nullptr, nullptr},
};

}  // namespace bnn
