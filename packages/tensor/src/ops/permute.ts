import { backendOf } from '../device/backend-of';
import { ArgumentError } from '../errors/argument-error';
import { formatShape } from '../errors/heed-error';
import { expectNumbers, expectTensor } from '../expect-tensor';
import { normalizeAxis, stridesOf } from '../shape';
import { fromOp, type Tensor } from '../tensor';

/** Reorders axes: out.shape[i] = x.shape[axes[i]]. Copies into row-major order. */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  expectTensor('permute', 'x', x);
  expectNumbers('permute', 'axes', axes);
  const rank = x.rank;
  const order = axes.map((a) => normalizeAxis(a, rank, 'permute', x.shape, 'axes'));
  if (order.length !== rank || new Set(order).size !== rank) {
    throw new ArgumentError(`axes [${axes.join(', ')}] are not a permutation of the ${rank} axes of ${formatShape(x.shape)}`, {
      op: 'permute',
      argument: 'axes',
      shapes: { x: x.shape },
    });
  }
  const shape = order.map((a) => x.shape[a]!);
  const inStrides = stridesOf(x.shape);
  const strides = order.map((a) => inStrides[a]!); // input stride for each output axis
  const inverse = new Array<number>(rank);
  order.forEach((a, i) => (inverse[a] = i));
  const backend = backendOf('permute', ['x'], x);
  if (backend !== null) {
    return fromOp(backend.copy({ storage: x.storage!, offset: 0, strides }, shape), shape, 'permute', [x], (g) => [permute(g, inverse)]);
  }
  const out = new Float32Array(x.size);
  if (x.size > 0) {
    // Odometer over the output, innermost axis as a strided row.
    const n = shape[rank - 1] ?? 1;
    const s = strides[rank - 1] ?? 0;
    const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
    let src = 0;
    for (let o = 0; o < out.length; o += n) {
      for (let j = 0; j < n; j++) out[o + j] = x.data[src + j * s]!;
      for (let d = rank - 2; d >= 0; d--) {
        index[d]!++;
        src += strides[d]!;
        if (index[d]! < shape[d]!) break;
        src -= strides[d]! * index[d]!;
        index[d] = 0;
      }
    }
  }
  return fromOp(out, shape, 'permute', [x], (g) => [permute(g, inverse)]);
}

/** Swaps two axes (the last two by default): [.., m, n] -> [.., n, m]. */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  expectTensor('transpose', 'x', x);
  const a = normalizeAxis(axis0, x.rank, 'transpose', x.shape, 'axis0');
  const b = normalizeAxis(axis1, x.rank, 'transpose', x.shape, 'axis1');
  const order = Array.from({ length: x.rank }, (_, i) => i);
  order[a] = b;
  order[b] = a;
  return permute(x, order);
}
