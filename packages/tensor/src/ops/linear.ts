import { backendOf } from '../device/backend-of';
import { formatShape } from '../errors/heed-error';
import { ShapeError } from '../errors/shape-error';
import { expectTensor } from '../expect-tensor';
import { getKernels } from '../kernels/registry';
import { sizeOf } from '../shape';
import { fromOp, Tensor } from '../tensor';
import { add } from './binary';
import { matmul } from './matmul';
import { reshape } from './reshape';
import { sumToShape } from './sum-to-shape';

// Shape letters: N rows (the leading dims of x, flattened), I in features, O out features.

/**
 * y = x Wᵀ + b, PyTorch's layout: x [..., in], weight [out, in], bias [out] -> [..., out].
 * One product on the matmul kernel (the weight read transposed in place, never copied), the bias
 * added in its epilogue (each sum starts from it); the same numbers up to float32 rounding, gradients
 * included, as `add(matmul(x, Wᵀ), b)`.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  expectTensor('linear', 'x', x);
  expectTensor('linear', 'weight', weight);
  if (bias !== undefined && bias !== null) expectTensor('linear', 'bias', bias);
  const inFeatures = weight.shape[1];
  if (weight.rank !== 2 || x.rank < 1 || x.shape[x.rank - 1] !== inFeatures) {
    throw new ShapeError(
      `input ${formatShape(x.shape)} does not fit weight ${formatShape(weight.shape)} (expected [..., ${inFeatures ?? '?'}] and weight [out, in])`,
      {
        op: 'linear',
        argument: 'x',
        shapes: { x: x.shape, weight: weight.shape },
      },
    );
  }
  const outFeatures = weight.shape[0]!;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outFeatures)) {
    throw new ShapeError(`bias ${formatShape(bias.shape)} must be [${outFeatures}] for weight ${formatShape(weight.shape)}`, {
      op: 'linear',
      argument: 'bias',
      shapes: { weight: weight.shape, bias: bias.shape },
    });
  }
  const [I, O] = [inFeatures!, outFeatures];
  const N = sizeOf(x.shape.slice(0, -1));
  if (backendOf('linear', ['x', 'weight', 'bias'], x, weight, ...(bias ? [bias] : [])) !== null) {
    // On a device: the same product and sum as ops (their gradients are this op's), every kernel on the device.
    const product = matmul(reshape(x, [N, I]), weight, { transposeB: true }); // [N, I] x [O, I]ᵀ -> [N, O]
    return reshape(bias ? add(product, bias) : product, [...x.shape.slice(0, -1), O]); // [N, O] -> [..., O]
  }
  const y = new Float32Array(N * O); // [N, O]
  getKernels().matmul(x.data, 0, weight.data, 0, y, 0, N, O, I, false, true, bias?.data); // [N, I] x [O, I]ᵀ + [O] -> [N, O]
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return fromOp(y, [...x.shape.slice(0, -1), O], 'linear', inputs, (g) => {
    // dx = g W, dW = gᵀ x, db = Σ_rows g.   [N, O] x [O, I] -> [N, I];  [N, O]ᵀ x [N, I] -> [O, I]
    const kernel = getKernels().matmul;
    let dx: Tensor | null = null;
    let dw: Tensor | null = null;
    if (x.requiresGrad) {
      dx = new Tensor(new Float32Array(N * I), x.shape);
      kernel(g.data, 0, weight.data, 0, dx.data, 0, N, I, O, false, false);
    }
    if (weight.requiresGrad) {
      dw = new Tensor(new Float32Array(O * I), weight.shape);
      kernel(g.data, 0, x.data, 0, dw.data, 0, O, I, N, true, false);
    }
    const db = bias?.requiresGrad ? sumToShape(new Tensor(g.data, [N, O]), [O]) : null;
    return bias ? [dx, dw, db] : [dx, dw];
  });
}
