// A small ZIP writer for tests: stored and deflated entries, optional ZIP64 records, and the
// lies a hostile archive tells (sizes, CRCs, methods), so the reader's limits can be tested.
import { crc32, deflateRawSync } from 'node:zlib';

export interface ZipInput {
  name: string;
  data?: Uint8Array | string;
  /** 0 stored, 8 deflate (default 8). */
  method?: 0 | 8;
  /** Raw entry data as written, instead of compressing `data` (for hand-made deflate streams). */
  raw?: Uint8Array;
  /** Method number recorded, instead of `method` (to record an unsupported one). */
  recordedMethod?: number;
  /** Uncompressed size recorded, instead of the real one. */
  declaredSize?: number;
  crc?: number;
  flags?: number;
}

export interface ZipOptions {
  /** Write ZIP64 extra fields for every entry and the ZIP64 end records. */
  zip64?: boolean;
  /** Bytes before the archive, its offsets not adjusted (as a launch script prepended to a jar). */
  prefix?: Uint8Array;
  comment?: string;
}

const encoder = new TextEncoder();

export function writeZip(inputs: ZipInput[], options: ZipOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const input of inputs) {
    const data =
      typeof input.data === 'string' ? encoder.encode(input.data) : (input.data ?? new Uint8Array(0));
    const method = input.method ?? 8;
    const body = input.raw ?? (method === 8 ? deflateRawSync(data) : data);
    const name = encoder.encode(input.name);
    const crc = input.crc ?? crc32(data);
    const size = input.declaredSize ?? data.length;
    const recordedMethod = input.recordedMethod ?? method;
    const flags = (input.flags ?? 0) | 0x800;
    const zip64 = options.zip64 === true;

    const localExtra = zip64 ? extra64([size, body.length]) : new Uint8Array(0);
    const local = new Bytes(30);
    local.u32(0x04034b50).u16(45).u16(flags).u16(recordedMethod).u16(0).u16(0x21).u32(crc);
    local.u32(zip64 ? 0xffffffff : body.length).u32(zip64 ? 0xffffffff : size);
    local.u16(name.length).u16(localExtra.length);
    parts.push(local.bytes, name, localExtra, body);

    const centralExtra = zip64 ? extra64([size, body.length, offset]) : new Uint8Array(0);
    const record = new Bytes(46);
    record.u32(0x02014b50).u16(0x031e).u16(45).u16(flags).u16(recordedMethod).u16(0).u16(0x21).u32(crc);
    record.u32(zip64 ? 0xffffffff : body.length).u32(zip64 ? 0xffffffff : size);
    record
      .u16(name.length)
      .u16(centralExtra.length)
      .u16(0)
      .u16(0)
      .u16(0)
      .u32(0o100644 << 16);
    record.u32(zip64 ? 0xffffffff : offset);
    central.push(record.bytes, name, centralExtra);
    offset += 30 + name.length + localExtra.length + body.length;
  }
  const directoryOffset = offset;
  const directorySize = central.reduce((n, part) => n + part.length, 0);
  parts.push(...central);
  if (options.zip64) {
    const end64 = new Bytes(56);
    end64.u32(0x06064b50).u64(44).u16(45).u16(45).u32(0).u32(0);
    end64.u64(inputs.length).u64(inputs.length).u64(directorySize).u64(directoryOffset);
    const locator = new Bytes(20);
    locator
      .u32(0x07064b50)
      .u32(0)
      .u64(directoryOffset + directorySize)
      .u32(1);
    parts.push(end64.bytes, locator.bytes);
  }
  const comment = encoder.encode(options.comment ?? '');
  const end = new Bytes(22);
  end.u32(0x06054b50).u16(0).u16(0);
  if (options.zip64) end.u16(0xffff).u16(0xffff).u32(0xffffffff).u32(0xffffffff);
  else end.u16(inputs.length).u16(inputs.length).u32(directorySize).u32(directoryOffset);
  end.u16(comment.length);
  parts.push(end.bytes, comment);
  return Buffer.concat(options.prefix ? [options.prefix, ...parts] : parts);
}

function extra64(values: number[]): Uint8Array {
  const field = new Bytes(4 + 8 * values.length);
  field.u16(0x0001).u16(8 * values.length);
  for (const value of values) field.u64(value);
  return field.bytes;
}

class Bytes {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  #at = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.#view = new DataView(this.bytes.buffer);
  }
  u16(value: number): this {
    this.#view.setUint16(this.#at, value, true);
    this.#at += 2;
    return this;
  }
  u32(value: number): this {
    this.#view.setUint32(this.#at, value, true);
    this.#at += 4;
    return this;
  }
  u64(value: number): this {
    this.#view.setBigUint64(this.#at, BigInt(value), true);
    this.#at += 8;
    return this;
  }
}
