import { backendOf } from '../device/backend-of';
import type { DeviceBackend, DeviceStorage } from '../device/device-backend';
import { ArgumentError } from '../errors/argument-error';
import { DeviceError } from '../errors/device-error';
import { formatShape } from '../errors/heed-error';
import { ShapeError } from '../errors/shape-error';
import { expectIndices, expectTensor } from '../expect-tensor';
import { normalizeAxis, stridesOf } from '../shape';
import { fromOp, Tensor } from '../tensor';

/**
 * out[.., i, ..] = x[.., index[.., i, ..], ..] along `axis` (PyTorch's gather): out.shape = index.shape,
 * which must have x's rank and not exceed x off the axis. Gradients scatter-add back.
 */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  expectTensor('gather', 'x', x);
  expectTensor('gather', 'index', index);
  const ax = normalizeAxis(axis, x.rank, 'gather', x.shape);
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== ax && d > x.shape[i]!)) {
    throw new ShapeError(
      `index ${formatShape(index.shape)} must have the rank of x ${formatShape(x.shape)} and fit inside it off axis ${ax}`,
      {
        op: 'gather',
        argument: 'index',
        shapes: { x: x.shape, index: index.shape },
      },
    );
  }
  const xStrides = stridesOf(x.shape);
  const n = x.shape[ax]!;
  const source = new Int32Array(index.size); // flat position in x of every output element
  const pos = new Array<number>(index.rank).fill(0);
  for (let i = 0; i < index.size; i++) {
    const j = index.data[i]!;
    if (!Number.isInteger(j) || j < 0 || j >= n) {
      throw new ArgumentError(`index value ${j} is out of range [0, ${n}) for axis ${ax} of x ${formatShape(x.shape)}`, {
        op: 'gather',
        argument: 'index',
        shapes: { x: x.shape, index: index.shape },
      });
    }
    let off = 0;
    for (let d = 0; d < pos.length; d++) off += (d === ax ? j : pos[d]!) * xStrides[d]!;
    source[i] = off;
    for (let d = pos.length - 1; d >= 0; d--) {
      if (++pos[d]! < index.shape[d]!) break;
      pos[d] = 0;
    }
  }
  const backend = backendOf('gather', ['x'], x);
  if (backend !== null) return gatherOnDevice(backend, 'gather', x, source, index.shape);
  const out = new Float32Array(index.size);
  for (let i = 0; i < out.length; i++) out[i] = x.data[source[i]!]!;
  return fromOp(out, index.shape, 'gather', [x], (g) => {
    const gx = new Float32Array(x.size);
    for (let i = 0; i < source.length; i++) gx[source[i]!]! += g.data[i]!;
    return [new Tensor(gx, x.shape)];
  });
}

/** Rows of `weight` [V, D] picked by integer `indices` [...] -> [..., D]. Gradients scatter-add into the rows. */
export function embedding(weight: Tensor, indices: Tensor | ArrayLike<number>): Tensor {
  expectTensor('embedding', 'weight', weight);
  const ids =
    indices instanceof Tensor ? indices : new Tensor(Float32Array.from(expectIndices('embedding', 'indices', indices)), [indices.length]);
  if (weight.rank !== 2) {
    throw new ShapeError(`weight must be [numEmbeddings, dim], got ${formatShape(weight.shape)}`, {
      op: 'embedding',
      argument: 'weight',
      shapes: { weight: weight.shape },
    });
  }
  const [rows, dim] = [weight.shape[0]!, weight.shape[1]!];
  const backend = backendOf('embedding', ['weight'], weight);
  if (backend !== null) {
    const source = new Int32Array(ids.size * dim); // flat position in weight of every output element
    for (let i = 0; i < ids.size; i++) {
      const r = checkedRow(ids, i, rows, weight);
      for (let j = 0; j < dim; j++) source[i * dim + j] = r * dim + j;
    }
    return gatherOnDevice(backend, 'embedding', weight, source, [...ids.shape, dim]); // [..., D]
  }
  const out = new Float32Array(ids.size * dim);
  for (let i = 0; i < ids.size; i++) {
    const r = checkedRow(ids, i, rows, weight);
    out.set(weight.data.subarray(r * dim, (r + 1) * dim), i * dim);
  }
  return fromOp(out, [...ids.shape, dim], 'embedding', [weight], (g) => {
    const gw = new Float32Array(weight.size);
    for (let i = 0; i < ids.size; i++) {
      const r = ids.data[i]! * dim;
      for (let j = 0; j < dim; j++) gw[r + j]! += g.data[i * dim + j]!;
    }
    return [new Tensor(gw, weight.shape)];
  });
}

/** Row `ids[i]` of weight [rows, D], or an ArgumentError when it is not an integer in [0, rows). */
function checkedRow(ids: Tensor, i: number, rows: number, weight: Tensor): number {
  const r = ids.data[i]!;
  if (!Number.isInteger(r) || r < 0 || r >= rows) {
    throw new ArgumentError(`index ${r} at position ${i} is out of range [0, ${rows}) for weight ${formatShape(weight.shape)}`, {
      op: 'embedding',
      argument: 'indices',
      shapes: { weight: weight.shape, indices: ids.shape },
    });
  }
  return r;
}

/**
 * out[i] = x[source[i]] on x's device, `shape` of source's size; the gradient sums g[i] into position source[i]
 * (the backend's scatterAdd: no atomics, each position sums its own i's in increasing order, as the CPU loop).
 */
function gatherOnDevice(backend: DeviceBackend, op: string, x: Tensor, source: Int32Array, shape: readonly number[]): Tensor {
  if (backend.gather === undefined || backend.scatterAdd === undefined) {
    throw new DeviceError(`the '${backend.name}' device has no gather kernel: move x to the CPU with \`await toDevice(t, 'cpu')\``, {
      op,
      argument: op === 'embedding' ? 'weight' : 'x',
      shapes: { x: x.shape },
    });
  }
  const scatterAdd = backend.scatterAdd.bind(backend);
  const out: DeviceStorage = backend.gather(x.storage!, source);
  return fromOp(out, shape, op, [x], (g) => {
    const gradBackend = backendOf(op, ['grad'], g);
    if (gradBackend !== backend) throw new DeviceError(`the gradient of ${op} is not on '${backend.name}'`, { op, argument: 'grad' });
    return [new Tensor(scatterAdd(g.storage!, source, x.size), x.shape)];
  });
}
