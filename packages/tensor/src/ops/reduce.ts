import { expectTensor } from '../expect-tensor';
import { ReduceOp } from '../kernels/reduce';
import { getKernels } from '../kernels/registry';
import { normalizeAxes } from '../shape';
import { fromOp, Tensor } from '../tensor';
import { mul } from './binary';
import { broadcastTo } from './broadcast-to';

// Reductions over axes, with `keepDims`. `axes` undefined reduces everything (to a scalar).

function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[]): { data: Float32Array; keptShape: number[] } {
  let data = x.data;
  const shape = [...x.shape];
  for (const axis of axes) {
    let outer = 1;
    for (let d = 0; d < axis; d++) outer *= shape[d]!;
    let inner = 1;
    for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
    const out = new Float32Array(outer * inner);
    getKernels().reduceAxis(op, data, outer, shape[axis]!, inner, out);
    data = out;
    shape[axis] = 1;
  }
  return { data: data === x.data ? data.slice() : data, keptShape: shape };
}

function outShape(keptShape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? [...keptShape] : keptShape.filter((_, i) => !axes.includes(i));
}

/** Σ over `axes`: [..] -> [..] without those axes (or with size 1 when keepDims). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  expectTensor('sum', 'x', x);
  const list = normalizeAxes(axes, x.rank, 'sum', x.shape);
  const { data, keptShape } = reduceRaw(ReduceOp.Sum, x, list);
  return fromOp(data, outShape(keptShape, list, keepDims), 'sum', [x], (g) => [broadcastTo(g.reshape(keptShape), x.shape)]);
}

/** Mean over `axes`. */
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  expectTensor('mean', 'x', x);
  const list = normalizeAxes(axes, x.rank, 'mean', x.shape);
  let count = 1;
  for (const a of list) count *= x.shape[a]!;
  const { data, keptShape } = reduceRaw(ReduceOp.Sum, x, list);
  for (let i = 0; i < data.length; i++) data[i]! /= count;
  return fromOp(data, outShape(keptShape, list, keepDims), 'mean', [x], (g) => [
    broadcastTo(mul(g.reshape(keptShape), 1 / count), x.shape),
  ]);
}

function extreme(op: ReduceOp, name: string, x: Tensor, axes: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  expectTensor(name, 'x', x);
  const list = normalizeAxes(axes, x.rank, name, x.shape);
  const { data, keptShape } = reduceRaw(op, x, list);
  return fromOp(data, outShape(keptShape, list, keepDims), name, [x], (g) => {
    // The gradient goes to the first position that attains the extreme, per reduced slice.
    const best = broadcastTo(new Tensor(data, keptShape), x.shape).data;
    const gFull = broadcastTo(g.reshape(keptShape), x.shape).data;
    const taken = new Uint8Array(data.length);
    const slot = broadcastTo(
      new Tensor(
        Float32Array.from(data, (_, i) => i),
        keptShape,
      ),
      x.shape,
    ).data;
    const out = new Float32Array(x.size);
    for (let i = 0; i < out.length; i++) {
      const s = slot[i]!;
      if (taken[s] === 0 && x.data[i] === best[i]) {
        out[i] = gFull[i]!;
        taken[s] = 1;
      }
    }
    return [new Tensor(out, x.shape)];
  });
}

/** Maximum over `axes` (gradient to the first maximal entry). */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return extreme(ReduceOp.Max, 'max', x, axes, keepDims);
}

/** Minimum over `axes` (gradient to the first minimal entry). */
export function min(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return extreme(ReduceOp.Min, 'min', x, axes, keepDims);
}
