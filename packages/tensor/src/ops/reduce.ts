import { backendOf, contiguous, storageOn } from '../device/backend-of';
import type { DeviceReduceOp, DeviceStorage } from '../device/device-backend';
import { DeviceError } from '../errors/device-error';
import { formatShape } from '../errors/heed-error';
import { expectTensor } from '../expect-tensor';
import { ReduceOp } from '../kernels/reduce';
import { getKernels } from '../kernels/registry';
import { broadcastStrides, normalizeAxes, sizeOf, stridesOf } from '../shape';
import { fromOp, Tensor } from '../tensor';
import { mul } from './binary';
import { broadcastTo } from './broadcast-to';

// Reductions over axes, with `keepDims`. `axes` undefined reduces everything (to a scalar).

const DEVICE_OPS: Record<ReduceOp, DeviceReduceOp> = { [ReduceOp.Sum]: 'sum', [ReduceOp.Max]: 'max', [ReduceOp.Min]: 'min' };

function reduceRaw(op: ReduceOp, x: Tensor, axes: readonly number[]): { data: Float32Array | DeviceStorage; keptShape: number[] } {
  const backend = backendOf(DEVICE_OPS[op], ['x'], x);
  if (backend !== null) {
    let storage = x.storage!;
    const shape = [...x.shape];
    for (const axis of axes) {
      const outer = sizeOf(shape.slice(0, axis));
      const inner = sizeOf(shape.slice(axis + 1));
      storage = backend.reduceAxis(DEVICE_OPS[op], storage, outer, shape[axis]!, inner);
      shape[axis] = 1;
    }
    if (storage === x.storage) storage = backend.copy(contiguous(backend, x), x.shape);
    return { data: storage, keptShape: shape };
  }
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
  const reduced = reduceRaw(ReduceOp.Sum, x, list);
  const keptShape = reduced.keptShape;
  let data = reduced.data;
  if (data instanceof Float32Array) for (let i = 0; i < data.length; i++) data[i]! /= count;
  else data = mul(new Tensor(data, keptShape), 1 / count).storage!; // on a device: the division is one more kernel
  return fromOp(data, outShape(keptShape, list, keepDims), 'mean', [x], (g) => [
    broadcastTo(mul(g.reshape(keptShape), 1 / count), x.shape),
  ]);
}

function extreme(op: ReduceOp, name: string, x: Tensor, axes: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  expectTensor(name, 'x', x);
  const list = normalizeAxes(axes, x.rank, name, x.shape);
  if (x.storage !== null && x.requiresGrad && sizeOf(list.map((a) => x.shape[a]!)) > MAX_DEVICE_SLICE) {
    throw new DeviceError(
      `${name} over axes [${list}] of x ${formatShape(x.shape)} on '${x.device}' takes slices of more than 2^24 elements, whose first extreme a device cannot place exactly (float32 positions): reduce in steps, or on the CPU`,
      { op: name, argument: 'axes', shapes: { x: x.shape } },
    );
  }
  const { data, keptShape } = reduceRaw(op, x, list);
  return fromOp(data, outShape(keptShape, list, keepDims), name, [x], (g) => {
    if (!(data instanceof Float32Array)) return [deviceExtremeGrad(x, new Tensor(data, keptShape), g.reshape(keptShape), list)];
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

/** Largest reduced slice whose positions float32 holds exactly (the device gradient of max/min compares them). */
const MAX_DEVICE_SLICE = 2 ** 24;

/**
 * The gradient of max/min on a device, with the CPU's convention: to the first position (row-major over the reduced
 * axes) that attains the extreme in its slice; none where the slice holds a NaN (no position equals it). Each position
 * in its slice p, candidates = attains ? p : +∞, first = min over the slice, gradient g where p = first.
 * x [..], best and g [..] with the reduced axes kept at size 1 -> [..] like x.
 */
function deviceExtremeGrad(x: Tensor, best: Tensor, g: Tensor, axes: readonly number[]): Tensor {
  const backend = backendOf('max', ['x', 'best'], x, best)!;
  const attains = backend.binary(
    'equal',
    contiguous(backend, x),
    { storage: best.storage!, offset: 0, strides: broadcastStrides(best.shape, x.shape) },
    x.shape,
  ); // [..], 1 where x attains its slice's extreme
  const sliceShape = x.shape.map((size, d) => (axes.includes(d) ? size : 1)); // [..] with the kept axes at 1
  const positions = {
    storage: backend.upload(Float32Array.from({ length: sizeOf(sliceShape) }, (_, i) => i)),
    offset: 0,
    strides: broadcastStrides(sliceShape, x.shape),
  }; // [..]: an element's position in its slice, read broadcast
  const none = { storage: storageOn(backend, new Tensor(Float32Array.of(Infinity), [])), offset: 0, strides: x.shape.map(() => 0) };
  const candidates = backend.where({ storage: attains, offset: 0, strides: stridesOf(x.shape) }, positions, none, x.shape); // [..]
  const first = reduceRaw(ReduceOp.Min, new Tensor(candidates, x.shape), axes); // [..] with the axes at 1
  const firstRead = { storage: first.data as DeviceStorage, offset: 0, strides: broadcastStrides(first.keptShape, x.shape) };
  const taken = new Tensor(backend.binary('equal', positions, firstRead, x.shape), x.shape); // [..], 1 at the first attaining position
  return mul(taken, g); // g broadcast from the kept shape
}
