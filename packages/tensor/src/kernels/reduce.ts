// The reduction kernel seam: a reduction along one axis of a tensor viewed as [outer, n, inner].

export const enum ReduceOp {
  Sum = 0,
  Max = 1,
  Min = 2,
}

/** out[o, i] = reduce_j x[o, j, i] over x viewed as [outer, n, inner]; out has outer · inner elements (overwritten). */
export type ReduceKernel = (op: ReduceOp, x: Float32Array, outer: number, n: number, inner: number, out: Float32Array) => void;
