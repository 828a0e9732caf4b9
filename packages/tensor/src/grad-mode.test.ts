import { describe, expect, test } from 'vitest';
import { ones, tensor } from './creation';
import { ArgumentError } from './errors/argument-error';
import { isGradEnabled, noGrad } from './grad-mode';
import { mul } from './ops/binary';
import { sum } from './ops/reduce';

describe('noGrad', () => {
  test('ops record no graph inside it', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true }); // [2]
    const y = noGrad(() => mul(x, x)); // [2]
    expect(Array.from(y.data)).toEqual([1, 4]);
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    expect(() => y.backward(ones([2]))).toThrow(ArgumentError);
    // outside again, the same op records
    const z = mul(x, x);
    expect(z.requiresGrad).toBe(true);
    expect(z.node!.op).toBe('mul');
  });

  test('returns the value, nests, and restores the mode after a throw', () => {
    expect(isGradEnabled()).toBe(true);
    const value = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      noGrad(() => expect(isGradEnabled()).toBe(false));
      expect(isGradEnabled()).toBe(false);
      return 42;
    });
    expect(value).toBe(42);
    expect(isGradEnabled()).toBe(true);
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
  });

  test('a gradient computed after noGrad ignores what happened inside', () => {
    const x = tensor([3], undefined, { requiresGrad: true }); // [1]
    const frozen = noGrad(() => mul(x, x)); // constant 9
    sum(mul(frozen, x)).backward(); // d(9x)/dx = 9
    expect(x.grad!.item()).toBe(9);
  });
});
