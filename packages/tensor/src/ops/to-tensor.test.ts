import { describe, expect, test } from 'vitest';
import { tensor } from '../creation';
import { toTensor } from './to-tensor';

describe('toTensor', () => {
  test('a number becomes a float32 scalar of shape [] without gradient tracking', () => {
    const t = toTensor(0.1);
    expect(t.shape).toEqual([]);
    expect(t.item()).toBe(Math.fround(0.1));
    expect(t.requiresGrad).toBe(false);
  });

  test('a tensor passes through as the same object', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true });
    expect(toTensor(x)).toBe(x);
  });
});
