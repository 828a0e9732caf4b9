// Reductions along one axis of a tensor viewed as [outer, n, inner].

export const enum ReduceOp {
  Sum = 0,
  Max = 1,
  Min = 2,
}

/** out[o, i] = reduce_j x[o, j, i]; out has outer * inner elements. Sums accumulate in float64. */
export function reduceAxisKernel(op: ReduceOp, x: Float32Array, outer: number, n: number, inner: number, out: Float32Array): void {
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
}
