import { backendOf } from '../device/backend-of';
import type { DeviceStorage } from '../device/device-backend';
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

/** (log-)softmax of x viewed as [outer, n, inner] along n, on x's device. */
function run(op: string, x: Tensor, outer: number, n: number, inner: number, log: boolean): Float32Array | DeviceStorage {
  const backend = backendOf(op, ['x'], x);
  if (backend !== null) return backend.softmax(x.storage!, outer, n, inner, log);
  const y = new Float32Array(x.size);
  getKernels().softmax(x.data, outer, n, inner, y, log);
  return y;
}

/** 0 where y is −∞, else 1. */
function finiteMask(y: Float32Array | DeviceStorage, shape: readonly number[]): Tensor {
  if (!(y instanceof Float32Array)) return new Tensor(backendOf('logSoftmax', ['y'], new Tensor(y, shape))!.unary('finite', y), shape);
  const finite = new Float32Array(y.length);
  for (let i = 0; i < finite.length; i++) finite[i] = y[i] === -Infinity ? 0 : 1;
  return new Tensor(finite, shape);
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
  const y = run('softmax', x, outer, n, inner, false);
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
  const y = run('logSoftmax', x, outer, n, inner, true);
  return fromOp(y, x.shape, 'logSoftmax', [x], (g) => {
    // dL/dx = g − softmax(x) Σ_j g_j, and 0 where the output is −∞ (masked entries, fully masked rows)
    const p = run('logSoftmax', x, outer, n, inner, false);
    return [mul(sub(g, mul(new Tensor(p, x.shape), sum(g, ax, true))), finiteMask(y, x.shape))];
  });
}
