/**
 * Event messages (TensorBoard's file format) built and parsed with protobufjs from the descriptor
 * in descriptor.ts: scalars as Summary.Value.simple_value, histograms as HistogramProto, both of
 * which TensorBoard's data_compat layer turns into its scalar and histogram plugins' data.
 */
import protobuf from 'protobufjs';
import { EVENT_DESCRIPTOR } from './descriptor.ts';

const root = protobuf.Root.fromJSON(EVENT_DESCRIPTOR);
const EventType = root.lookupType('tensorboard.Event');

/** The version string every TensorFlow event file starts with (the first record). */
export const FILE_VERSION = 'brain.Event:2';

/** HistogramProto: `bucket[i]` counts values in (bucket_limit[i-1], bucket_limit[i]]. */
export interface Histogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sum_squares: number;
  bucket_limit: number[];
  bucket: number[];
}

/** What a decoded event holds, in the shape tests and the resume pruning need. */
export interface DecodedEvent {
  wall_time: number;
  step: number;
  file_version?: string;
  scalars: Record<string, number>;
  histograms: Record<string, Histogram>;
}

function encode(message: Record<string, unknown>): Uint8Array {
  return EventType.encode(EventType.fromObject(message)).finish();
}

export function fileVersionEvent(wallTime: number): Uint8Array {
  return encode({ wall_time: wallTime, step: 0, file_version: FILE_VERSION });
}

/** One event carrying every scalar of a step (TensorBoard splits them by tag). */
export function scalarsEvent(step: number, wallTime: number, scalars: Record<string, number>): Uint8Array {
  const value = Object.entries(scalars).map(([tag, v]) => ({ tag, simple_value: v }));
  return encode({ wall_time: wallTime, step, summary: { value } });
}

export function histogramsEvent(step: number, wallTime: number, histograms: Record<string, Histogram>): Uint8Array {
  const value = Object.entries(histograms).map(([tag, histo]) => ({ tag, histo }));
  return encode({ wall_time: wallTime, step, summary: { value } });
}

export function decodeEvent(bytes: Uint8Array): DecodedEvent {
  const obj = EventType.toObject(EventType.decode(bytes), { longs: Number, defaults: false, arrays: true }) as {
    wall_time?: number; step?: number; file_version?: string;
    summary?: { value?: Array<{ tag?: string; simple_value?: number; histo?: Partial<Histogram> }> };
  };
  const event: DecodedEvent = { wall_time: obj.wall_time ?? 0, step: obj.step ?? 0, scalars: {}, histograms: {} };
  if (obj.file_version !== undefined) event.file_version = obj.file_version;
  for (const v of obj.summary?.value ?? []) {
    if (v.simple_value !== undefined) event.scalars[v.tag ?? ''] = v.simple_value;
    if (v.histo !== undefined) {
      const h = v.histo;
      event.histograms[v.tag ?? ''] = {
        min: h.min ?? 0, max: h.max ?? 0, num: h.num ?? 0, sum: h.sum ?? 0, sum_squares: h.sum_squares ?? 0,
        bucket_limit: h.bucket_limit ?? [], bucket: h.bucket ?? [],
      };
    }
  }
  return event;
}

/** Default bucket count, as tf.summary.histogram's (TensorBoard re-bins for display anyway). */
export const HISTOGRAM_BUCKETS = 30;

/**
 * HistogramProto of `values`: equal-width buckets over [min, max], the last limit being max (as
 * TensorBoard's data_compat takes the last bucket's right edge from `max`). All-equal values
 * give one bucket.
 */
export function histogramOf(values: ArrayLike<number>, buckets = HISTOGRAM_BUCKETS): Histogram {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSquares += v * v;
  }
  if (values.length === 0) return { min: 0, max: 0, num: 0, sum: 0, sum_squares: 0, bucket_limit: [], bucket: [] };
  const n = max > min ? buckets : 1;
  const width = (max - min) / n;
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < values.length; i++) {
    // (lo, hi] buckets: a value on an edge belongs to the bucket below it; min goes to the first.
    const k = width === 0 ? 0 : Math.ceil((values[i]! - min) / width) - 1;
    counts[Math.min(n - 1, Math.max(0, k))]!++;
  }
  const limits = counts.map((_, k) => (k === n - 1 ? max : min + (k + 1) * width));
  return { min, max, num: values.length, sum, sum_squares: sumSquares, bucket_limit: limits, bucket: counts };
}
