import { ArgumentError } from '../errors/argument-error';
import { noGrad } from '../grad-mode';
import type { Parameter } from '../nn/parameter';
import { add, div, maximum, mul } from '../ops/binary';
import { sum } from '../ops/reduce';
import { sqrt } from '../ops/unary';
import type { Tensor } from '../tensor';
import { clipGradNorm } from './clip-grad-norm';
import { checkParameters } from './optimizer';

/**
 * `clipGradNorm` for gradients on any device: on the CPU it is `clipGradNorm`; on a device the norm and the
 * scale min(1, maxNorm / norm) are computed there and every gradient is scaled there (no read in between), then
 * the norm before clipping is read back (the one wait). Resolves to that norm.
 */
export async function clipGradNormAsync(params: Iterable<Parameter>, maxNorm: number): Promise<number> {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) {
    throw new ArgumentError(`maxNorm must be a finite number > 0, got ${maxNorm}`, { op: 'clipGradNormAsync', argument: 'maxNorm' });
  }
  const list = checkParameters('clipGradNormAsync', params).filter((p) => p.grad);
  if (list.every((p) => p.grad!.device === 'cpu')) return clipGradNorm(list, maxNorm);
  const norm = noGrad(() => {
    let total: Tensor | null = null;
    for (const p of list) {
      const squares = sum(mul(p.grad!, p.grad!)); // []
      total = total === null ? squares : add(total, squares);
    }
    const norm = sqrt(total!); // []
    const scale = div(maxNorm, maximum(norm, maxNorm)); // [] = min(1, maxNorm / norm), 1 when norm = 0
    for (const p of list) p.grad = mul(p.grad!, scale);
    return norm;
  });
  return (await norm.read())[0]!;
}
