/**
 * Prefetching for data loaders: work for the next items starts before the consumer asks for them,
 * so image decoding (sharp, in libuv's thread pool) overlaps the training step instead of sitting
 * on its critical path.
 *
 * Results always come out in input order. An error surfaces when the consumer reaches the item that
 * failed (never as an unhandled rejection), and stopping early (`break`) drops the work in flight.
 */

/**
 * Maps `items` through async `fn`, keeping up to `depth` calls running ahead of the consumer.
 * `depth` 0 means no prefetch (each call starts when its result is requested).
 */
export async function* mapAhead<T, R>(items: Iterable<T>, fn: (item: T, index: number) => Promise<R>, depth = 2): AsyncGenerator<R> {
  if (!Number.isInteger(depth) || depth < 0) throw new RangeError(`prefetch depth must be an integer >= 0, got ${depth}`);
  const source = items[Symbol.iterator]();
  const pending: Array<Promise<R>> = [];
  let index = 0;
  let done = false;
  const fill = (want: number) => {
    while (!done && pending.length < want) {
      const next = source.next();
      if (next.done) { done = true; break; }
      const at = index++;
      const p = Promise.resolve().then(() => fn(next.value, at));
      p.catch(() => {}); // observed later, in order; never reported as unhandled meanwhile
      pending.push(p);
    }
  };
  try {
    for (;;) {
      // The head plus `depth` more are running while the consumer works on the previous item.
      fill(depth + 1);
      const head = pending.shift();
      if (!head) return;
      yield await head;
    }
  } finally {
    pending.length = 0;
    source.return?.();
  }
}

/**
 * Pulls up to `depth` items of an async iterable ahead of the consumer. Use when the producer is
 * already an async generator (its steps run one at a time, but they overlap the consumer's work).
 */
export async function* prefetch<T>(source: AsyncIterable<T>, depth = 2): AsyncGenerator<T> {
  if (!Number.isInteger(depth) || depth < 0) throw new RangeError(`prefetch depth must be an integer >= 0, got ${depth}`);
  const it = source[Symbol.asyncIterator]();
  const pending: Array<Promise<IteratorResult<T>>> = [];
  let ended = false;
  const fill = () => {
    while (!ended && pending.length < depth + 1) {
      const p = it.next();
      p.catch(() => {});
      pending.push(p);
      // An async generator queues next() calls, so asking again before this settles is safe.
      p.then((r) => { if (r.done) ended = true; }, () => { ended = true; });
    }
  };
  try {
    for (;;) {
      fill();
      const r = await pending.shift()!;
      if (r.done) return;
      yield r.value;
    }
  } finally {
    pending.length = 0;
    await it.return?.();
  }
}
