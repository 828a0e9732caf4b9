// Test-only (exported from @heed/tensor/testing): naive float64 references for the matmul, softmax,
// reduce and elementwise kernels, written from their definitions, index by index.

/** Unit roundoff of float32. */
const U = 2 ** -24;

/**
 * out[m, n] = op(A) · op(B) over the logical indices in float64, and per element an error bound any
 * float32 summation order meets: γ_k·Σ_p |a_ip·b_pj| + u·|out| (γ_k = k·u / (1 − k·u)).
 */
export function naiveMatmul(
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  m: number,
  n: number,
  k: number,
  transposeA: boolean,
  transposeB: boolean,
) {
  const value = new Float64Array(m * n); // [m, n]
  const bound = new Float64Array(m * n); // [m, n]
  const gamma = (k * U) / (1 - k * U);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let abs = 0;
      for (let p = 0; p < k; p++) {
        const aip = transposeA ? a[ao + p * m + i]! : a[ao + i * k + p]!;
        const bpj = transposeB ? b[bo + j * k + p]! : b[bo + p * n + j]!;
        s += aip * bpj;
        abs += Math.abs(aip * bpj);
      }
      value[i * n + j] = s;
      bound[i * n + j] = gamma * abs + U * Math.abs(s) + 1e-30;
    }
  }
  return { value, bound };
}

/** Throws unless |actual − expected| ≤ bound elementwise, naming the worst element. */
export function expectWithin(actual: ArrayLike<number>, expected: ArrayLike<number>, bound: ArrayLike<number>, label = 'values'): void {
  let worst = -1;
  let worstRatio = 1;
  for (let i = 0; i < expected.length; i++) {
    const ratio = Math.abs(actual[i]! - expected[i]!) / bound[i]!;
    if (!(ratio <= worstRatio)) {
      worst = i;
      worstRatio = ratio;
    }
  }
  if (worst >= 0)
    throw new Error(
      `${label}: element ${worst}: ${actual[worst]} vs ${expected[worst]} (error ${worstRatio.toPrecision(3)}× the bound ${bound[worst]})`,
    );
}

/** Softmax (or log-softmax) along the middle axis of x viewed as [outer, n, inner]; a row of −∞ gives 0 (log: −∞). */
export function naiveSoftmax(x: ArrayLike<number>, outer: number, n: number, inner: number, log: boolean): Float64Array {
  const out = new Float64Array(outer * n * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * n + j) * inner + i;
      let max = -Infinity;
      for (let j = 0; j < n; j++) max = Math.max(max, x[at(j)]!);
      let total = 0;
      for (let j = 0; j < n; j++) total += Math.exp(x[at(j)]! - max);
      for (let j = 0; j < n; j++) {
        if (max === -Infinity) out[at(j)] = log ? -Infinity : 0;
        else out[at(j)] = log ? x[at(j)]! - max - Math.log(total) : Math.exp(x[at(j)]! - max) / total;
      }
    }
  }
  return out;
}

/** Sum, max or min along the middle axis of x viewed as [outer, n, inner] -> [outer, inner]; NaN wins max and min. */
export function naiveReduce(kind: 'sum' | 'max' | 'min', x: ArrayLike<number>, outer: number, n: number, inner: number): Float64Array {
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const row = Array.from({ length: n }, (_, j) => x[(o * n + j) * inner + i]!);
      if (kind === 'sum') out[o * inner + i] = row.reduce((s, v) => s + v, 0);
      else if (row.some(Number.isNaN)) out[o * inner + i] = NaN;
      else out[o * inner + i] = kind === 'max' ? Math.max(-Infinity, ...row) : Math.min(Infinity, ...row);
    }
  }
  return out;
}

/** f(a, b) with both broadcast to `outShape` (NumPy rules, shapes right-aligned), by multi-index. */
export function naiveBroadcast(
  f: (x: number, y: number) => number,
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  outShape: readonly number[],
): Float64Array {
  const size = outShape.reduce((s, d) => s * d, 1);
  const out = new Float64Array(size);
  const flat = (index: number[], shape: readonly number[]) => {
    let at = 0;
    const offset = outShape.length - shape.length;
    for (let d = 0; d < shape.length; d++) at = at * shape[d]! + (shape[d] === 1 ? 0 : index[d + offset]!);
    return at;
  };
  for (let i = 0; i < size; i++) {
    const index: number[] = [];
    let rest = i;
    for (let d = outShape.length - 1; d >= 0; d--) {
      index[d] = rest % outShape[d]!;
      rest = Math.floor(rest / outShape[d]!);
    }
    out[i] = f(a[flat(index, aShape)]!, b[flat(index, bShape)]!);
  }
  return out;
}
