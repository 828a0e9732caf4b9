// Naive float64 attention for the tests: the peers' outputs are checked against this, not against
// any implementation the bench measures.

import { HEAD_DIM, HEADS, MODEL_DIM, SCALE } from './problem.mjs';

/** softmax(q kᵀ · scale + mask) v for one head; q, k, v rows of [L, dh], mask [L, L] or null. */
export function attentionReference(q, k, v, L, dh, mask) {
  const out = new Float64Array(L * dh);
  for (let i = 0; i < L; i++) {
    const s = new Float64Array(L);
    let max = -Infinity;
    for (let j = 0; j < L; j++) {
      let dot = 0;
      for (let c = 0; c < dh; c++) dot += q[i * dh + c] * k[j * dh + c];
      s[j] = dot * SCALE + (mask ? mask[i * L + j] : 0);
      max = Math.max(max, s[j]);
    }
    let sum = 0;
    for (let j = 0; j < L; j++) sum += s[j] = Math.exp(s[j] - max);
    for (let j = 0; j < L; j++) for (let c = 0; c < dh; c++) out[i * dh + c] += (s[j] / sum) * v[j * dh + c];
  }
  return out;
}

/** SDPA over q, k, v [1, H, L, dh] -> [1, H, L, dh] (float32). */
export function sdpaReference(q, k, v, L, mask) {
  const n = L * HEAD_DIM;
  const ref = new Float32Array(HEADS * n);
  for (let h = 0; h < HEADS; h++) {
    const head = (a) => a.subarray(h * n, (h + 1) * n);
    ref.set(attentionReference(head(q), head(k), head(v), L, HEAD_DIM, mask), h * n);
  }
  return ref;
}

/** The MHA forward of x [1, L, 512] with PyTorch-layout weights (y = x Wᵀ + b) -> [1, L, 512] (float32). */
export function mhaReference(x, w, L) {
  const d = MODEL_DIM;
  const linear = (input, weight, bias) => {
    const y = new Float64Array(L * d);
    for (let i = 0; i < L; i++) {
      for (let o = 0; o < d; o++) {
        let s = bias[o];
        for (let c = 0; c < d; c++) s += input[i * d + c] * weight[o * d + c];
        y[i * d + o] = s;
      }
    }
    return y;
  };
  const [q, k, v] = [linear(x, w.wq, w.bq), linear(x, w.wk, w.bk), linear(x, w.wv, w.bv)];
  const ctx = new Float64Array(L * d);
  const headOf = (a, h) => {
    const out = new Float64Array(L * HEAD_DIM);
    for (let i = 0; i < L; i++) for (let c = 0; c < HEAD_DIM; c++) out[i * HEAD_DIM + c] = a[i * d + h * HEAD_DIM + c];
    return out;
  };
  for (let h = 0; h < HEADS; h++) {
    const o = attentionReference(headOf(q, h), headOf(k, h), headOf(v, h), L, HEAD_DIM, null);
    for (let i = 0; i < L; i++) for (let c = 0; c < HEAD_DIM; c++) ctx[i * d + h * HEAD_DIM + c] = o[i * HEAD_DIM + c];
  }
  return Float32Array.from(linear(ctx, w.wo, w.bo));
}
