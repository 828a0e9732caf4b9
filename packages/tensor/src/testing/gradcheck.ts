import { ArgumentError } from '../errors/argument-error';
import { noGrad } from '../grad-mode';
import { Rng } from '../rng';
import { Tensor } from '../tensor';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-2: float32 rounding dominates below that). */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Seed for the random upstream gradient (default 0). */
  seed?: number;
  /** Check only these input positions (default: all inputs). */
  check?: readonly number[];
}

export interface GradcheckResult {
  ok: boolean;
  /** Largest |analytic − numeric| − rtol·|numeric| over all checked elements (≤ atol when ok). */
  worst: number;
  /** Where the worst element was: input position, flat index, analytic and numeric values. */
  at: { input: number; index: number; analytic: number; numeric: number } | null;
}

/**
 * Compares the autograd gradient of L = Σ fn(inputs) ⊙ W (W random, fixed) with central finite
 * differences (L accumulated in float64). Inputs are copied; the originals are not touched.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  const eps = options.eps ?? 1e-2;
  const atol = options.atol ?? 1e-3;
  const rtol = options.rtol ?? 1e-2;
  const leaves = inputs.map((t) => new Tensor(t.data.slice(), t.shape, true));
  const out = fn(...leaves);
  const rng = new Rng(options.seed ?? 0);
  const weights = Float64Array.from({ length: out.size }, () => rng.normal());
  out.backward(new Tensor(Float32Array.from(weights), out.shape));
  const loss = (): number =>
    noGrad(() => {
      const y = fn(...leaves).data;
      let total = 0;
      for (let i = 0; i < y.length; i++) total += y[i]! * weights[i]!;
      return total;
    });
  let worst = -Infinity;
  let at: GradcheckResult['at'] = null;
  const positions = options.check ?? leaves.map((_, i) => i);
  if (positions.length === 0 || positions.every((k) => (leaves[k]?.size ?? 0) === 0)) {
    throw new ArgumentError('nothing to check: no input positions, or only empty inputs', { op: 'gradcheck', argument: 'check' });
  }
  for (const k of positions) {
    const leaf = leaves[k]!;
    for (let i = 0; i < leaf.size; i++) {
      const original = leaf.data[i]!;
      leaf.data[i] = original + eps;
      const hi = leaf.data[i]!; // the float32 value actually used
      const up = loss();
      leaf.data[i] = original - eps;
      const lo = leaf.data[i]!;
      const down = loss();
      leaf.data[i] = original;
      const numeric = (up - down) / (hi - lo);
      const analytic = leaf.grad ? leaf.grad.data[i]! : 0;
      const excess = Math.abs(analytic - numeric) - rtol * Math.abs(numeric);
      if (excess > worst) {
        worst = excess;
        at = { input: k, index: i, analytic, numeric };
      }
    }
  }
  return { ok: worst <= atol, worst, at };
}
