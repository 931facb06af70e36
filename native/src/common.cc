#include "common.h"

#include <omp.h>

namespace bnn {

dnnl::engine& cpuEngine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& cpuStream() {
  static dnnl::stream s(cpuEngine());
  return s;
}

Stats& stats() {
  static Stats s;
  return s;
}

int currentThreads() { return omp_get_max_threads(); }

Heap::Heap(const Napi::Value& v) : env_(v.Env()), base_(nullptr), bytes_(0) {
  if (!v.IsArrayBuffer()) throw Napi::TypeError::New(env_, "expected the wasm heap's ArrayBuffer");
  auto ab = v.As<Napi::ArrayBuffer>();
  base_ = static_cast<uint8_t*>(ab.Data());
  bytes_ = ab.ByteLength();
}

float* Heap::at(const Napi::Value& offset, uint64_t floats) const {
  int64_t off = offset.As<Napi::Number>().Int64Value();
  if (off < 0 || off % 4 != 0 || static_cast<uint64_t>(off) + floats * 4 > bytes_) {
    throw Napi::RangeError::New(env_, "tensor outside the wasm heap");
  }
  return reinterpret_cast<float*>(base_ + off);
}

int64_t intAt(const Napi::Array& a, uint32_t i) {
  return a.Get(i).As<Napi::Number>().Int64Value();
}

void throwDnnl(Napi::Env env, const char* what, const dnnl::error& e) {
  throw Napi::Error::New(env, std::string(what) + ": oneDNN " + e.what());
}

namespace {

// setThreads(n): oneDNN's OpenMP pool size for this process (Debian's libdnnl uses OpenMP).
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "threads must be >= 1");
  omp_set_num_threads(n);
  return Napi::Number::New(info.Env(), currentThreads());
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), currentThreads());
}

const char* isaName(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    default: return "other";
  }
}

// info(): the library version and the instruction set oneDNN dispatched to on this CPU.
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const dnnl_version_t* v = dnnl_version();
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("isa", isaName(dnnl_get_effective_cpu_isa()));
  o.Set("threads", currentThreads());
  o.Set("runtime", "omp");
  return o;
}

Napi::Value GetStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Stats& s = stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("reorders", static_cast<double>(s.reorders));
  o.Set("reorderBytes", static_cast<double>(s.reorderBytes));
  o.Set("primitives", static_cast<double>(s.primitives));
  o.Set("cacheHits", static_cast<double>(s.cacheHits));
  return o;
}

Napi::Value ResetStats(const Napi::CallbackInfo& info) {
  stats() = Stats{};
  return info.Env().Undefined();
}

}  // namespace

const Export kCommonExports[] = {
    {"setThreads", SetThreads},
    {"getThreads", GetThreads},
    {"info", Info},
    {"stats", GetStats},
    {"resetStats", ResetStats},
    {nullptr, nullptr},
};

}  // namespace bnn
