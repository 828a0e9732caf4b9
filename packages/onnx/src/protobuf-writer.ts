// The protobuf wire format, as far as ONNX needs it: varints (wire type 0), length-delimited fields
// (wire type 2: bytes, strings, embedded messages) and fixed32 floats (wire type 5).
// https://protobuf.dev/programming-guides/encoding/

const textEncoder = new TextEncoder();

/** The base-128 varint of an int32/int64/enum/bool; a negative value is its 64-bit two's complement (ten bytes), as protobuf writes int64. */
export function varint(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0n);
  return Uint8Array.from(bytes);
}

/** The parts one after the other. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const fieldKey = (field: number, wireType: number): Uint8Array => varint((field << 3) | wireType);

/** Wire type 0: an int32/int64/enum/bool field. */
export function intField(field: number, value: number | bigint): Uint8Array {
  return concatBytes([fieldKey(field, 0), varint(value)]);
}

/** Wire type 2: a bytes field, or an embedded message's bytes. */
export function bytesField(field: number, bytes: Uint8Array): Uint8Array {
  return concatBytes([fieldKey(field, 2), varint(bytes.length), bytes]);
}

/** Wire type 2: a string field (UTF-8). */
export function stringField(field: number, text: string): Uint8Array {
  return bytesField(field, textEncoder.encode(text));
}

/** Wire type 5: a float field (IEEE 754 single, little-endian). */
export function floatField(field: number, value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setFloat32(0, value, true);
  return concatBytes([fieldKey(field, 5), bytes]);
}
