import { fromOp, Tensor } from '@heed/tensor';
import { deviceEntmax } from './device-entmax';
import { infiniteShare } from './infinite-share';

/**
 * 1.5-entmax (Peters, Niculae & Martins 2019) along the last axis: p = argmax_{p∈Δ} pᵀz + H₁.₅(p),
 * solved exactly by sorting: p_i = max(z_i/2 − τ, 0)² with τ such that Σp = 1. Sparse like sparsemax,
 * smooth like softmax. [..., n] -> [..., n]. Entries of −∞ (masked) get 0; a row of only −∞ is all 0;
 * a row with +∞ entries splits 1 equally among them (the limit). Exact for logits up to float32's range.
 * Gradient (closed form, s = √p): dz = s ⊙ g − s (sᵀg) / Σs. On a device: its entmax kernel (α = 1.5).
 */
export function entmax15(z: Tensor): Tensor {
  if (z.storage !== null) return deviceEntmax(z, 1.5, 'entmax15'); // [..., n]
  const n = z.shape[z.rank - 1] ?? 1;
  const rows = n === 0 ? 0 : z.size / n;
  const p = new Float32Array(z.size);
  const s = new Float64Array(z.size); // √p, kept for the backward pass
  const sorted = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    // Work on (z − max z) / 2 (entmax does not change when a constant is added), so logits of any
    // size (1e16, 1e38) keep their differences; +∞ entries share the row equally (the limit as they grow).
    let zMax = -Infinity;
    for (let i = 0; i < n; i++) zMax = Math.max(zMax, z.data[base + i]!);
    if (zMax === -Infinity) continue; // fully masked row: zeros
    if (zMax === Infinity) {
      infiniteShare(z.data, base, n, p, s);
      continue;
    }
    let m = 0;
    for (let i = 0; i < n; i++) if (z.data[base + i]! > -Infinity) sorted[m++] = (z.data[base + i]! - zMax) / 2;
    const row = sorted.subarray(0, m).sort(); // ascending; x_(k) = row[m − k]
    // τ_k solves Σ_{j≤k} (x_(j) − τ)² = 1: τ_k = mean_k − √((1 − k·(meanSq_k − mean_k²)) / k);
    // the support is the largest k with τ_k ≤ x_(k).
    let sum = 0;
    let sumSq = 0;
    let tau = 0;
    for (let k = 1; k <= m; k++) {
      const xk = row[m - k]!;
      sum += xk;
      sumSq += xk * xk;
      const mean = sum / k;
      const spread = k * (sumSq / k - mean * mean);
      const tauK = mean - Math.sqrt(Math.max((1 - spread) / k, 0));
      if (tauK <= xk) tau = tauK;
    }
    for (let i = 0; i < n; i++) {
      const si = Math.max((z.data[base + i]! - zMax) / 2 - tau, 0);
      s[base + i] = si;
      p[base + i] = si * si;
    }
  }
  return fromOp(p, z.shape, 'entmax15', [z], (g) => {
    const dz = new Float32Array(z.size);
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      let sg = 0;
      let sTotal = 0;
      for (let i = 0; i < n; i++) {
        sg += s[base + i]! * g.data[base + i]!;
        sTotal += s[base + i]!;
      }
      const shift = sTotal > 0 ? sg / sTotal : 0;
      for (let i = 0; i < n; i++) dz[base + i] = s[base + i]! * (g.data[base + i]! - shift);
    }
    return [new Tensor(dz, z.shape)];
  });
}
