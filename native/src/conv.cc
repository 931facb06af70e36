// 2-D convolution and both its gradients as oneDNN primitives, on tfjs's own layouts in place:
// activations NHWC (oneDNN "nhwc", which its AVX-512 kernels read directly) and filters
// [kh, kw, ci, co] (oneDNN "hwio"). The filter goes through the primitive's preferred blocked
// layout (format_tag::any), so each call reorders it once (forward and input gradient: HWIO in;
// filter gradient: the result out). Those reorders are counted in stats().
//
// Geometry (an array of 17 integers, from TypeScript's computeConv2DInfo):
//   [n, ih, iw, ic, oc, kh, kw, sh, sw, dh, dw, padTop, padLeft, padBottom, padRight, oh, ow]
// dh/dw are tfjs dilations (1 = none); oneDNN counts dilation from 0.
//
// convForwardFused is tfjs's FusedConv2D forward (inference; tf.layers' real convs): the
// convolution with its bias and, as oneDNN post-ops, the activations whose post-op computes
// exactly what tfjs computes on the conv's result (relu and relu6 as max/min, leaky relu as one
// multiply on the negative side). The TypeScript side applies the others (prelu, elu, sigmoid)
// with tfjs's own kernels afterwards: oneDNN 2.6 runs a conv with a prelu post-op in another
// implementation whose sums round differently.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "async.h"
#include "common.h"

namespace bnn {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

enum Kind { kFwd = 0, kBwdData = 1, kBwdWeights = 2, kFused = 3 };

// The bias and post-op of a kFused primitive. act: 0 none, 1 relu, 2 relu6, 3 leaky relu with
// slope `alpha`.
struct Fusion {
  bool bias = false;
  int64_t act = 0;
  float alpha = 0;

  std::vector<int64_t> key() const {
    uint32_t bits;
    std::memcpy(&bits, &alpha, sizeof bits);
    return {bias, act, bits};
  }
};

struct Geometry {
  memory::dim n, ih, iw, ic, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow;

  memory::desc src() const { return {{n, ic, ih, iw}, dt::f32, tag::nhwc}; }
  memory::desc dst() const { return {{n, oc, oh, ow}, dt::f32, tag::nhwc}; }
  memory::desc userWeights() const { return {{oc, ic, kh, kw}, dt::f32, tag::hwio}; }
  memory::desc anyWeights() const { return {{oc, ic, kh, kw}, dt::f32, tag::any}; }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims dilates() const { return {dh - 1, dw - 1}; }
  memory::dims padL() const { return {pt, pl}; }
  memory::dims padR() const { return {pb, pr}; }
};

Geometry readGeometry(const Napi::Value& v) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() != 17) {
    throw Napi::TypeError::New(v.Env(), "conv geometry must be an array of 17 integers");
  }
  auto a = v.As<Napi::Array>();
  Geometry g;
  memory::dim* f[] = {&g.n, &g.ih, &g.iw, &g.ic, &g.oc, &g.kh, &g.kw, &g.sh, &g.sw,
                      &g.dh, &g.dw, &g.pt, &g.pl, &g.pb, &g.pr, &g.oh, &g.ow};
  for (uint32_t i = 0; i < 17; ++i) *f[i] = intAt(a, i);
  return g;
}

// One cached primitive: everything that depends only on the shape, kind and thread count.
struct Entry {
  dnnl::primitive prim;
  std::string impl;
  bool reorder = false;         // the filter (or its gradient) needs a layout conversion
  dnnl::reorder convert;        // user HWIO -> blocked (fwd, bwd data) or blocked -> HWIO (bwd weights)
  memory blocked;               // the filter in the primitive's layout, owned here
  memory a, b, user;            // the two activation tensors and the HWIO filter, handles set per call
  memory bias;                  // kFused: the bias, where there is one
  memory scratch;               // a split share's own scratchpad (user mode); empty otherwise
};

std::map<std::vector<int64_t>, std::unique_ptr<Entry>>& cache() {
  static std::map<std::vector<int64_t>, std::unique_ptr<Entry>> c;
  return c;
}

dnnl::convolution_forward::primitive_desc forwardPd(const Geometry& g) {
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                    g.src(), g.anyWeights(), g.dst(), g.strides(), g.dilates(), g.padL(), g.padR());
  return {d, cpuEngine()};
}

// Relu as max(x, 0) (oneDNN's relu with slope 0; a slope would give -0 for x < 0) and relu6 as
// min(max(x, 0), 6): the same floats as tfjs's clamps. Leaky relu: x or x·slope.
dnnl::post_ops postOps(const Fusion& f) {
  dnnl::post_ops ops;
  if (f.act == 1) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  if (f.act == 2) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f);
  if (f.act == 3) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, f.alpha, 0.f);
  return ops;
}

// Sets e's primitive (and its bias memory object); returns the filter layout it wants.
memory::desc buildFused(Entry& e, const Geometry& g, const Fusion& f) {
  const memory::desc bias = f.bias ? memory::desc({g.oc}, dt::f32, tag::x) : memory::desc();
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                    g.src(), g.anyWeights(), bias, g.dst(), g.strides(), g.dilates(), g.padL(), g.padR());
  dnnl::primitive_attr attr;
  attr.set_post_ops(postOps(f));
  dnnl::convolution_forward::primitive_desc pd(d, attr, cpuEngine());
  e.prim = dnnl::convolution_forward(pd);
  e.impl = pd.impl_info_str();
  if (f.bias) e.bias = memory(bias, cpuEngine(), DNNL_MEMORY_NONE);
  return pd.weights_desc();
}

// Builds the primitive for `kind` and the filter reorder between HWIO and its preferred layout.
std::unique_ptr<Entry> build(Kind kind, const Geometry& g, const Fusion& f, bool ownScratchpad = false) {
  auto e = std::make_unique<Entry>();
  dnnl::engine& eng = cpuEngine();
  auto fwd = forwardPd(g);
  memory::desc want;
  if (kind == kFused) {
    want = buildFused(*e, g, f);
  } else if (kind == kFwd) {
    want = fwd.weights_desc();
    e->prim = dnnl::convolution_forward(fwd);
    e->impl = fwd.impl_info_str();
  } else if (kind == kBwdData) {
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, g.src(), g.anyWeights(), g.dst(),
                                            g.strides(), g.dilates(), g.padL(), g.padR());
    dnnl::convolution_backward_data::primitive_desc pd(d, eng, fwd);
    want = pd.weights_desc();
    e->prim = dnnl::convolution_backward_data(pd);
    e->impl = pd.impl_info_str();
  } else {
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, g.src(), g.anyWeights(), g.dst(),
                                               g.strides(), g.dilates(), g.padL(), g.padR());
    // A split share runs beside the other shares, and identical shares get the same primitive
    // from oneDNN's cache: with the library's scratchpad, two threads then wrote one buffer
    // (SIGSEGV in the gemm filter gradient on AMD Zen 3). Each share gets a scratchpad of its own.
    dnnl::primitive_attr attr;
    if (ownScratchpad) attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::convolution_backward_weights::primitive_desc pd(d, attr, eng, fwd);
    if (ownScratchpad) e->scratch = memory(pd.scratchpad_desc(), eng);
    want = pd.diff_weights_desc();
    e->prim = dnnl::convolution_backward_weights(pd);
    e->impl = pd.impl_info_str();
  }
  e->a = memory(g.src(), eng, DNNL_MEMORY_NONE);
  e->b = memory(g.dst(), eng, DNNL_MEMORY_NONE);
  e->user = memory(g.userWeights(), eng, DNNL_MEMORY_NONE);
  e->reorder = want != g.userWeights();
  if (e->reorder) {
    e->blocked = memory(want, eng);
    e->convert = kind == kBwdWeights ? dnnl::reorder(e->blocked, e->user) : dnnl::reorder(e->user, e->blocked);
  }
  stats().primitives++;
  return e;
}

// `part` >= 0: the entry of one thread's share of a split filter gradient (its own memory objects);
// kAsyncPart: the background thread's whole-batch filter gradient. Both have their own scratchpad.
constexpr int64_t kAsyncPart = -2;

Entry& lookup(Napi::Env env, Kind kind, const Geometry& g, int64_t part = -1, const Fusion& f = Fusion()) {
  std::vector<int64_t> key = {kind, currentThreads(), g.n, g.ih, g.iw, g.ic, g.oc, g.kh, g.kw, g.sh, g.sw,
                              g.dh, g.dw, g.pt, g.pl, g.pb, g.pr, g.oh, g.ow, part};
  for (int64_t v : f.key()) key.push_back(v);
  auto& c = cache();
  auto it = c.find(key);
  if (it != c.end()) {
    stats().cacheHits++;
    return *it->second;
  }
  try {
    return *(c[key] = build(kind, g, f, part != -1));
  } catch (const dnnl::error& e) {
    c.erase(key);
    throwDnnl(env, "convolution primitive", e);
  }
}

void countReorder(const Entry& e) {
  stats().reorders++;
  stats().reorderBytes += e.blocked.get_desc().get_size();
}

// run(kind, heap, geometry, a, filter, b): the pointers are
//   fwd:         a = x (in),  filter = w (in),  b = y (out)
//   bwd data:    a = dx (out), filter = w (in), b = dy (in)
//   bwd weights: a = x (in),  filter = dw (out), b = dy (in)
Napi::Value run(const Napi::CallbackInfo& info, Kind kind) {
  Napi::Env env = info.Env();
  Heap heap(info[0]);
  Geometry g = readGeometry(info[1]);
  float* a = heap.at(info[2], static_cast<uint64_t>(g.n * g.ih * g.iw * g.ic));
  float* f = heap.at(info[3], static_cast<uint64_t>(g.kh * g.kw * g.ic * g.oc));
  float* b = heap.at(info[4], static_cast<uint64_t>(g.n * g.oh * g.ow * g.oc));
  Entry& e = lookup(env, kind, g);
  e.a.set_data_handle(a);
  e.b.set_data_handle(b);
  e.user.set_data_handle(f);
  dnnl::stream& s = cpuStream();
  const memory& w = e.reorder ? e.blocked : e.user;
  try {
    if (e.reorder && kind != kBwdWeights) {
      e.convert.execute(s, e.user, e.blocked);
      countReorder(e);
    }
    if (kind == kFwd) {
      e.prim.execute(s, {{DNNL_ARG_SRC, e.a}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, e.b}});
    } else if (kind == kBwdData) {
      e.prim.execute(s, {{DNNL_ARG_DIFF_SRC, e.a}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, e.b}});
    } else {
      e.prim.execute(s, {{DNNL_ARG_SRC, e.a}, {DNNL_ARG_DIFF_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, e.b}});
      if (e.reorder) {
        e.convert.execute(s, e.blocked, e.user);
        countReorder(e);
      }
    }
    s.wait();
  } catch (const dnnl::error& err) {
    throwDnnl(env, "convolution", err);
  }
  return env.Undefined();
}

// convForwardFused(heap, geometry, x, w, y, bias, act, alpha): y = act(conv(x, w) + bias). bias is
// a byte offset, or -1 where there is none; act and alpha as in Fusion.
Napi::Value ConvForwardFused(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap heap(info[0]);
  Geometry g = readGeometry(info[1]);
  Fusion f;
  f.bias = info[5].As<Napi::Number>().Int64Value() >= 0;
  f.act = info[6].As<Napi::Number>().Int64Value();
  f.alpha = info[7].As<Napi::Number>().FloatValue();
  if (f.act < 0 || f.act > 3) throw Napi::RangeError::New(env, "convForwardFused: act must be 0..3");
  if (f.act != 3) f.alpha = 0;  // one primitive per activation, whatever alpha says
  float* x = heap.at(info[2], static_cast<uint64_t>(g.n * g.ih * g.iw * g.ic));
  float* w = heap.at(info[3], static_cast<uint64_t>(g.kh * g.kw * g.ic * g.oc));
  float* y = heap.at(info[4], static_cast<uint64_t>(g.n * g.oh * g.ow * g.oc));
  Entry& e = lookup(env, kFused, g, -1, f);
  e.a.set_data_handle(x);
  e.b.set_data_handle(y);
  e.user.set_data_handle(w);
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, e.a}, {DNNL_ARG_WEIGHTS, e.reorder ? e.blocked : e.user},
                                          {DNNL_ARG_DST, e.b}};
  if (f.bias) {
    e.bias.set_data_handle(heap.at(info[5], static_cast<uint64_t>(g.oc)));
    args[DNNL_ARG_BIAS] = e.bias;
  }
  dnnl::stream& s = cpuStream();
  try {
    if (e.reorder) {
      e.convert.execute(s, e.user, e.blocked);
      countReorder(e);
    }
    e.prim.execute(s, args);
    s.wait();
  } catch (const dnnl::error& err) {
    throwDnnl(env, "fused convolution", err);
  }
  return env.Undefined();
}

// oneDNN's own multi-threaded filter gradient reduces the threads' partial sums behind a spinning
// barrier: on the reference step, 2 threads took 2x the CPU of 1 (60 against 28 ms per step) for
// no gain. Split by images instead: T primitives built for 1 thread, each on n/T images into its
// own filter gradient, run side by side in one OpenMP region (oneDNN runs a primitive
// sequentially inside a parallel region), then added in thread order: deterministic for a given
// thread count. This split is what runs with background jobs off (BNN_ASYNC_FILTER_GRAD=0); by
// default, at T >= 2 the TypeScript side queues the filter gradient instead
// (ConvBackwardWeightsAsync below), 1.19x faster than the split on the reference step (bench/README.md).

// The thread count for oneDNN primitives created in this scope (restored after).
struct ThreadsFor {
  int old;
  explicit ThreadsFor(int n) : old(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadsFor() { omp_set_num_threads(old); }
};

std::vector<dnnl::stream>& partStreams(size_t n) {
  static std::vector<dnnl::stream> s;
  while (s.size() < n) s.emplace_back(cpuEngine());
  return s;
}

std::vector<float>& partialSums() {
  static std::vector<float> p;
  return p;
}

Napi::Value splitBackwardWeights(const Napi::CallbackInfo& info, const Geometry& g, int parts) {
  Napi::Env env = info.Env();
  Heap heap(info[0]);
  const int64_t xImage = g.ih * g.iw * g.ic, dyImage = g.oh * g.ow * g.oc, k = g.kh * g.kw * g.ic * g.oc;
  float* x = heap.at(info[2], static_cast<uint64_t>(g.n * xImage));
  float* dw = heap.at(info[3], static_cast<uint64_t>(k));
  float* dy = heap.at(info[4], static_cast<uint64_t>(g.n * dyImage));
  std::vector<Entry*> entries(parts);
  std::vector<int64_t> first(parts + 1, 0);
  {
    ThreadsFor one(1);
    for (int t = 0; t < parts; ++t) {
      Geometry gt = g;
      gt.n = g.n / parts + (t < g.n % parts ? 1 : 0);
      first[t + 1] = first[t] + gt.n;
      entries[t] = &lookup(env, kBwdWeights, gt, t);
    }
  }
  std::vector<float>& partial = partialSums();
  partial.resize(static_cast<size_t>((parts - 1) * k));
  std::vector<dnnl::stream>& streams = partStreams(parts);
  bool failed = false;
  std::string why;
#pragma omp parallel num_threads(parts)
  {
    const int t = omp_get_thread_num();
    Entry& e = *entries[t];
    try {
      e.a.set_data_handle(x + first[t] * xImage);
      e.b.set_data_handle(dy + first[t] * dyImage);
      e.user.set_data_handle(t == 0 ? dw : partial.data() + (t - 1) * k);
      const memory& w = e.reorder ? e.blocked : e.user;
      e.prim.execute(streams[t], {{DNNL_ARG_SRC, e.a}, {DNNL_ARG_DIFF_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, e.b}, {DNNL_ARG_SCRATCHPAD, e.scratch}});
      if (e.reorder) e.convert.execute(streams[t], e.blocked, e.user);
      streams[t].wait();
    } catch (const dnnl::error& err) {
#pragma omp critical
      {
        failed = true;
        why = err.what();
      }
    }
  }
  if (failed) throw Napi::Error::New(env, "convolution: oneDNN " + why);
  for (int t = 0; t < parts; ++t) {
    if (entries[t]->reorder) countReorder(*entries[t]);
  }
  for (int t = 1; t < parts; ++t) {
    const float* p = partial.data() + (t - 1) * k;
#pragma omp simd
    for (int64_t i = 0; i < k; ++i) dw[i] += p[i];
  }
  return env.Undefined();
}

// The background filter gradient (async.h): the whole batch on a primitive built for 1 thread,
// so the main thread keeps the other core(s). The entry's memory handles are set when the job
// runs, not here: jobs of one shape share the entry, and the next may be queued meanwhile.
dnnl::stream& asyncStream() {
  static dnnl::stream s(cpuEngine());  // used by the background thread only
  return s;
}

void runAsyncFilterGrad(Entry& e, float* x, float* dw, float* dy) {
  dnnl::stream& s = asyncStream();
  e.a.set_data_handle(x);
  e.b.set_data_handle(dy);
  e.user.set_data_handle(dw);
  const memory& w = e.reorder ? e.blocked : e.user;
  e.prim.execute(s, {{DNNL_ARG_SRC, e.a}, {DNNL_ARG_DIFF_WEIGHTS, w}, {DNNL_ARG_DIFF_DST, e.b}, {DNNL_ARG_SCRATCHPAD, e.scratch}});
  if (e.reorder) e.convert.execute(s, e.blocked, e.user);
  s.wait();
}

// convBackwardWeightsAsync(heap, geometry, x, dw, dy): queues dw = the filter gradient; returns
// the job's id (asyncWait). Only where asyncActive().
Napi::Value ConvBackwardWeightsAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!asyncActive()) throw Napi::Error::New(env, "convBackwardWeightsAsync: background jobs are off (setAsyncJobs, >= 2 threads)");
  Heap heap(info[0]);
  const Geometry g = readGeometry(info[1]);
  float* x = heap.at(info[2], static_cast<uint64_t>(g.n * g.ih * g.iw * g.ic));
  float* dw = heap.at(info[3], static_cast<uint64_t>(g.kh * g.kw * g.ic * g.oc));
  float* dy = heap.at(info[4], static_cast<uint64_t>(g.n * g.oh * g.ow * g.oc));
  Entry* e;
  {
    ThreadsFor one(1);
    e = &lookup(env, kBwdWeights, g, kAsyncPart);
  }
  if (e->reorder) countReorder(*e);  // counted here: stats() belongs to the main thread
  const uint64_t id = submitJob(env, heap.base(), [e, x, dw, dy] { runAsyncFilterGrad(*e, x, dw, dy); });
  return Napi::Number::New(env, static_cast<double>(id));
}

Napi::Value ConvForward(const Napi::CallbackInfo& info) { return run(info, kFwd); }

// With background jobs on, the input gradient always runs on T-1 threads at T >= 2, leaving a core
// to the filter gradient. Always, not only while a job is in flight: oneDNN's bits may depend on
// the thread count, and a timing-dependent choice would make runs differ.
Napi::Value ConvBackwardData(const Napi::CallbackInfo& info) {
  const int threads = currentThreads();
  if (!asyncActive()) return run(info, kBwdData);
  ThreadsFor fewer(threads - 1);
  return run(info, kBwdData);
}
Napi::Value ConvBackwardWeights(const Napi::CallbackInfo& info) {
  const Geometry g = readGeometry(info[1]);
  const int parts = static_cast<int>(std::min<int64_t>(currentThreads(), g.n));
  return parts > 1 ? splitBackwardWeights(info, g, parts) : run(info, kBwdWeights);
}

// convImpl(kind, geometry): the implementation oneDNN chose (e.g. "jit:avx512_core"), for the profile.
Napi::Value ConvImpl(const Napi::CallbackInfo& info) {
  int kind = info[0].As<Napi::Number>().Int32Value();
  if (kind < 0 || kind > 2) throw Napi::RangeError::New(info.Env(), "kind must be 0, 1 or 2");
  Geometry g = readGeometry(info[1]);
  return Napi::String::New(info.Env(), lookup(info.Env(), static_cast<Kind>(kind), g).impl);
}

}  // namespace

const Export kConvExports[] = {
    {"convForward", ConvForward},
    {"convForwardFused", ConvForwardFused},
    {"convBackwardData", ConvBackwardData},
    {"convBackwardWeights", ConvBackwardWeights},
    {"convBackwardWeightsAsync", ConvBackwardWeightsAsync},
    {"convImpl", ConvImpl},
    {nullptr, nullptr},
};

}  // namespace bnn
