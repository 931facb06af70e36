// The background job queue (async.h). One std::thread, started at the first submission, runs
// the jobs in submission order, so a job may read what an earlier one wrote. The TypeScript side
// (src/backend/onednn-async.ts) knows which tensors each job reads and writes: it waits
// (asyncWait) before the main thread reads an output, and defers freeing a buffer a queued job
// still uses.
//
// Exit: the thread is joined by an atexit handler and by the napi environment's cleanup hook
// (whichever comes first); a queued job that has not started is dropped, a running one finishes
// first (milliseconds). The queue itself is never destroyed, so no static destructor can pull a
// mutex from under the thread.
//
// Errors: a job's exception is kept, and the next asyncWait throws it as a JS Error.
#include "async.h"

#include <omp.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace bnn {
namespace {

struct Queue {
  std::mutex m;
  std::condition_variable work;  // a job was queued, or stop
  std::condition_variable done;  // a job finished
  std::deque<std::pair<uint64_t, std::function<void()>>> jobs;
  std::atomic<uint64_t> submitted{0}, completed{0};
  std::string error;                // the first failed job's message, until a wait throws it
  const uint8_t* base = nullptr;    // the heap base the queued jobs' pointers came from
  bool stop = false;
  bool hooked = false;              // the atexit handler is registered
  std::thread thread;
  bool enabled = false;             // setAsyncJobs
  bool held = false;                // asyncHold (tests): queued jobs do not start
  // For the profile (bench/kernel-cpu.ts): nanoseconds the background thread spent in jobs, and
  // the main thread spent blocked in asyncWait.
  std::atomic<uint64_t> jobNs{0}, waitNs{0};
  std::atomic<uint64_t> jobCpuNs{0};  // the background thread's own CPU time in jobs (load-proof)
};

uint64_t threadCpuNs() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec);
}

uint64_t nowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now().time_since_epoch()).count());
}

Queue& queue() {
  static Queue* q = new Queue;  // never destroyed (see the top)
  return *q;
}

void runJobs() {
  // Without this, a oneDNN primitive or an addon loop opens a team of OMP_NUM_THREADS from here.
  omp_set_num_threads(1);
  Queue& q = queue();
  std::unique_lock<std::mutex> lock(q.m);
  for (;;) {
    q.work.wait(lock, [&] { return q.stop || (!q.held && !q.jobs.empty()); });
    if (q.stop) return;
    auto job = std::move(q.jobs.front());
    q.jobs.pop_front();
    lock.unlock();
    std::string why;
    const uint64_t t0 = nowNs(), c0 = threadCpuNs();
    try {
      job.second();
    } catch (const std::exception& e) {
      why = e.what();
    } catch (...) {
      why = "unknown exception";
    }
    q.jobNs.fetch_add(nowNs() - t0);
    q.jobCpuNs.fetch_add(threadCpuNs() - c0);
    lock.lock();
    if (!why.empty() && q.error.empty()) q.error = why;
    q.completed.store(job.first);
    q.done.notify_all();
  }
}

// Joins the thread; the queue can start again afterwards (another napi environment).
void shutdown() {
  Queue& q = queue();
  {
    std::lock_guard<std::mutex> lock(q.m);
    if (!q.thread.joinable()) return;
    q.stop = true;
    q.jobs.clear();
  }
  q.work.notify_all();
  q.thread.join();
  std::lock_guard<std::mutex> lock(q.m);
  q.stop = false;
  if (q.completed.load() < q.submitted.load() && q.error.empty()) q.error = "the background job queue was shut down";
  q.completed.store(q.submitted.load());  // dropped jobs count as done, so no wait hangs
  q.done.notify_all();
}

void onCleanup(void*) { shutdown(); }
void atExit() { shutdown(); }

// asyncWait(id, heap): blocks until job `id` (and so every earlier one) has run; throws the
// error of a failed job, or where the heap's base moved since the jobs were queued.
Napi::Value AsyncWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint64_t id = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  Heap heap(info[1]);
  Queue& q = queue();
  std::string why;
  const uint8_t* base;
  {
    const uint64_t t0 = nowNs();
    std::unique_lock<std::mutex> lock(q.m);
    if (q.held && q.completed.load() < id) throw Napi::Error::New(env, "asyncWait: the queue is held (asyncHold)");
    q.done.wait(lock, [&] { return q.completed.load() >= id; });
    q.waitNs.fetch_add(nowNs() - t0);
    why = std::move(q.error);
    q.error.clear();
    base = q.base;
  }
  if (!why.empty()) throw Napi::Error::New(env, "native background job failed: " + why);
  if (base != nullptr && base != heap.base()) {
    throw Napi::Error::New(env, "the wasm heap moved while native background jobs ran on it: their results are lost");
  }
  return Napi::Number::New(env, static_cast<double>(q.completed.load()));
}

// asyncDone(): the id of the last finished job (ids count up from 1; jobs finish in order).
Napi::Value AsyncDone(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(queue().completed.load()));
}

// setAsyncJobs(on): whether the kernels queue at >= 2 threads (BNN_ASYNC_FILTER_GRAD).
Napi::Value SetAsyncJobs(const Napi::CallbackInfo& info) {
  queue().enabled = info[0].ToBoolean();
  return info.Env().Undefined();
}

// asyncTimes(): { jobs, jobMs, jobCpuMs, waitMs } since load: jobs finished, ms the background
// thread ran them (wall, and its own CPU time), ms the main thread waited for them.
Napi::Value AsyncTimes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Queue& q = queue();
  Napi::Object o = Napi::Object::New(env);
  o.Set("jobs", static_cast<double>(q.completed.load()));
  o.Set("jobMs", static_cast<double>(q.jobNs.load()) / 1e6);
  o.Set("jobCpuMs", static_cast<double>(q.jobCpuNs.load()) / 1e6);
  o.Set("waitMs", static_cast<double>(q.waitNs.load()) / 1e6);
  return o;
}

// asyncHold(on) (tests): while on, queued jobs wait, so that a test can free and reuse memory
// while a job is certainly still pending.
Napi::Value AsyncHold(const Napi::CallbackInfo& info) {
  Queue& q = queue();
  {
    std::lock_guard<std::mutex> lock(q.m);
    q.held = info[0].ToBoolean();
  }
  q.work.notify_all();
  return info.Env().Undefined();
}

Napi::Value AsyncActive(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), asyncActive()); }

}  // namespace

bool asyncActive() { return queue().enabled && omp_get_max_threads() >= 2; }

bool asyncBusy() {
  Queue& q = queue();
  return q.completed.load(std::memory_order_relaxed) < q.submitted.load(std::memory_order_relaxed);
}

uint64_t submitJob(Napi::Env env, const uint8_t* heapBase, std::function<void()> job) {
  Queue& q = queue();
  std::lock_guard<std::mutex> lock(q.m);
  if (q.completed.load() < q.submitted.load() && q.base != heapBase) {
    throw Napi::Error::New(env, "the wasm heap moved while native background jobs ran on it: their results are lost");
  }
  q.base = heapBase;
  if (!q.thread.joinable()) {
    q.thread = std::thread(runJobs);
    if (!q.hooked) {
      q.hooked = true;
      std::atexit(atExit);
      napi_add_env_cleanup_hook(env, onCleanup, nullptr);
    }
  }
  const uint64_t id = q.submitted.load() + 1;
  q.jobs.emplace_back(id, std::move(job));
  q.submitted.store(id);
  q.work.notify_one();
  return id;
}

const Export kAsyncExports[] = {
    {"asyncWait", AsyncWait},
    {"asyncDone", AsyncDone},
    {"setAsyncJobs", SetAsyncJobs},
    {"asyncActive", AsyncActive},
    {"asyncTimes", AsyncTimes},
    {"asyncHold", AsyncHold},
    {nullptr, nullptr},
};

}  // namespace bnn
