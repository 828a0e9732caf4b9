import { backendOf } from '../device/backend-of';
import { ArgumentError } from '../errors/argument-error';
import { formatShape } from '../errors/heed-error';
import { ShapeError } from '../errors/shape-error';
import { describeValue, expectTensor } from '../expect-tensor';
import { normalizeAxis, sizeOf } from '../shape';
import { fromOp, type Tensor } from '../tensor';
import { slice } from './slice';

/** Joins tensors along `axis`; all other dimensions must agree: [.., n_i, ..] -> [.., Σ n_i, ..]. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors as unknown))
    throw new ArgumentError(`tensors must be an array of Tensors, got ${describeValue(tensors)}`, { op: 'concat', argument: 'tensors' });
  tensors.forEach((t, i) => expectTensor('concat', `tensors[${i}]`, t));
  const first = tensors[0];
  if (!first) throw new ArgumentError('needs at least one tensor', { op: 'concat', argument: 'tensors' });
  const ax = normalizeAxis(axis, first.rank, 'concat', first.shape);
  tensors.forEach((t, i) => {
    const fits = t.rank === first.rank && t.shape.every((d, j) => j === ax || d === first.shape[j]);
    if (!fits) {
      throw new ShapeError(
        `tensors[${i}] ${formatShape(t.shape)} does not match tensors[0] ${formatShape(first.shape)} outside axis ${ax}`,
        {
          op: 'concat',
          argument: `tensors[${i}]`,
          shapes: { 'tensors[0]': first.shape, [`tensors[${i}]`]: t.shape },
        },
      );
    }
  });
  const sizes = tensors.map((t) => t.shape[ax]!);
  const total = sizes.reduce((s, n) => s + n, 0);
  const shape = [...first.shape];
  shape[ax] = total;
  let outer = 1;
  for (let d = 0; d < ax; d++) outer *= shape[d]!;
  const inner = sizeOf(first.shape.slice(ax + 1));
  const backward = (g: Tensor) => {
    let start = 0;
    return sizes.map((n) => {
      const part = slice(g, ax, start, start + n);
      start += n;
      return part;
    });
  };
  const backend = backendOf(
    'concat',
    tensors.map((_, i) => `tensors[${i}]`),
    ...tensors,
  );
  if (backend !== null) {
    const storage = backend.fill(sizeOf(shape), 0);
    let at = 0;
    tensors.forEach((t, i) => {
      const chunk = sizes[i]! * inner;
      backend.writeBlocks(t.storage!, storage, outer, chunk, total * inner, at); // each row of t into its columns of out
      at += chunk;
    });
    return fromOp(storage, shape, 'concat', tensors, backward);
  }
  const out = new Float32Array(sizeOf(shape));
  let offset = 0;
  tensors.forEach((t, i) => {
    const chunk = sizes[i]! * inner;
    for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * chunk, (o + 1) * chunk), o * total * inner + offset);
    offset += chunk;
  });
  return fromOp(out, shape, 'concat', tensors, backward);
}
