import { backendOf, storageOn } from '../device/backend-of';
import type { DeviceStorage } from '../device/device-backend';
import { ArgumentError } from '../errors/argument-error';
import { describeValue, expectTensor, expectTensorLike } from '../expect-tensor';
import { noGrad } from '../grad-mode';
import { broadcastShapes, broadcastStrides } from '../shape';
import { fromOp, Tensor, type TensorLike } from '../tensor';
import { mul, sub } from './binary';
import { broadcastTo } from './broadcast-to';
import { sumToShape } from './sum-to-shape';

/** Picks `a` where `condition` is non-zero, else `b`; all three broadcast together. */
export function where(condition: Tensor, aIn: TensorLike, bIn: TensorLike): Tensor {
  expectTensor('where', 'condition', condition);
  const a = expectTensorLike('where', 'a', aIn);
  const b = expectTensorLike('where', 'b', bIn);
  const shape = broadcastShapes(broadcastShapes(condition.shape, a.shape, 'where', ['condition', 'a']), b.shape, 'where', [
    'condition and a',
    'b',
  ]);
  const backend =
    backendOf('where', ['a', 'b'], a, b) ??
    (condition.storage === null ? null : backendOf('where', ['condition', 'a', 'b'], condition, a, b));
  if (backend !== null) {
    // On a device: the condition may be host data (masks are built on the CPU), uploaded for the call.
    const at = (storage: DeviceStorage, t: Tensor) => ({ storage, offset: 0, strides: broadcastStrides(t.shape, shape) });
    const c = at(condition.storage ?? backend.upload(condition.data), condition);
    const out = backend.where(c, at(storageOn(backend, a), a), at(storageOn(backend, b), b), shape);
    return fromOp(out, shape, 'where', [a, b], (g) => {
      const scalar = (value: number) => ({
        storage: storageOn(backend, new Tensor(new Float32Array([value]), [])),
        offset: 0,
        strides: shape.map(() => 0),
      });
      const k = new Tensor(backend.where(c, scalar(1), scalar(0), shape), shape); // 1 where a was taken
      return [a.requiresGrad ? sumToShape(mul(g, k), a.shape) : null, b.requiresGrad ? sumToShape(mul(g, sub(1, k)), b.shape) : null];
    });
  }
  const [c, aFull, bFull] = noGrad(() => [broadcastTo(condition, shape).data, broadcastTo(a, shape).data, broadcastTo(b, shape).data]);
  const out = new Float32Array(c.length);
  const keep = new Float32Array(c.length);
  for (let i = 0; i < out.length; i++) {
    const take = c[i] !== 0;
    keep[i] = take ? 1 : 0;
    out[i] = take ? aFull[i]! : bFull[i]!;
  }
  return fromOp(out, shape, 'where', [a, b], (g) => {
    const k = new Tensor(keep, shape);
    return [a.requiresGrad ? sumToShape(mul(g, k), a.shape) : null, b.requiresGrad ? sumToShape(mul(g, sub(1, k)), b.shape) : null];
  });
}

/** `x` with `value` written where `mask` is non-zero (mask broadcasts to x). No gradient reaches filled entries. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  expectTensor('maskedFill', 'x', x);
  expectTensor('maskedFill', 'mask', mask);
  if (typeof value !== 'number')
    throw new ArgumentError(`value must be a number, got ${describeValue(value)}`, {
      op: 'maskedFill',
      argument: 'value',
      shapes: { x: x.shape },
    });
  return where(mask, value, x);
}
