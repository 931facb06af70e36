/**
 * An independent reader of TensorBoard event files for the tests: TFRecord framing with a bitwise
 * CRC-32C written here (not @aws-crypto/crc32c), and the protobuf wire format decoded by hand
 * (not protobufjs), with the field numbers of tensorflow's event.proto and summary.proto.
 */
import { readFileSync } from 'node:fs';

/** Bitwise CRC-32C (Castagnoli, reflected polynomial 0x82F63B78). */
export function crc32cBitwise(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function masked(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** Records of a file; throws on any checksum mismatch or trailing bytes. */
export function readTfRecords(path: string): Buffer[] {
  const buf = readFileSync(path);
  const out: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 12 > buf.length) throw new Error(`${path}: torn header at ${at}`);
    const lengthBytes = buf.subarray(at, at + 8);
    if (buf.readUInt32LE(at + 8) !== masked(crc32cBitwise(lengthBytes))) throw new Error(`${path}: bad length crc at ${at}`);
    const n = Number(buf.readBigUInt64LE(at));
    const data = buf.subarray(at + 12, at + 12 + n);
    if (data.length !== n || at + 16 + n > buf.length) throw new Error(`${path}: torn record at ${at}`);
    if (buf.readUInt32LE(at + 12 + n) !== masked(crc32cBitwise(data))) throw new Error(`${path}: bad data crc at ${at}`);
    out.push(data);
    at += 16 + n;
  }
  return out;
}

type Field = { no: number; wire: number; value: bigint | Buffer };

function varint(buf: Buffer, at: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[at++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, at];
    shift += 7n;
  }
}

/** The fields of one message, in order. Wire types: 0 varint, 1 fixed64, 2 bytes, 5 fixed32. */
export function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const [key, next] = varint(buf, at);
    at = next;
    const no = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) { const [v, n] = varint(buf, at); at = n; out.push({ no, wire, value: v }); }
    else if (wire === 1) { out.push({ no, wire, value: buf.subarray(at, at + 8) }); at += 8; }
    else if (wire === 5) { out.push({ no, wire, value: buf.subarray(at, at + 4) }); at += 4; }
    else if (wire === 2) { const [len, n] = varint(buf, at); at = n + Number(len); out.push({ no, wire, value: buf.subarray(n, at) }); }
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

export interface WireHistogram { min: number; max: number; num: number; sum: number; sumSquares: number; limits: number[]; counts: number[] }
export interface WireEvent { wallTime: number; step: number; fileVersion?: string; scalars: Map<string, number>; histograms: Map<string, WireHistogram> }

const doubles = (b: Buffer) => Array.from({ length: b.length / 8 }, (_, i) => b.readDoubleLE(8 * i));

function histogram(buf: Buffer): WireHistogram {
  const h: WireHistogram = { min: 0, max: 0, num: 0, sum: 0, sumSquares: 0, limits: [], counts: [] };
  for (const f of fields(buf)) {
    const b = f.value as Buffer;
    if (f.no === 1) h.min = b.readDoubleLE(0);
    if (f.no === 2) h.max = b.readDoubleLE(0);
    if (f.no === 3) h.num = b.readDoubleLE(0);
    if (f.no === 4) h.sum = b.readDoubleLE(0);
    if (f.no === 5) h.sumSquares = b.readDoubleLE(0);
    if (f.no === 6) h.limits.push(...doubles(b));
    if (f.no === 7) h.counts.push(...doubles(b));
  }
  return h;
}

/** Event: 1 wall_time double, 2 step int64, 3 file_version, 5 Summary{1 Value{1 tag, 2 float, 5 histo}}. */
export function decodeWireEvent(buf: Buffer): WireEvent {
  const e: WireEvent = { wallTime: 0, step: 0, scalars: new Map(), histograms: new Map() };
  for (const f of fields(buf)) {
    if (f.no === 1) e.wallTime = (f.value as Buffer).readDoubleLE(0);
    else if (f.no === 2) e.step = Number(f.value as bigint);
    else if (f.no === 3) e.fileVersion = (f.value as Buffer).toString('utf8');
    else if (f.no === 5) {
      for (const v of fields(f.value as Buffer).filter((x) => x.no === 1)) {
        const vf = fields(v.value as Buffer);
        const tag = (vf.find((x) => x.no === 1)?.value as Buffer | undefined)?.toString('utf8') ?? '';
        const simple = vf.find((x) => x.no === 2);
        if (simple) e.scalars.set(tag, (simple.value as Buffer).readFloatLE(0));
        const histo = vf.find((x) => x.no === 5);
        if (histo) e.histograms.set(tag, histogram(histo.value as Buffer));
      }
    }
  }
  return e;
}
