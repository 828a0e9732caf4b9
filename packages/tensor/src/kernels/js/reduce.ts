import { ReduceOp, type ReduceKernel } from '../reduce';

// Reductions along one axis of a tensor viewed as [outer, n, inner].

/** out[o, i] = reduce_j x[o, j, i]; out has outer * inner elements. Sums accumulate in float64. */
export const reduceAxisJs: ReduceKernel = (op, x, outer, n, inner, out) => {
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let i = 0; i < inner; i++) {
      let acc = op === ReduceOp.Sum ? 0 : op === ReduceOp.Max ? -Infinity : Infinity;
      let p = base + i;
      if (op === ReduceOp.Sum) for (let j = 0; j < n; j++, p += inner) acc += x[p]!;
      else if (op === ReduceOp.Max) for (let j = 0; j < n; j++, p += inner) acc = x[p]! > acc || Number.isNaN(x[p]!) ? x[p]! : acc;
      else for (let j = 0; j < n; j++, p += inner) acc = x[p]! < acc || Number.isNaN(x[p]!) ? x[p]! : acc;
      out[o * inner + i] = acc;
    }
  }
};
