/**
 * The matrix-product kernel seam: out[m, n] = op(A) · op(B) (+ bias), where op(A) is A [m, k] or, with
 * `transposeA`, A stored as [k, m] (likewise B: [k, n] or stored [n, k]). Operands are read at
 * offsets into their arrays; nothing is transposed or copied. `out` is overwritten.
 * `bias` (optional, [n] read from index 0) is added to every row of the product in its epilogue:
 * out[i, j] = bias[j] + Σ_p op(A)[i, p]·op(B)[p, j] — a linear layer's y = x Wᵀ + b in one pass
 * (with k = 0, every row of out is the bias).
 */
export type MatmulKernel = (
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  out: Float32Array,
  outOffset: number,
  m: number,
  n: number,
  k: number,
  transposeA: boolean,
  transposeB: boolean,
  bias?: Float32Array | null,
) => void;
