import { describe, expect, it } from 'vitest';
import { bytesField, concatBytes, floatField, intField, stringField, varint } from './protobuf-writer';

const bytes = (u8: Uint8Array): number[] => [...u8];

// Expected bytes are from the protobuf encoding guide (https://protobuf.dev/programming-guides/encoding/).
describe('protobuf wire format', () => {
  it('encodes varints, including negative int64 as ten bytes', () => {
    expect(bytes(varint(0))).toEqual([0]);
    expect(bytes(varint(1))).toEqual([1]);
    expect(bytes(varint(127))).toEqual([0x7f]);
    expect(bytes(varint(128))).toEqual([0x80, 0x01]);
    expect(bytes(varint(300))).toEqual([0xac, 0x02]);
    expect(bytes(varint(-1))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(bytes(varint(2n ** 63n - 1n))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
  });

  it('encodes fields with their keys', () => {
    expect(bytes(intField(1, 150))).toEqual([0x08, 0x96, 0x01]);
    expect(bytes(bytesField(2, Uint8Array.of(1, 2)))).toEqual([0x12, 2, 1, 2]);
    expect(bytes(stringField(2, 'testing'))).toEqual([0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67]);
    expect(bytes(floatField(2, 1))).toEqual([0x15, 0, 0, 0x80, 0x3f]);
    expect(bytes(intField(20, 7))).toEqual([0xa0, 0x01, 0x07]);
  });

  it('concatenates parts in order', () => {
    expect(bytes(concatBytes([Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)]))).toEqual([1, 2, 3]);
  });
});
