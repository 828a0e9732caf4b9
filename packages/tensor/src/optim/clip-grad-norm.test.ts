import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { Parameter } from '../nn/parameter';
import { Rng } from '../rng';
import { expectClose } from '../testing/expect-close';
import { clipGradNorm } from './clip-grad-norm';

/** Float64 L2 norm over every gradient element. */
function naiveNorm(params: Parameter[]): number {
  let total = 0;
  for (const p of params) if (p.grad) for (const g of p.grad.data) total += g * g;
  return Math.sqrt(total);
}

function withGrads(seed: number, scale: number): Parameter[] {
  const rng = new Rng(seed);
  return [[3, 4], [5], [2, 2]].map((shape) => {
    const p = Parameter.from(randn(shape, rng));
    p.grad = randn(shape, rng).mul(scale);
    return p;
  });
}

describe('clipGradNorm', () => {
  test('returns the joint norm and scales every gradient to maxNorm when above it', () => {
    const params = withGrads(1, 3);
    const before = params.map((p) => Array.from(p.grad!.data));
    const norm = naiveNorm(params);
    expect(norm).toBeGreaterThan(1);
    expectClose([clipGradNorm(params, 1)], [norm], { atol: 0, rtol: 1e-6 });
    expectClose([naiveNorm(params)], [1], { atol: 0, rtol: 1e-6 });
    params.forEach((p, k) =>
      expectClose(
        p.grad!.data,
        before[k]!.map((g) => g / norm),
        { atol: 1e-7, rtol: 1e-5 },
      ),
    );
  });

  test('leaves gradients untouched below maxNorm', () => {
    const params = withGrads(2, 0.01);
    const before = params.map((p) => Array.from(p.grad!.data));
    const norm = clipGradNorm(params, 10);
    expectClose([norm], [naiveNorm(params)], { atol: 0, rtol: 1e-6 });
    params.forEach((p, k) => expect(Array.from(p.grad!.data)).toEqual(before[k]));
  });

  test('hand example, parameters without gradients ignored, zero gradients stay zero', () => {
    const a = Parameter.from(tensor([0, 0]));
    a.grad = tensor([3, 4]);
    const b = Parameter.from(tensor([1]));
    expect(clipGradNorm([a, b], 1)).toBe(5);
    expectClose(a.grad.data, [0.6, 0.8], { atol: 1e-7, rtol: 0 });
    expect(b.grad).toBeNull();
    const z = Parameter.from(tensor([1, 1]));
    z.grad = tensor([0, 0]);
    expect(clipGradNorm([z], 1)).toBe(0);
    expect(Array.from(z.grad.data)).toEqual([0, 0]);
  });
});

describe('clipGradNorm validation', () => {
  test('refuses a non-positive or non-finite maxNorm', () => {
    const p = new Parameter(new Float32Array([1]), [1]);
    p.grad = tensor([3]);
    expect(() => clipGradNorm([p], -1)).toThrow('clipGradNorm: maxNorm must be a finite number > 0, got -1');
    expect(() => clipGradNorm([p], Number.NaN)).toThrow(/maxNorm/);
    expect(p.grad.data[0]).toBe(3);
  });
});
