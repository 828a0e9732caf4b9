import { backendOf, storageOn } from '../device/backend-of';
import type { DeviceBinaryOp } from '../device/device-backend';
import { expectTensorLike } from '../expect-tensor';
import { BinaryOp } from '../kernels/elementwise';
import { getKernels } from '../kernels/registry';
import type { DeviceStorage } from '../device/device-backend';
import { broadcastShapes, broadcastStrides, sizeOf } from '../shape';
import { fromOp, Tensor, type TensorLike } from '../tensor';
import { sumToShape } from './sum-to-shape';
import { toTensor } from './to-tensor';
import { log } from './unary';

// Elementwise binary ops with NumPy broadcasting: out shape = broadcast(a.shape, b.shape).
// Backward functions run with gradients off, so they are written with the public ops.

const DEVICE_OPS: Record<BinaryOp, DeviceBinaryOp> = {
  [BinaryOp.Add]: 'add',
  [BinaryOp.Sub]: 'sub',
  [BinaryOp.Mul]: 'mul',
  [BinaryOp.Div]: 'div',
  [BinaryOp.Pow]: 'pow',
  [BinaryOp.Maximum]: 'maximum',
};

const NAMES = ['a', 'b'] as const;

function compute(op: BinaryOp, a: Tensor, b: Tensor, outShape: readonly number[], name: string): Float32Array | DeviceStorage {
  const backend = backendOf(name, NAMES, a, b);
  if (backend !== null) {
    const operand = (t: Tensor) => ({ storage: storageOn(backend, t), offset: 0, strides: broadcastStrides(t.shape, outShape) });
    return backend.binary(DEVICE_OPS[op], operand(a), operand(b), outShape);
  }
  const out = new Float32Array(sizeOf(outShape));
  getKernels().binary(op, a.data, broadcastStrides(a.shape, outShape), b.data, broadcastStrides(b.shape, outShape), outShape, out);
  return out;
}

/** a + b, broadcasting. */
export function add(aIn: TensorLike, bIn: TensorLike): Tensor {
  const a = expectTensorLike('add', 'a', aIn);
  const b = expectTensorLike('add', 'b', bIn);
  const shape = broadcastShapes(a.shape, b.shape, 'add');
  return fromOp(compute(BinaryOp.Add, a, b, shape, 'add'), shape, 'add', [a, b], (g) => [
    a.requiresGrad ? sumToShape(g, a.shape) : null,
    b.requiresGrad ? sumToShape(g, b.shape) : null,
  ]);
}

/** a − b, broadcasting. */
export function sub(aIn: TensorLike, bIn: TensorLike): Tensor {
  const a = expectTensorLike('sub', 'a', aIn);
  const b = expectTensorLike('sub', 'b', bIn);
  const shape = broadcastShapes(a.shape, b.shape, 'sub');
  return fromOp(compute(BinaryOp.Sub, a, b, shape, 'sub'), shape, 'sub', [a, b], (g) => [
    a.requiresGrad ? sumToShape(g, a.shape) : null,
    b.requiresGrad ? sumToShape(mul(g, -1), b.shape) : null,
  ]);
}

/** a ⊙ b (elementwise product), broadcasting. */
export function mul(aIn: TensorLike, bIn: TensorLike): Tensor {
  const a = expectTensorLike('mul', 'a', aIn);
  const b = expectTensorLike('mul', 'b', bIn);
  const shape = broadcastShapes(a.shape, b.shape, 'mul');
  return fromOp(compute(BinaryOp.Mul, a, b, shape, 'mul'), shape, 'mul', [a, b], (g) => [
    a.requiresGrad ? sumToShape(mul(g, b), a.shape) : null, // dL/da = g b
    b.requiresGrad ? sumToShape(mul(g, a), b.shape) : null, // dL/db = g a
  ]);
}

/** a / b, broadcasting. */
export function div(aIn: TensorLike, bIn: TensorLike): Tensor {
  const a = expectTensorLike('div', 'a', aIn);
  const b = expectTensorLike('div', 'b', bIn);
  const shape = broadcastShapes(a.shape, b.shape, 'div');
  return fromOp(compute(BinaryOp.Div, a, b, shape, 'div'), shape, 'div', [a, b], (g) => {
    const gOverB = div(g, b);
    return [
      a.requiresGrad ? sumToShape(gOverB, a.shape) : null, // dL/da = g / b
      b.requiresGrad ? sumToShape(mul(div(mul(gOverB, a), b), -1), b.shape) : null, // dL/db = −g a / b²
    ];
  });
}

/** a ** b, broadcasting (b may be a number). */
export function pow(aIn: TensorLike, bIn: TensorLike): Tensor {
  const a = expectTensorLike('pow', 'a', aIn);
  const b = expectTensorLike('pow', 'b', bIn);
  const shape = broadcastShapes(a.shape, b.shape, 'pow');
  const out = compute(BinaryOp.Pow, a, b, shape, 'pow');
  return fromOp(out, shape, 'pow', [a, b], (g) => [
    a.requiresGrad ? sumToShape(mul(mul(g, b), pow(a, sub(b, 1))), a.shape) : null, // dL/da = g b a^(b−1)
    b.requiresGrad ? sumToShape(mul(mul(g, new Tensor(out, shape)), log(a)), b.shape) : null, // dL/db = g a^b ln a
  ]);
}

/** max(a, b) elementwise, broadcasting; the gradient goes to `a` where a ≥ b, else to `b`. */
export function maximum(aIn: TensorLike, bIn: TensorLike): Tensor {
  const a = expectTensorLike('maximum', 'a', aIn);
  const b = expectTensorLike('maximum', 'b', bIn);
  const shape = broadcastShapes(a.shape, b.shape, 'maximum');
  const out = compute(BinaryOp.Maximum, a, b, shape, 'maximum');
  return fromOp(out, shape, 'maximum', [a, b], (g) => {
    // a won where its broadcast value equals the maximum (ties go to a).
    const maskA = out instanceof Float32Array ? new Tensor(equalMask(a, out, shape), shape) : deviceEqual(a, new Tensor(out, shape));
    return [a.requiresGrad ? sumToShape(mul(g, maskA), a.shape) : null, b.requiresGrad ? sumToShape(mul(g, sub(1, maskA)), b.shape) : null];
  });
}

/** 1 where a (broadcast to `shape`) equals out, else 0. */
function equalMask(a: Tensor, out: Float32Array, shape: readonly number[]): Float32Array {
  const aBroadcast = compute(BinaryOp.Add, a, toTensor(0), shape, 'maximum') as Float32Array;
  const mask = new Float32Array(out.length);
  for (let i = 0; i < out.length; i++) mask[i] = aBroadcast[i] === out[i] ? 1 : 0;
  return mask;
}

/** `equalMask` on the device of `out`: [..] -> out.shape. */
function deviceEqual(a: Tensor, out: Tensor): Tensor {
  const backend = backendOf('maximum', NAMES, a, out)!;
  const operand = (t: Tensor) => ({ storage: storageOn(backend, t), offset: 0, strides: broadcastStrides(t.shape, out.shape) });
  return new Tensor(backend.binary('equal', operand(a), operand(out), out.shape), out.shape);
}
