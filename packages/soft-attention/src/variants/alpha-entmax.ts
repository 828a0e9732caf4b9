import { ArgumentError, expectTensor, fromOp, Tensor } from '@heed/tensor';
import { checkFiniteInput } from '../check-finite-input';
import { deviceEntmax } from '../device-entmax';

// Shape letters: n entries per row (the last axis), ... leading dims.

/**
 * α-entmax (Peters, Niculae & Martins 2019) along the last axis, for any α > 1:
 *   p = argmax_{p∈Δ} pᵀz + H_α(p),  p_i = [(α−1) z_i − τ]₊^{1/(α−1)}
 * with τ (in the (α−1)z scale) the threshold that makes each row sum to 1, found by bisection in
 * float64 down to adjacent doubles. α → 1 approaches softmax, α = 1.5 is entmax15, α = 2 sparsemax.
 * [..., n] -> [..., n]; −∞ entries (masked) get 0 and a row of only −∞ is all 0.
 * Gradient (closed form on the support, s_i = p_i^{2−α}): dz = s ⊙ g − s (sᵀg) / Σs.
 * On a device: its entmax kernel (bisection in float32; +∞ entries, which the CPU refuses, share 1 there).
 */
export function alphaEntmax(z: Tensor, alpha: number): Tensor {
  if (z instanceof Tensor && z.storage !== null) {
    checkAlpha('alphaEntmax', alpha, ArgumentError);
    return deviceEntmax(z, alpha, 'alphaEntmax'); // [..., n]
  }
  const { output, secant } = solveAlphaEntmax(z, alpha, 'alphaEntmax');
  const n = z.shape[z.rank - 1] ?? 1;
  const rows = n === 0 ? 0 : z.size / n;
  return fromOp(output, z.shape, 'alphaEntmax', [z], (g) => {
    const dz = new Float32Array(z.size);
    for (let r = 0; r < rows; r++) {
      const base = r * n;
      let sg = 0;
      let sTotal = 0;
      for (let i = 0; i < n; i++) {
        sg += secant[base + i]! * g.data[base + i]!;
        sTotal += secant[base + i]!;
      }
      const shift = sTotal > 0 ? sg / sTotal : 0;
      for (let i = 0; i < n; i++) dz[base + i] = secant[base + i]! * (g.data[base + i]! - shift);
    }
    return [new Tensor(dz, z.shape)];
  });
}

/** The threshold τ of every row, in the (α−1)z scale: [..., n] -> [...] (NaN for a fully masked row). No gradient. */
export function alphaEntmaxThreshold(z: Tensor, alpha: number): Tensor {
  const { tau } = solveAlphaEntmax(z, alpha, 'alphaEntmaxThreshold');
  return new Tensor(Float32Array.from(tau), z.shape.slice(0, -1));
}

/** Checks α (a finite number > 1). */
export function checkAlpha(op: string, alpha: number, Failure: typeof ArgumentError): void {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha <= 1) {
    throw new Failure(`alpha must be a finite number > 1 (α = 1 is softmax: use the softmax normalizer), got ${alpha}`, {
      op,
      argument: 'alpha',
    });
  }
}

/** Per row: the bisection for τ, then p and s = p^{2−α} (kept for the backward pass). */
function solveAlphaEntmax(z: Tensor, alpha: number, op: string): { output: Float32Array; secant: Float64Array; tau: Float64Array } {
  expectTensor(op, 'z', z);
  checkAlpha(op, alpha, ArgumentError);
  checkFiniteInput(op, 'z', z, { allowNegativeInfinity: true }); // −∞ is a masked entry
  const n = z.shape[z.rank - 1] ?? 1;
  const rows = n === 0 ? 0 : z.size / n;
  const power = 1 / (alpha - 1);
  const output = new Float32Array(z.size);
  const secant = new Float64Array(z.size);
  const tau = new Float64Array(rows).fill(Number.NaN);
  const x = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let kept = 0;
    let top = -Infinity;
    for (let i = 0; i < n; i++) {
      const value = z.data[base + i]!;
      x[i] = value === -Infinity ? -Infinity : (alpha - 1) * value;
      if (value > -Infinity) kept++;
      if (x[i]! > top) top = x[i]!;
    }
    if (kept === 0) continue; // fully masked row: zeros
    // Σ_i [x_i − t]₊^{1/(α−1)} − 1, decreasing in t; with x shifted so that max = 0
    const excess = (t: number): number => {
      let total = -1;
      for (let i = 0; i < n; i++) if (x[i]! - top > t) total += (x[i]! - top - t) ** power;
      return total;
    };
    let lo = -1; // excess(lo) ≥ 0: the top entry alone gives 1
    let hi = -((1 / kept) ** (alpha - 1)); // excess(hi) ≤ 0: every entry gives at most 1/kept
    for (let step = 0; step < 2200; step++) {
      const mid = (lo + hi) / 2;
      if (mid <= lo || mid >= hi) break; // adjacent doubles
      if (excess(mid) >= 0) lo = mid;
      else hi = mid;
    }
    const t = Math.abs(excess(lo)) <= Math.abs(excess(hi)) ? lo : hi;
    tau[r] = t + top;
    for (let i = 0; i < n; i++) {
      const gap = x[i]! - top - t;
      if (gap > 0) {
        const p = gap ** power;
        output[base + i] = p;
        secant[base + i] = p ** (2 - alpha);
      }
    }
  }
  return { output, secant, tau };
}
