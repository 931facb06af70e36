/** Runs `work` with a signal that aborts on any of `events` of the process; the listeners go afterwards. */
export async function untilStopped(events: readonly string[], work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  for (const e of events) process.on(e, onSignal);
  try {
    await work(stop.signal);
  } finally {
    for (const e of events) process.off(e, onSignal);
  }
}
