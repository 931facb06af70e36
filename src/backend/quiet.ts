import tf from '../tf.cjs';

/**
 * The cpu backend prints a multi-line "looks like you are running TensorFlow.js in Node.js"
 * advertisement through console.warn on its first tensor write, whenever IS_NODE is set. The only
 * switches tfjs offers (PROD / IS_TEST flags) would also mute every other warning, so instead:
 * the cpu backend instance is told it already warned (`firstUse`), and console.warn drops that one
 * message in case the backend instance is created somewhere we do not see (e.g. a tensor made at
 * import time by another module, before selectBackend runs).
 */
const BANNER = 'looks like you are running TensorFlow.js in Node.js';
/** Printed by tfjs-core when tfjs-node sets its platform after tfjs already set one. */
const PLATFORM_NOTICE = 'Platform node has already been set';

let filterInstalled = false;

export function installBannerFilter(): void {
  if (filterInstalled) return;
  filterInstalled = true;
  const original = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    const first = args[0];
    if (typeof first === 'string' && (first.includes(BANNER) || first.includes(PLATFORM_NOTICE))) return;
    original(...args);
  };
}

/** Marks the cpu backend as past its first write, so it never builds the banner at all. */
export function muteCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

/**
 * Runs `fn` with console.log/info/warn silenced: importing a native tfjs package logs platform
 * notices and TensorFlow start-up chatter. Errors still propagate.
 */
export async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, info: console.info, warn: console.warn };
  const noop = (): void => {};
  console.log = noop;
  console.info = noop;
  console.warn = noop;
  try {
    return await fn();
  } finally {
    console.log = saved.log;
    console.info = saved.info;
    console.warn = saved.warn;
  }
}
