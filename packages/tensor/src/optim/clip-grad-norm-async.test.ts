import { describe, expect, test } from 'vitest';
import { randn } from '../creation';
import { Parameter } from '../nn/parameter';
import { Rng } from '../rng';
import { expectClose } from '../testing/expect-close';
import { clipGradNormAsync } from './clip-grad-norm-async';

/** Float64 L2 norm over every gradient element. */
function naiveNorm(params: Parameter[]): number {
  let total = 0;
  for (const p of params) if (p.grad) for (const g of p.grad.data) total += g * g;
  return Math.sqrt(total);
}

describe('clipGradNormAsync on the CPU', () => {
  test('resolves to the joint norm and scales the gradients to maxNorm', async () => {
    const rng = new Rng(3);
    const params = [[3, 4], [5]].map((shape) => {
      const p = Parameter.from(randn(shape, rng));
      p.grad = randn(shape, rng).mul(3);
      return p;
    });
    const before = params.map((p) => Array.from(p.grad!.data));
    const norm = naiveNorm(params);
    expectClose([await clipGradNormAsync(params, 1)], [norm], { atol: 0, rtol: 1e-6 });
    params.forEach((p, k) =>
      expectClose(
        p.grad!.data,
        before[k]!.map((g) => g / norm),
        { atol: 1e-7, rtol: 1e-5 },
      ),
    );
  });

  test('refuses a maxNorm that is not a finite positive number', async () => {
    await expect(clipGradNormAsync([], 0)).rejects.toThrow(/clipGradNormAsync.*maxNorm must be a finite number > 0/s);
  });
});
