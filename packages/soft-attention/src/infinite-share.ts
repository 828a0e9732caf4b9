/**
 * p = 1/k on the k entries of +∞ of row [base, base + n), 0 elsewhere (and s = √p when given): the limit
 * of sparsemax, entmax and softmax as those entries grow together. [n] -> [n]
 */
export function infiniteShare(z: Float32Array, base: number, n: number, p: Float32Array, s?: Float64Array): void {
  let k = 0;
  for (let i = 0; i < n; i++) if (z[base + i] === Infinity) k++;
  for (let i = 0; i < n; i++) {
    const share = z[base + i] === Infinity ? 1 / k : 0;
    p[base + i] = share;
    if (s) s[base + i] = Math.sqrt(share);
  }
}
