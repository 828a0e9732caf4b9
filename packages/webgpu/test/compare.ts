import type { RouteCheck } from './browser/route-result';

/** A fixture file's float32 rule: |got − ref| ≤ atol + rtol·|ref| elementwise. */
export interface FixtureRule {
  readonly rtol: number;
  readonly atol: number;
}

/**
 * How far `gpu` is from `cpu`: the largest |gpu − cpu| / max(1, |cpu|) (absolute for small values, relative for
 * large ones), the largest |gpu − cpu|, and how many GPU values are not finite where the CPU's are; with a `rule`
 * (a PyTorch fixture's), also the largest |gpu − cpu| / (atol + rtol·|cpu|).
 */
export function compare(
  name: string,
  gpu: ArrayLike<number>,
  gpuShape: readonly number[],
  cpu: ArrayLike<number>,
  cpuShape: readonly number[],
  rule?: FixtureRule,
): RouteCheck {
  const sameShape = gpuShape.length === cpuShape.length && gpuShape.every((n, i) => n === cpuShape[i]) && gpu.length === cpu.length;
  let maxError = sameShape ? 0 : Number.POSITIVE_INFINITY;
  let maxAbsError = sameShape ? 0 : Number.POSITIVE_INFINITY;
  let ruleFraction = sameShape ? 0 : Number.POSITIVE_INFINITY;
  let nonFinite = 0;
  for (let i = 0; sameShape && i < cpu.length; i++) {
    const [g, c] = [gpu[i]!, cpu[i]!];
    if (!Number.isFinite(g) && Number.isFinite(c)) nonFinite++;
    if (g === c) continue; // equal infinities included
    const difference = Math.abs(g - c);
    const error = Number.isNaN(difference) ? Number.POSITIVE_INFINITY : difference;
    maxAbsError = Math.max(maxAbsError, error);
    maxError = Math.max(maxError, error / Math.max(1, Math.abs(c)));
    if (rule) ruleFraction = Math.max(ruleFraction, error / (rule.atol + rule.rtol * Math.abs(c)));
  }
  return { name, size: cpu.length, maxError, maxAbsError, nonFinite, sameShape, ...(rule ? { ruleFraction } : {}) };
}
