// Shared plumbing of the addon: the oneDNN engine and stream, the statistics the profile reads,
// and access to the tensors, which live in the wasm heap (an ArrayBuffer handed in per call).
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "oneapi/dnnl/dnnl.hpp"

namespace bnn {

dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

// Counters since load (or since resetStats): the TypeScript profile prints them.
struct Stats {
  uint64_t reorders = 0;       // layout conversions (tfjs's NHWC/HWIO <-> oneDNN's blocked layouts)
  uint64_t reorderBytes = 0;   // bytes those conversions wrote
  uint64_t primitives = 0;     // primitives created (one per shape, kind and thread count)
  uint64_t cacheHits = 0;      // executions that reused a cached primitive
};
Stats& stats();

// The number of threads oneDNN runs on now; part of every cache key because oneDNN picks its
// blocking for the thread count at primitive creation.
int currentThreads();

// The heap's base pointer, checked: every tensor [offset, offset + bytes) must lie inside it.
// The buffer is fetched per call by the caller because heap growth replaces it.
class Heap {
 public:
  Heap(const Napi::Value& v);
  float* at(const Napi::Value& offset, uint64_t floats) const;
  const uint8_t* base() const { return base_; }

 private:
  Napi::Env env_;
  uint8_t* base_;
  size_t bytes_;
};

// Reads element i of a JS array of integers.
int64_t intAt(const Napi::Array& a, uint32_t i);

// The exported functions, one list per source file; addon.cc puts them all on the module.
struct Export {
  const char* name;
  Napi::Value (*fn)(const Napi::CallbackInfo&);
};
extern const Export kCommonExports[];
extern const Export kConvExports[];
extern const Export kMatmulExports[];
extern const Export kBinarizeExports[];
extern const Export kPopcountExports[];  // popcount.cc (XNOR-popcount binary convolution)
extern const Export kNormExports[];     // norm.cc (batch norm)
extern const Export kEltwiseExports[];  // eltwise.cc (PReLU gradient, sign, Add)
extern const Export kSplitExports[];    // split.cc (SplitV, Concat)
extern const Export kPoolExports[];     // pool.cc (MaxPoolGrad)
extern const Export kReduceExports[];   // reduce.cc (Sum)
extern const Export kAsyncExports[];    // async.cc (the background job queue)

// Throws a JS Error from a oneDNN failure, naming the call.
[[noreturn]] void throwDnnl(Napi::Env env, const char* what, const dnnl::error& e);

}  // namespace bnn
