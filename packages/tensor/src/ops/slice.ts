import { backendOf } from '../device/backend-of';
import { ArgumentError } from '../errors/argument-error';
import { formatShape } from '../errors/heed-error';
import { expectNumbers, expectTensor } from '../expect-tensor';
import { normalizeAxis, sizeOf, stridesOf } from '../shape';
import { fromOp, Tensor } from '../tensor';

/** Elements `start` (inclusive) to `end` (exclusive) along `axis`: [.., n, ..] -> [.., end − start, ..]. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  expectTensor('slice', 'x', x);
  const ax = normalizeAxis(axis, x.rank, 'slice', x.shape);
  const n = x.shape[ax]!;
  const from = start < 0 ? start + n : start;
  const to = end === undefined ? n : end < 0 ? end + n : end;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > n || from > to) {
    throw new ArgumentError(`range [${start}, ${end ?? n}) is out of bounds for axis ${axis} of size ${n} in ${formatShape(x.shape)}`, {
      op: 'slice',
      argument: 'start',
      shapes: { x: x.shape },
    });
  }
  let outer = 1;
  for (let d = 0; d < ax; d++) outer *= x.shape[d]!;
  const inner = sizeOf(x.shape.slice(ax + 1));
  const width = (to - from) * inner;
  const shape = [...x.shape];
  shape[ax] = to - from;
  const backend = backendOf('slice', ['x'], x);
  if (backend !== null) {
    const strides = stridesOf(x.shape);
    const storage = backend.copy({ storage: x.storage!, offset: from * inner, strides }, shape);
    return fromOp(storage, shape, 'slice', [x], (g) => {
      const full = backend.fill(x.size, 0);
      backend.writeBlocks(g.storage!, full, outer, width, n * inner, from * inner); // g into [from, to) of each row of x
      return [new Tensor(full, x.shape)];
    });
  }
  const out = new Float32Array(outer * width);
  for (let o = 0; o < outer; o++) {
    const src = (o * n + from) * inner;
    out.set(x.data.subarray(src, src + width), o * width);
  }
  return fromOp(out, shape, 'slice', [x], (g) => {
    const full = new Float32Array(x.size);
    for (let o = 0; o < outer; o++) full.set(g.data.subarray(o * width, (o + 1) * width), (o * n + from) * inner);
    return [new Tensor(full, x.shape)];
  });
}

/** Splits along `axis` into pieces of the given sizes (or into `sections` equal pieces). */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  expectTensor('split', 'x', x);
  if (typeof sizes !== 'number') expectNumbers('split', 'sizes', sizes);
  const ax = normalizeAxis(axis, x.rank, 'split', x.shape);
  const n = x.shape[ax]!;
  let list: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes <= 0 || n % sizes !== 0) {
      throw new ArgumentError(`axis ${axis} of size ${n} in ${formatShape(x.shape)} does not split into ${sizes} equal parts`, {
        op: 'split',
        argument: 'sizes',
        shapes: { x: x.shape },
      });
    }
    list = new Array<number>(sizes).fill(n / sizes);
  } else {
    list = [...sizes];
    if (list.reduce((s, v) => s + v, 0) !== n || list.some((v) => !Number.isInteger(v) || v < 0)) {
      throw new ArgumentError(`sizes [${list.join(', ')}] do not add up to ${n}, the size of axis ${axis} in ${formatShape(x.shape)}`, {
        op: 'split',
        argument: 'sizes',
        shapes: { x: x.shape },
      });
    }
  }
  let start = 0;
  return list.map((size) => {
    const part = slice(x, ax, start, start + size);
    start += size;
    return part;
  });
}
