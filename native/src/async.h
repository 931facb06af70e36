// One background thread with a FIFO queue of jobs (async.cc): at T >= 2 threads the filter
// gradients of the convolutions, and the weight-binarization gradients that consume them, run
// there while the main thread carries on with the rest of the backward pass (inter-op
// parallelism; bench/README.md says why intra-op threading could not use the second core).
#pragma once

#include <cstdint>
#include <functional>

#include "common.h"

namespace bnn {

// Whether the kernels should queue: turned on by setAsyncJobs and OpenMP set to >= 2 threads.
bool asyncActive();

// A job queued or running: the addon's own loops then leave one core to it (parallel.h).
bool asyncBusy();

// Queues `job` (run on the background thread, OpenMP set to 1 thread there); returns its id.
// `heapBase` is the wasm heap's base the job's pointers were computed from: the wait checks it.
uint64_t submitJob(Napi::Env env, const uint8_t* heapBase, std::function<void()> job);

}  // namespace bnn
