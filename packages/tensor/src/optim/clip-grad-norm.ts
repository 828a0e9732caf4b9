import { ArgumentError } from '../errors/argument-error';
import type { Parameter } from '../nn/parameter';
import { checkParameters } from './optimizer';

/** Scales all gradients so their joint L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipGradNorm(params: Iterable<Parameter>, maxNorm: number): number {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new ArgumentError(`maxNorm must be a finite number > 0, got ${maxNorm}`, { op: 'clipGradNorm', argument: 'maxNorm' });
  }
  const list = checkParameters('clipGradNorm', params).filter((p) => p.grad);
  let total = 0;
  for (const p of list) for (const g of p.grad!.data) total += g * g;
  const norm = Math.sqrt(total);
  if (norm > maxNorm && norm > 0) {
    const scale = maxNorm / norm;
    for (const p of list) {
      const g = p.grad!.data;
      for (let i = 0; i < g.length; i++) g[i] = g[i]! * scale;
    }
  }
  return norm;
}
