// BatchMatMul as oneDNN's sgemm, one call per batch entry, row-major, in place on the heap.
// tfjs shapes: a [batchA, M, K] (or [batchA, K, M] when transposeA), b [batchB, K, N] (or
// [batchB, N, K]), c [max(batchA, batchB), M, N]; a batch of 1 broadcasts.
#include <algorithm>

#include "common.h"

namespace bnn {
namespace {

// batchMatMul(heap, a, b, c, batchA, batchB, m, n, k, transposeA, transposeB)
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap(info[0]);
  auto num = [&](int i) { return info[i].As<Napi::Number>().Int64Value(); };
  const int64_t batchA = num(4), batchB = num(5), m = num(6), n = num(7), k = num(8);
  const bool ta = info[9].ToBoolean(), tb = info[10].ToBoolean();
  if (batchA < 1 || batchB < 1 || (batchA != batchB && batchA != 1 && batchB != 1) || m < 0 || n < 0 || k < 0) {
    throw Napi::RangeError::New(env, "batchMatMul: bad shape");
  }
  const int64_t batch = std::max(batchA, batchB);
  const float* a = heap.at(info[1], static_cast<uint64_t>(batchA * m * k));
  const float* b = heap.at(info[2], static_cast<uint64_t>(batchB * k * n));
  float* c = heap.at(info[3], static_cast<uint64_t>(batch * m * n));
  if (m == 0 || n == 0) return env.Undefined();
  if (k == 0) {  // an empty sum; sgemm rejects leading dimensions of 0
    std::fill(c, c + batch * m * n, 0.0f);
    return env.Undefined();
  }
  const int64_t lda = ta ? m : k, ldb = tb ? k : n;
  for (int64_t i = 0; i < batch; ++i) {
    const float* ai = a + (batchA == 1 ? 0 : i * m * k);
    const float* bi = b + (batchB == 1 ? 0 : i * k * n);
    dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.0f, ai, lda, bi, ldb, 0.0f,
                                  c + i * m * n, n);
    if (st != dnnl_success) throw Napi::Error::New(env, "batchMatMul: dnnl_sgemm failed (status " + std::to_string(st) + ")");
  }
  return env.Undefined();
}

}  // namespace

const Export kMatmulExports[] = {
    {"batchMatMul", BatchMatMul},
    {nullptr, nullptr},
};

}  // namespace bnn
