import { formatShape } from '../errors/heed-error';
import { ShapeError } from '../errors/shape-error';
import type { Tensor } from '../tensor';
import { add } from './binary';
import { matmul } from './matmul';
import { reshape } from './reshape';

/**
 * y = x Wᵀ + b, PyTorch's layout: x [..., in], weight [out, in], bias [out] -> [..., out].
 * The weight is read transposed in place, never copied.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const inFeatures = weight.shape[1];
  if (weight.rank !== 2 || x.rank < 1 || x.shape[x.rank - 1] !== inFeatures) {
    throw new ShapeError(`input ${formatShape(x.shape)} does not fit weight ${formatShape(weight.shape)} (expected [..., ${inFeatures ?? '?'}] and weight [out, in])`, {
      op: 'linear',
      argument: 'x',
      shapes: { x: x.shape, weight: weight.shape },
    });
  }
  const outFeatures = weight.shape[0]!;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outFeatures)) {
    throw new ShapeError(`bias ${formatShape(bias.shape)} must be [${outFeatures}] for weight ${formatShape(weight.shape)}`, {
      op: 'linear',
      argument: 'bias',
      shapes: { weight: weight.shape, bias: bias.shape },
    });
  }
  const lead = x.shape.slice(0, -1);
  const rows = reshape(x, [-1, inFeatures!]); // [N, in]
  const y = matmul(rows, weight, { transposeB: true }); // [N, in] x [out, in]ᵀ -> [N, out]
  const withBias = bias ? add(y, bias) : y; // [N, out]
  return reshape(withBias, [...lead, outFeatures]); // [..., out]
}
