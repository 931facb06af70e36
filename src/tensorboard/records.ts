/**
 * TFRecord framing, the container of TensorBoard event files (tensorflow/core/lib/io/record_writer.cc):
 *   uint64 length (little-endian) | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
 * masked(c) = ((c >>> 15) | (c << 17)) + 0xa282ead8 (mod 2^32): TensorFlow masks stored CRCs so
 * that a CRC of data that itself contains CRCs stays well distributed. CRC-32C (Castagnoli) comes
 * from @aws-crypto/crc32c.
 */
import { crc32c } from '@aws-crypto/crc32c';

const MASK_DELTA = 0xa282ead8;
const HEADER_BYTES = 12;
const FOOTER_BYTES = 4;

/** TensorFlow's masked CRC-32C of `data`, as stored in a record. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** One record around `data`. */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + data.length + FOOTER_BYTES);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, HEADER_BYTES);
  out.writeUInt32LE(maskedCrc32c(data), HEADER_BYTES + data.length);
  return out;
}

export interface ReadRecords {
  records: Buffer[];
  /** Bytes of `buf` covered by whole, valid records; less than its length after a torn or corrupt record. */
  validBytes: number;
}

/**
 * Splits `buf` into records, checking both CRCs of each. Stops at the first short or corrupt
 * record: a writer killed mid-append leaves a torn last record, and nothing after it is trusted.
 */
export function readRecords(buf: Buffer): ReadRecords {
  const records: Buffer[] = [];
  let offset = 0;
  while (offset + HEADER_BYTES <= buf.length) {
    if (buf.readUInt32LE(offset + 8) !== maskedCrc32c(buf.subarray(offset, offset + 8))) break;
    const length = Number(buf.readBigUInt64LE(offset));
    const end = offset + HEADER_BYTES + length;
    if (end + FOOTER_BYTES > buf.length) break;
    const data = buf.subarray(offset + HEADER_BYTES, end);
    if (buf.readUInt32LE(end) !== maskedCrc32c(data)) break;
    records.push(data);
    offset = end + FOOTER_BYTES;
  }
  return { records, validBytes: offset };
}
