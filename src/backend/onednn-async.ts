import type * as tf from '@tensorflow/tfjs';
import { type OneDnnAddon, oneDnn } from './onednn.ts';

/**
 * The JavaScript half of the addon's background job queue (native/src/async.cc): at 2 or more
 * threads the filter gradients, and the binarized-weight gradients that consume them, run on a
 * second thread while the main thread carries on with the backward pass. The wasm backend knows
 * nothing of it, so this module makes its buffers safe:
 *
 * - Reading a tensor a queued job still writes waits for that job. The one place every read
 *   passes through is the backend instance's `dataIdMap.get` (every wasm kernel, readSync/read,
 *   our own kernels' offsets), so that is wrapped. Queuing kernels use the raw get: the queue runs
 *   in order, so a job may take an earlier job's output as its input without a wait.
 * - Freeing a buffer a queued job still reads or writes is DEFERRED, not waited for (tfjs frees
 *   `dy` right after the conv's gradients: waiting there would serialize the two threads). The
 *   engine is told it is freed; the memory goes back to the heap once the job is done (checked at
 *   every submission and wait). Until then no new tensor can be given that memory.
 * - In-place writes to a job's input: none. The optimizers assign new tensors to their variables
 *   (fused-optimizers.ts), and the old buffer's free is deferred like any other.
 */

interface TensorData { memoryOffset: number; refCount: number }

interface AsyncBackend {
  dataIdMap: { get(id: object): TensorData | undefined };
  wasm: { asm: { memory: WebAssembly.Memory } };
  disposeData(id: object, force?: boolean): boolean;
  incRef(id: object): void;
  refCount(id: object): number;
  numDataIds(): number;
}

interface Pending {
  /** The job writing the buffer (0: none; it is only read). */
  writer: number;
  /** The last job reading or writing it: its free waits for that one. */
  last: number;
}

class JobTracker {
  private readonly pending = new Map<object, Pending>();
  private readonly deferred = new Map<object, number>();
  private readonly outputs = new WeakSet<object>();
  private done = 0;

  constructor(private readonly backend: AsyncBackend, private readonly rawGet: (id: object) => TensorData | undefined,
    private readonly rawDispose: (id: object, force?: boolean) => boolean) {}

  private addon(): OneDnnAddon { return oneDnn(); }

  /** The buffer's heap offset without waiting: queuing kernels (the queue runs in order). */
  offset(id: object): number {
    const d = this.rawGet(id);
    if (!d) throw new Error('tensor not on the wasm backend');
    return d.memoryOffset;
  }

  /** Waits for the job writing `id`, if one is still queued. */
  settleRead(id: object): void {
    const p = this.pending.get(id);
    if (p && p.writer > this.done) this.wait(p.writer);
  }

  /** Records a queued job's buffers (after it was queued: `job` is its id). */
  track(job: number, reads: readonly object[], writes: readonly object[]): void {
    for (const id of reads) this.touch(id, job, false);
    for (const id of writes) {
      this.touch(id, job, true);
      this.outputs.add(id);
    }
    this.poll();
  }

  private touch(id: object, job: number, writes: boolean): void {
    const p = this.pending.get(id) ?? { writer: 0, last: 0 };
    if (writes) p.writer = job;
    p.last = job;
    this.pending.set(id, p);
  }

  /**
   * Whether a job wrote (or still writes) `id`: a kernel consuming it is then queued behind that
   * job instead of waiting for it. Whether the job has finished yet does not matter, so what runs
   * where does not depend on timing.
   */
  jobOutput(id: object): boolean {
    return this.outputs.has(id);
  }

  wait(job: number): void {
    const b = this.backend;
    this.done = Math.max(this.done, this.addon().asyncWait(job, b.wasm.asm.memory.buffer as ArrayBuffer));
    this.flush();
  }

  /** Waits for every queued job and frees what was deferred. */
  waitAll(): void {
    let last = 0;
    for (const p of this.pending.values()) last = Math.max(last, p.last);
    if (last > this.done) this.wait(last);
    else this.flush();
  }

  private poll(): void {
    const done = this.addon().asyncDone();
    if (done > this.done || this.deferred.size > 0) {
      this.done = Math.max(this.done, done);
      this.flush();
    }
  }

  /** Forgets finished jobs' buffers and frees the deferred ones they held. */
  private flush(): void {
    for (const [id, p] of this.pending) if (p.last <= this.done) this.pending.delete(id);
    for (const [id, job] of this.deferred) {
      if (job > this.done) continue;
      this.deferred.delete(id);
      this.rawDispose.call(this.backend, id, true);
    }
  }

  /** The wrapped disposeData: the last reference to a buffer a job still uses is freed later. */
  dispose(id: object, force: boolean): boolean {
    const p = this.pending.get(id);
    if (p === undefined || p.last <= this.done) return this.rawDispose.call(this.backend, id, force);
    const d = this.rawGet(id);
    if (d === undefined) return true;  // not here (the engine checks before it frees)
    if (!force && d.refCount > 1) {
      d.refCount--;
      return false;
    }
    this.deferred.set(id, p.last);
    return true;
  }

  /** Buffers the engine thinks freed but the heap still holds (numDataIds leaves them out). */
  deferredCount(): number { return this.deferred.size; }
}

const trackers = new WeakMap<object, JobTracker>();

/** The tracker of a wasm backend instance, its methods wrapped on first use. */
export function jobsOf(backend: unknown): JobTracker {
  const b = backend as AsyncBackend;
  let t = trackers.get(b);
  if (t) return t;
  const map = b.dataIdMap;
  const rawGet = map.get.bind(map);
  const rawDispose = b.disposeData;
  const rawCount = b.numDataIds.bind(b);
  const tracker = new JobTracker(b, rawGet, rawDispose);
  map.get = (id: object) => {
    tracker.settleRead(id);
    return rawGet(id);
  };
  // Reference counting touches no data: no wait.
  b.incRef = (id: object) => {
    const d = rawGet(id);
    if (d) d.refCount++;
  };
  b.refCount = (id: object) => ((map as unknown as { has(id: object): boolean }).has(id) ? rawGet(id)!.refCount : 0);
  b.disposeData = (id: object, force = false) => tracker.dispose(id, force);
  b.numDataIds = () => rawCount() - tracker.deferredCount();
  trackers.set(b, tracker);
  t = tracker;
  return t;
}

/** Waits for every background job of the current backend (tests, benchmarks; a no-op without jobs). */
export function settleNativeJobs(backend: tf.KernelBackend): void {
  trackers.get(backend)?.waitAll();
}
