// Module init: every function in the export lists below goes on the module object. A new kernel
// file adds its own list (see common.h) and one line to kLists, nothing else.
#include "common.h"

namespace bnn {
namespace {

const Export* const kLists[] = {kCommonExports, kConvExports, kMatmulExports, kBinarizeExports, kPopcountExports,
                                kNormExports, kEltwiseExports, kSplitExports, kPoolExports, kReduceExports, kAsyncExports};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (const Export* list : kLists) {
    for (const Export* e = list; e->name != nullptr; ++e) {
      exports.Set(e->name, Napi::Function::New(env, e->fn, e->name));
    }
  }
  return exports;
}

}  // namespace
}  // namespace bnn

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return bnn::Init(env, exports); }

NODE_API_MODULE(bnn_onednn, InitModule)
