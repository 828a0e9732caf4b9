import { BinaryOp, UnaryOp, type BinaryKernel, type UnaryKernel } from '../elementwise';

// Elementwise kernels: plain loops over Float32Arrays. The op code is switched on once per row,
// never per element.

function binaryRow(
  op: BinaryOp,
  a: Float32Array,
  ao: number,
  sa: number,
  b: Float32Array,
  bo: number,
  sb: number,
  out: Float32Array,
  oo: number,
  n: number,
): void {
  switch (op) {
    case BinaryOp.Add:
      for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * sa]! + b[bo + i * sb]!;
      return;
    case BinaryOp.Sub:
      for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * sa]! - b[bo + i * sb]!;
      return;
    case BinaryOp.Mul:
      for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * sa]! * b[bo + i * sb]!;
      return;
    case BinaryOp.Div:
      for (let i = 0; i < n; i++) out[oo + i] = a[ao + i * sa]! / b[bo + i * sb]!;
      return;
    case BinaryOp.Pow:
      for (let i = 0; i < n; i++) out[oo + i] = Math.pow(a[ao + i * sa]!, b[bo + i * sb]!);
      return;
    case BinaryOp.Maximum:
      for (let i = 0; i < n; i++) out[oo + i] = Math.max(a[ao + i * sa]!, b[bo + i * sb]!);
      return;
  }
}

/**
 * out = a (op) b with both broadcast to `outShape`. `aStrides`/`bStrides` are broadcast strides
 * (0 on broadcast dimensions), of length `outShape.length`.
 */
export const binaryJs: BinaryKernel = (op, a, aStrides, b, bStrides, outShape, out) => {
  const rank = outShape.length;
  if (rank === 0) {
    binaryRow(op, a, 0, 0, b, 0, 0, out, 0, 1);
    return;
  }
  if (a.length === out.length && b.length === out.length) {
    binaryRow(op, a, 0, 1, b, 0, 1, out, 0, out.length);
    return;
  }
  if (b.length === 1 && a.length === out.length) {
    binaryRow(op, a, 0, 1, b, 0, 0, out, 0, out.length);
    return;
  }
  const n = outShape[rank - 1]!;
  const sa = aStrides[rank - 1]!;
  const sb = bStrides[rank - 1]!;
  const rows = n === 0 ? 0 : out.length / n;
  const index = new Array<number>(rank - 1).fill(0);
  let ao = 0;
  let bo = 0;
  for (let r = 0; r < rows; r++) {
    binaryRow(op, a, ao, sa, b, bo, sb, out, r * n, n);
    // odometer over the outer dimensions
    for (let d = rank - 2; d >= 0; d--) {
      index[d]!++;
      ao += aStrides[d]!;
      bo += bStrides[d]!;
      if (index[d]! < outShape[d]!) break;
      ao -= aStrides[d]! * index[d]!;
      bo -= bStrides[d]! * index[d]!;
      index[d] = 0;
    }
  }
};

/** out[i] = op(x[i]). */
export const unaryJs: UnaryKernel = (op, x, out) => {
  const n = x.length;
  switch (op) {
    case UnaryOp.Neg:
      for (let i = 0; i < n; i++) out[i] = -x[i]!;
      return;
    case UnaryOp.Exp:
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!);
      return;
    case UnaryOp.Log:
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!);
      return;
    case UnaryOp.Tanh:
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!);
      return;
    case UnaryOp.Sigmoid:
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        // stable for large |v|
        out[i] = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
      }
      return;
    case UnaryOp.Relu:
      for (let i = 0; i < n; i++) out[i] = x[i]! > 0 ? x[i]! : 0;
      return;
    case UnaryOp.Sqrt:
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!);
      return;
    case UnaryOp.Abs:
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!);
      return;
  }
};
