import { backendOf } from '../device/backend-of';
import type { DeviceStorage, DeviceUnaryOp } from '../device/device-backend';
import { expectTensor } from '../expect-tensor';
import { UnaryOp } from '../kernels/elementwise';
import { getKernels } from '../kernels/registry';
import { fromOp, Tensor } from '../tensor';
import { div, mul, sub } from './binary';

// Elementwise unary ops; each gradient is written right below its forward.

const NAMES = ['x'] as const;

/** 1 where x > 0 ('step') or sign(x) ('sign'), as a tensor beside x: the derivative masks of relu and abs. */
function indicator(x: Tensor, kind: 'step' | 'sign'): Tensor {
  const backend = backendOf(kind === 'step' ? 'relu' : 'abs', NAMES, x);
  if (backend !== null) return new Tensor(backend.unary(kind, x.storage!), x.shape);
  const out = new Float32Array(x.size);
  const data = x.data;
  if (kind === 'step') for (let i = 0; i < out.length; i++) out[i] = data[i]! > 0 ? 1 : 0;
  else for (let i = 0; i < out.length; i++) out[i] = Math.sign(data[i]!);
  return new Tensor(out, x.shape);
}

const DEVICE_OPS: Record<UnaryOp, DeviceUnaryOp> = {
  [UnaryOp.Neg]: 'neg',
  [UnaryOp.Exp]: 'exp',
  [UnaryOp.Log]: 'log',
  [UnaryOp.Tanh]: 'tanh',
  [UnaryOp.Sigmoid]: 'sigmoid',
  [UnaryOp.Relu]: 'relu',
  [UnaryOp.Sqrt]: 'sqrt',
  [UnaryOp.Abs]: 'abs',
};

function apply(op: UnaryOp, x: Tensor): Float32Array | DeviceStorage {
  const backend = backendOf(DEVICE_OPS[op], NAMES, x);
  if (backend !== null) return backend.unary(DEVICE_OPS[op], x.storage!);
  const out = new Float32Array(x.size);
  getKernels().unary(op, x.data, out);
  return out;
}

/** −x */
export function neg(x: Tensor): Tensor {
  expectTensor('neg', 'x', x);
  return fromOp(apply(UnaryOp.Neg, x), x.shape, 'neg', [x], (g) => [mul(g, -1)]);
}

/** eˣ */
export function exp(x: Tensor): Tensor {
  expectTensor('exp', 'x', x);
  const y = apply(UnaryOp.Exp, x);
  return fromOp(y, x.shape, 'exp', [x], (g) => [mul(g, new Tensor(y, x.shape))]); // g eˣ
}

/** ln x */
export function log(x: Tensor): Tensor {
  expectTensor('log', 'x', x);
  return fromOp(apply(UnaryOp.Log, x), x.shape, 'log', [x], (g) => [div(g, x)]); // g / x
}

/** tanh x */
export function tanh(x: Tensor): Tensor {
  expectTensor('tanh', 'x', x);
  const y = apply(UnaryOp.Tanh, x);
  return fromOp(y, x.shape, 'tanh', [x], (g) => {
    const yt = new Tensor(y, x.shape);
    return [mul(g, sub(1, mul(yt, yt)))]; // g (1 − y²)
  });
}

/** σ(x) = 1 / (1 + e⁻ˣ) */
export function sigmoid(x: Tensor): Tensor {
  expectTensor('sigmoid', 'x', x);
  const y = apply(UnaryOp.Sigmoid, x);
  return fromOp(y, x.shape, 'sigmoid', [x], (g) => {
    const yt = new Tensor(y, x.shape);
    return [mul(g, mul(yt, sub(1, yt)))]; // g y (1 − y)
  });
}

/** max(x, 0) */
export function relu(x: Tensor): Tensor {
  expectTensor('relu', 'x', x);
  return fromOp(apply(UnaryOp.Relu, x), x.shape, 'relu', [x], (g) => [mul(g, indicator(x, 'step'))]); // g · [x > 0]
}

/** √x */
export function sqrt(x: Tensor): Tensor {
  expectTensor('sqrt', 'x', x);
  const y = apply(UnaryOp.Sqrt, x);
  return fromOp(y, x.shape, 'sqrt', [x], (g) => [div(mul(g, 0.5), new Tensor(y, x.shape))]); // g / (2√x)
}

/** |x| (gradient sign(x), 0 at 0) */
export function abs(x: Tensor): Tensor {
  expectTensor('abs', 'x', x);
  return fromOp(apply(UnaryOp.Abs, x), x.shape, 'abs', [x], (g) => [mul(g, indicator(x, 'sign'))]); // g · sign(x)
}
