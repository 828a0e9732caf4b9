import { describe, expect, test } from 'vitest';
import { tensor } from '../creation';
import { Tensor } from '../tensor';
import { Parameter } from './parameter';

describe('Parameter', () => {
  test('is a leaf tensor that requires gradients', () => {
    const p = new Parameter(new Float32Array([1, 2]), [2]);
    expect(p).toBeInstanceOf(Tensor);
    expect(p.requiresGrad).toBe(true);
    expect(p.isLeaf).toBe(true);
  });

  test('Parameter.from copies the values and shape', () => {
    const t = tensor([
      [1, 2],
      [3, 4],
    ]); // [2, 2]
    const p = Parameter.from(t);
    expect(p.shape).toEqual([2, 2]);
    expect(Array.from(p.data)).toEqual([1, 2, 3, 4]);
    t.data[0] = 9;
    expect(p.data[0]).toBe(1);
  });
});
