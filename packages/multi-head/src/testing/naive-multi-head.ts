// Test-only (exported from nowhere): multi-head attention written as plain float64 loops, head by head,
// straight from the definition, to check MultiHeadAttention against. Shares no code with it.
import type { Tensor } from '@heed/tensor';

export interface NaiveWeights {
  /** [E, E], [E], [Ekv, kdim], [Ekv], [Ekv, vdim], [Ekv], [E, E], [E] (nn.Linear layout); biases optional. */
  Wq: ArrayLike<number>;
  bq?: ArrayLike<number>;
  Wk: ArrayLike<number>;
  bk?: ArrayLike<number>;
  Wv: ArrayLike<number>;
  bv?: ArrayLike<number>;
  Wo: ArrayLike<number>;
  bo?: ArrayLike<number>;
  /** [Ekv] learned extra key and value (addBiasKv). */
  biasK?: ArrayLike<number>;
  biasV?: ArrayLike<number>;
}

export interface NaiveConfig {
  numHeads: number;
  numKeyValueHeads?: number;
  addZeroAttn?: boolean;
  /** keep(b, h, i, j) over the real keys; extra keys are always kept. Default: keep all. */
  keep?: (b: number, h: number, i: number, j: number) => boolean;
}

/** y = x Wᵀ + b for rows of x: [N, in] -> [N, out]. */
function project(x: ArrayLike<number>, rows: number, inF: number, W: ArrayLike<number>, outF: number, b?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o]! : 0;
      for (let c = 0; c < inF; c++) s += x[r * inF + c]! * W[o * inF + c]!;
      y[r * outF + o] = s;
    }
  return y;
}

/**
 * query [B, Lq, E], key [B, Lk, kdim], value [B, Lk, vdim] -> output [B, Lq, E] and per-head weights
 * [B, H, Lq, Lk + X]; head h reads key/value head ⌊h / (H / Hkv)⌋; softmax(q·k / √d); a row with no
 * kept key gets zero weights.
 */
export function naiveMultiHead(
  query: Tensor,
  key: Tensor,
  value: Tensor,
  w: NaiveWeights,
  config: NaiveConfig,
): { output: Float64Array; weights: Float64Array; keyCount: number } {
  const [B, Lq, E] = query.shape as [number, number, number];
  const [, Lk, kdim] = key.shape as [number, number, number];
  const vdim = value.shape[2]!;
  const H = config.numHeads;
  const Hkv = config.numKeyValueHeads ?? H;
  const d = E / H;
  const Ekv = Hkv * d;
  const Q = project(query.data, B * Lq, E, w.Wq, E, w.bq);
  const K = project(key.data, B * Lk, kdim, w.Wk, Ekv, w.bk);
  const V = project(value.data, B * Lk, vdim, w.Wv, Ekv, w.bv);
  const extra = (w.biasK ? 1 : 0) + (config.addZeroAttn ? 1 : 0);
  const S = Lk + extra;
  const keyAt = (b: number, j: number, c: number, source: Float64Array, bias?: ArrayLike<number>): number => {
    if (j < Lk) return source[(b * Lk + j) * Ekv + c]!;
    if (j === Lk && bias) return bias[c]!;
    return 0; // the zero key/value
  };
  const weights = new Float64Array(B * H * Lq * S);
  const heads = new Float64Array(B * Lq * E); // concatenated head outputs
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / Hkv));
      for (let i = 0; i < Lq; i++) {
        const s = new Float64Array(S);
        let max = -Infinity;
        for (let j = 0; j < S; j++) {
          const kept = j >= Lk || (config.keep ? config.keep(b, h, i, j) : true);
          let dot = 0;
          for (let c = 0; c < d; c++) dot += Q[(b * Lq + i) * E + h * d + c]! * keyAt(b, j, g * d + c, K, w.biasK);
          s[j] = kept ? dot / Math.sqrt(d) : -Infinity;
          max = Math.max(max, s[j]!);
        }
        let total = 0;
        for (let j = 0; j < S; j++) total += max === -Infinity ? 0 : Math.exp(s[j]! - max);
        for (let j = 0; j < S; j++) {
          const p = total === 0 ? 0 : Math.exp(s[j]! - max) / total;
          weights[((b * H + h) * Lq + i) * S + j] = p;
          for (let c = 0; c < d; c++) heads[(b * Lq + i) * E + h * d + c]! += p * keyAt(b, j, g * d + c, V, w.biasV);
        }
      }
    }
  return { output: project(heads, B * Lq, E, w.Wo, E, w.bo), weights, keyCount: S };
}
