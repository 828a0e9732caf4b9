import { formatShape } from '../errors/heed-error';
import { ShapeError } from '../errors/shape-error';
import { expectNumbers, expectTensor } from '../expect-tensor';
import { assertValidShape, normalizeAxis, sizeOf } from '../shape';
import { fromOp, type Tensor } from '../tensor';

/** Same data, new shape (one dimension may be −1 and is inferred): [..] -> shape. Shares the buffer. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  expectTensor('reshape', 'x', x);
  expectNumbers('reshape', 'shape', shape);
  const resolved = [...shape];
  const inferAt = resolved.indexOf(-1);
  if (inferAt !== -1) {
    resolved[inferAt] = 1;
    const known = sizeOf(resolved);
    if (known === 0 || x.size % known !== 0 || resolved.indexOf(-1) !== -1) {
      throw new ShapeError(`cannot infer the −1 dimension of ${formatShape(shape)} from ${formatShape(x.shape)} (${x.size} elements)`, {
        op: 'reshape',
        argument: 'shape',
        shapes: { x: x.shape, shape },
      });
    }
    resolved[inferAt] = x.size / known;
  }
  assertValidShape(resolved, 'reshape');
  if (sizeOf(resolved) !== x.size) {
    throw new ShapeError(
      `cannot reshape ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(shape)} (${sizeOf(resolved)} elements)`,
      {
        op: 'reshape',
        argument: 'shape',
        shapes: { x: x.shape, shape },
      },
    );
  }
  return fromOp(x.storage ?? x.data, resolved, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

/** Inserts a size-1 axis at `axis`: [..] -> [.., 1, ..]. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  expectTensor('unsqueeze', 'x', x);
  const at = normalizeAxis(axis, x.rank + 1, 'unsqueeze', x.shape);
  const shape = [...x.shape];
  shape.splice(at, 0, 1);
  return reshape(x, shape);
}

/** Removes size-1 axes (all of them, or the one given). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  expectTensor('squeeze', 'x', x);
  if (axis === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const at = normalizeAxis(axis, x.rank, 'squeeze', x.shape);
  if (x.shape[at] !== 1) {
    throw new ShapeError(`axis ${axis} of ${formatShape(x.shape)} has size ${x.shape[at]}, not 1`, {
      op: 'squeeze',
      argument: 'axis',
      shapes: { x: x.shape },
    });
  }
  const shape = [...x.shape];
  shape.splice(at, 1);
  return reshape(x, shape);
}
