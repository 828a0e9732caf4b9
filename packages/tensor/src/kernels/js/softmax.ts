import type { SoftmaxKernel } from '../softmax';

// Softmax along one axis of a tensor viewed as [outer, n, inner].

/**
 * out = softmax(x) along the middle axis, max-subtracted (finite for any finite logits).
 * A row whose entries are all -Infinity (fully masked) becomes all zeros, never NaN; a row with
 * +Infinity entries (scores that overflowed float32) is uniform over them and 0 elsewhere.
 * With `log`, writes log-softmax instead (a fully masked row stays -Infinity).
 */
export const softmaxJs: SoftmaxKernel = (x, outer, n, inner, out, log) => {
  for (let o = 0; o < outer; o++) {
    const base = o * n * inner;
    for (let i = 0; i < inner; i++) {
      const start = base + i;
      const end = start + n * inner;
      let max = -Infinity;
      for (let p = start; p < end; p += inner) if (x[p]! > max || Number.isNaN(x[p]!)) max = x[p]!;
      if (max === -Infinity) {
        for (let p = start; p < end; p += inner) out[p] = log ? -Infinity : 0;
        continue;
      }
      if (max === Infinity) {
        // Logits past float32's range: the k entries of +∞ share the row equally (softmax's limit), the rest get 0.
        let k = 0;
        for (let p = start; p < end; p += inner) if (x[p] === Infinity) k++;
        for (let p = start; p < end; p += inner) out[p] = x[p] === Infinity ? (log ? -Math.log(k) : 1 / k) : log ? -Infinity : 0;
        continue;
      }
      let total = 0;
      for (let p = start; p < end; p += inner) total += Math.exp(x[p]! - max);
      if (log) {
        const logTotal = Math.log(total);
        for (let p = start; p < end; p += inner) out[p] = x[p]! - max - logTotal;
      } else {
        const inv = 1 / total;
        for (let p = start; p < end; p += inner) out[p] = Math.exp(x[p]! - max) * inv;
      }
    }
  }
};
