import { backendOf } from '../device/backend-of';
import { formatShape } from '../errors/heed-error';
import { ShapeError } from '../errors/shape-error';
import { expectNumbers, expectTensor } from '../expect-tensor';
import { BinaryOp } from '../kernels/elementwise';
import { getKernels } from '../kernels/registry';
import { broadcastShapes, broadcastStrides, sameShape, sizeOf } from '../shape';
import { fromOp, type Tensor } from '../tensor';
import { sumToShape } from './sum-to-shape';

/** Repeats `x` along its size-1 (or missing leading) dimensions to `shape`: [..] -> shape. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  expectTensor('broadcastTo', 'x', x);
  expectNumbers('broadcastTo', 'shape', shape);
  if (sameShape(x.shape, shape)) return x;
  const target = broadcastShapes(x.shape, shape, 'broadcastTo', ['x', 'shape']);
  if (!sameShape(target, shape)) {
    throw new ShapeError(`x ${formatShape(x.shape)} does not broadcast to ${formatShape(shape)}`, {
      op: 'broadcastTo',
      argument: 'shape',
      shapes: { x: x.shape, shape },
    });
  }
  const backend = backendOf('broadcastTo', ['x'], x);
  if (backend !== null) {
    const storage = backend.copy({ storage: x.storage!, offset: 0, strides: broadcastStrides(x.shape, shape) }, shape);
    return fromOp(storage, shape, 'broadcastTo', [x], (g) => [sumToShape(g, x.shape)]);
  }
  const out = new Float32Array(sizeOf(shape));
  getKernels().binary(
    BinaryOp.Add,
    x.data,
    broadcastStrides(x.shape, shape),
    new Float32Array(1),
    shape.map(() => 0),
    shape,
    out,
  );
  return fromOp(out, shape, 'broadcastTo', [x], (g) => [sumToShape(g, x.shape)]);
}
