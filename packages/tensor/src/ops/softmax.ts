import { expectTensor } from '../expect-tensor';
import { getKernels } from '../kernels/registry';
import { normalizeAxis, sizeOf } from '../shape';
import { fromOp, Tensor } from '../tensor';
import { mul, sub } from './binary';
import { sum } from './reduce';

function view(x: Tensor, axis: number, op: string): { outer: number; n: number; inner: number; ax: number } {
  const ax = normalizeAxis(axis, x.rank, op, x.shape);
  return { ax, outer: sizeOf(x.shape.slice(0, ax)), n: x.shape[ax]!, inner: sizeOf(x.shape.slice(ax + 1)) };
}

/**
 * softmax(x)_i = exp(x_i − max x) / Σ_j exp(x_j − max x) along `axis` (shape unchanged).
 * Finite for logits of any size; a row that is all −∞ (fully masked) gives zeros, not NaN; −∞ entries
 * get 0. A row with +∞ entries (e.g. scores that overflowed float32) is uniform over them and 0
 * elsewhere — the limit of softmax as those logits grow — with the gradient of that uniform row.
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  expectTensor('softmax', 'x', x);
  const { ax, outer, n, inner } = view(x, axis, 'softmax');
  const y = new Float32Array(x.size);
  getKernels().softmax(x.data, outer, n, inner, y, false);
  return fromOp(y, x.shape, 'softmax', [x], (g) => {
    // dL/dx = y ⊙ (g − Σ_j g_j y_j)
    const yt = new Tensor(y, x.shape);
    return [mul(yt, sub(g, sum(mul(g, yt), ax, true)))];
  });
}

/** log softmax(x) along `axis`, computed as x − max − log Σ exp(x − max); +∞ entries as in `softmax` (−log k, the rest −∞). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  expectTensor('logSoftmax', 'x', x);
  const { ax, outer, n, inner } = view(x, axis, 'logSoftmax');
  const y = new Float32Array(x.size);
  getKernels().softmax(x.data, outer, n, inner, y, true);
  return fromOp(y, x.shape, 'logSoftmax', [x], (g) => {
    // dL/dx = g − softmax(x) Σ_j g_j, and 0 where the output is −∞ (masked entries, fully masked rows)
    const p = new Float32Array(x.size);
    getKernels().softmax(x.data, outer, n, inner, p, false);
    const finite = new Float32Array(x.size);
    for (let i = 0; i < finite.length; i++) finite[i] = y[i] === -Infinity ? 0 : 1;
    return [mul(sub(g, mul(new Tensor(p, x.shape), sum(g, ax, true))), new Tensor(finite, x.shape))];
  });
}
