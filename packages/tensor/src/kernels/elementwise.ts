// The elementwise kernel seam: binary ops with broadcasting and unary ops over Float32Arrays.

export const enum BinaryOp {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
  Pow = 4,
  Maximum = 5,
}

/**
 * out = a (op) b with both broadcast to `outShape`. `aStrides`/`bStrides` are broadcast strides
 * (0 on broadcast dimensions), of length `outShape.length`; out has the size of outShape (overwritten).
 */
export type BinaryKernel = (
  op: BinaryOp,
  a: Float32Array,
  aStrides: readonly number[],
  b: Float32Array,
  bStrides: readonly number[],
  outShape: readonly number[],
  out: Float32Array,
) => void;

export const enum UnaryOp {
  Neg = 0,
  Exp = 1,
  Log = 2,
  Tanh = 3,
  Sigmoid = 4,
  Relu = 5,
  Sqrt = 6,
  Abs = 7,
}

/** out[i] = op(x[i]) for every element of x (out overwritten, same size). */
export type UnaryKernel = (op: UnaryOp, x: Float32Array, out: Float32Array) => void;
