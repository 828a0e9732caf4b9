import { fromOp, Tensor } from '@heed/tensor';
import { deviceEntmax } from './device-entmax';
import { infiniteShare } from './infinite-share';

/**
 * Sparsemax (Martins & Astudillo 2016) along the last axis: the Euclidean projection of z onto the
 * probability simplex, p = max(z − τ, 0) with τ such that Σp = 1. Exact zeros off the support.
 * [..., n] -> [..., n]. Entries of −∞ (masked) are never in the support; a row of only −∞ is all 0;
 * a row with +∞ entries splits 1 equally among them (the limit). Exact for logits up to float32's range.
 * Gradient (closed form): on the support S, dz_i = g_i − mean_{j∈S} g_j; 0 off it. On a device: its entmax kernel (α = 2).
 */
export function sparsemax(z: Tensor): Tensor {
  if (z.storage !== null) return deviceEntmax(z, 2, 'sparsemax'); // [..., n]
  const n = z.shape[z.rank - 1] ?? 1;
  const rows = n === 0 ? 0 : z.size / n;
  const p = new Float32Array(z.size);
  const sorted = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    // Work on z − max z (sparsemax does not change when a constant is added), so logits of any size
    // (1e16, 1e38) keep their differences; +∞ entries share the row equally (the limit as they grow).
    let zMax = -Infinity;
    for (let i = 0; i < n; i++) zMax = Math.max(zMax, z.data[base + i]!);
    if (zMax === -Infinity) continue; // fully masked row: zeros
    if (zMax === Infinity) {
      infiniteShare(z.data, base, n, p);
      continue;
    }
    let m = 0;
    for (let i = 0; i < n; i++) if (z.data[base + i]! > -Infinity) sorted[m++] = z.data[base + i]! - zMax;
    const row = sorted.subarray(0, m).sort(); // ascending; read from the end for z_(1) ≥ z_(2) ≥ ...
    // support size k(z) = max{k : 1 + k z_(k) > Σ_{j≤k} z_(j)}, τ = (Σ_{j≤k(z)} z_(j) − 1) / k(z)
    let cumulative = 0;
    let tau = 0;
    for (let k = 1; k <= m; k++) {
      const zk = row[m - k]!;
      cumulative += zk;
      if (1 + k * zk > cumulative) tau = (cumulative - 1) / k;
    }
    for (let i = 0; i < n; i++) p[base + i] = Math.max(z.data[base + i]! - zMax - tau, 0);
  }
  return fromOp(p, z.shape, 'sparsemax', [z], (g) => {
    const dz = new Float32Array(z.size);
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      let total = 0;
      let count = 0;
      for (let i = 0; i < n; i++) {
        if (p[base + i]! > 0) {
          total += g.data[base + i]!;
          count++;
        }
      }
      const meanOnSupport = count > 0 ? total / count : 0;
      for (let i = 0; i < n; i++) if (p[base + i]! > 0) dz[base + i] = g.data[base + i]! - meanOnSupport;
    }
    return [new Tensor(dz, z.shape)];
  });
}
