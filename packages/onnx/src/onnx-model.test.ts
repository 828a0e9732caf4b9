import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { encodeAttribute, encodeModel, encodeValueInfo, irVersionFor } from './onnx-model';

const bytes = (u8: Uint8Array): number[] => [...u8];

describe('ONNX messages', () => {
  it('writes a named dynamic dimension as dim_param and a size as dim_value', () => {
    // ValueInfoProto { name: "x" (0a 01 78), type (12 ..) { tensor_type (0a ..) { elem_type 1 (08 01), shape (12 ..) { dim { dim_param "b" }, dim { dim_value 3 } } } } }
    expect(bytes(encodeValueInfo({ name: 'x', type: 'float', shape: ['b', 3] }))).toEqual([
      0x0a, 0x01, 0x78, 0x12, 0x0f, 0x0a, 0x0d, 0x08, 0x01, 0x12, 0x09, 0x0a, 0x03, 0x12, 0x01, 0x62, 0x0a, 0x02, 0x08, 0x03,
    ]);
  });

  it('types attributes: INT, FLOAT (also for an integer named as float), INTS, STRING', () => {
    expect(bytes(encodeAttribute('a', 2))).toEqual([0x0a, 0x01, 0x61, 0x18, 0x02, 0xa0, 0x01, 0x02]);
    expect(bytes(encodeAttribute('a', 1, true))).toEqual([0x0a, 0x01, 0x61, 0x15, 0, 0, 0x80, 0x3f, 0xa0, 0x01, 0x01]);
    expect(bytes(encodeAttribute('a', [1, -1]))).toEqual([
      0x0a,
      0x01,
      0x61,
      0x40,
      0x01,
      0x40,
      ...Array(9).fill(0xff),
      0x01,
      0xa0,
      0x01,
      0x07,
    ]);
    expect(bytes(encodeAttribute('a', 'z'))).toEqual([0x0a, 0x01, 0x61, 0x22, 0x01, 0x7a, 0xa0, 0x01, 0x03]);
  });

  it('follows the IR versions of the opsets', () => {
    expect([17, 18, 21, 23, 24].map(irVersionFor)).toEqual([8, 9, 10, 11, 12]);
  });

  it('a model with dynamic axes, an int64 initializer and attributes runs in onnxruntime-node', async () => {
    const model = encodeModel({
      opsetImports: [{ domain: '', version: 23 }],
      graph: {
        name: 'g',
        nodes: [
          { opType: 'Add', inputs: ['x', 'bias'], outputs: ['sum'] },
          { opType: 'ReduceSum', inputs: ['sum', 'axes'], outputs: ['y'], attributes: { keepdims: 0 } },
        ],
        initializers: [
          { name: 'bias', type: 'float', dims: [3], data: Float32Array.of(1, 2, 3) },
          { name: 'axes', type: 'int64', dims: [1], data: [-1] },
        ],
        inputs: [{ name: 'x', type: 'float', shape: ['batch', 3] }],
        outputs: [{ name: 'y', type: 'float', shape: ['batch'] }],
      },
    });
    const session = await ort.InferenceSession.create(model);
    expect(session.inputMetadata[0]).toMatchObject({ name: 'x', isTensor: true, shape: ['batch', 3] });
    for (const rows of [1, 2]) {
      const x = new ort.Tensor(
        'float32',
        Float32Array.from({ length: rows * 3 }, (_, i) => i),
        [rows, 3],
      );
      const { y } = await session.run({ x });
      expect([...(y!.data as Float32Array)]).toEqual(rows === 1 ? [0 + 1 + 1 + 2 + 2 + 3] : [9, 18]);
    }
    await session.release();
  });
});
