// SplitV and Concat of 4-byte tensors (float32, int32) along one axis: x viewed as
// [outer, dim, inner], piece i is [outer, size_i, inner]. Pure copies, split by outer rows
// across threads. tfjs's wasm SplitV slices each piece with a generic strided loop (~1.5 ms per
// call in the reference step, 20 ms of CPU per step; the concat gradients of the binary blocks),
// and its Concat of the binary blocks' three branches took 7 ms per step.
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

// concat(heap, out, outer, ins[], widths[]): out row r is the rows r of every input, in order;
// input i is [outer, widths[i]] (its axis size times the inner size).
Napi::Value Concat(const Napi::CallbackInfo& info) {
  Heap heap(info[0]);
  const int64_t outer = info[2].As<Napi::Number>().Int64Value();
  const auto ins = info[3].As<Napi::Array>(), widths = info[4].As<Napi::Array>();
  if (outer < 0 || ins.Length() != widths.Length()) throw Napi::RangeError::New(info.Env(), "concat: bad shape");
  std::vector<const float*> src;
  std::vector<int64_t> width, start;
  int64_t at = 0;
  for (uint32_t i = 0; i < ins.Length(); ++i) {
    const int64_t w = intAt(widths, i);
    if (w < 0) throw Napi::RangeError::New(info.Env(), "concat: negative size");
    src.push_back(heap.at(ins.Get(i), static_cast<uint64_t>(outer * w)));
    width.push_back(w);
    start.push_back(at);
    at += w;
  }
  float* out = heap.at(info[1], static_cast<uint64_t>(outer * at));
  forRowRanges(outer, at, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      for (size_t i = 0; i < src.size(); ++i) {
        std::memcpy(out + r * at + start[i], src[i] + r * width[i], static_cast<size_t>(width[i]) * sizeof(float));
      }
    }
  });
  return info.Env().Undefined();
}

}  // namespace

const Export kSplitExports[] = {
    {"splitV", SplitV},
    {"concat", Concat},
    {nullptr, nullptr},
};

}  // namespace bnn
