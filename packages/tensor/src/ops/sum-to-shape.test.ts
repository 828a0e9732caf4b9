import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { Rng } from '../rng';
import { expectClose } from '../testing/expect-close';
import { sumToShape } from './sum-to-shape';

describe('sumToShape', () => {
  test('sums leading and size-1 axes back to the operand shape', () => {
    const g = randn([2, 3, 4], new Rng(1)); // [2, 3, 4]
    const toRow = sumToShape(g, [1, 4]); // [2, 3, 4] -> [1, 4]
    expect(toRow.shape).toEqual([1, 4]);
    expectClose(
      toRow.data,
      [0, 1, 2, 3].map((j) => {
        let s = 0;
        for (let r = 0; r < 6; r++) s += g.data[r * 4 + j]!;
        return s;
      }),
      { atol: 1e-6, rtol: 1e-6 },
    );
    const toColumn = sumToShape(g, [3, 1]); // [2, 3, 4] -> [3, 1]
    expectClose(
      toColumn.data,
      [0, 1, 2].map((i) => {
        let s = 0;
        for (let b = 0; b < 2; b++) for (let j = 0; j < 4; j++) s += g.data[b * 12 + i * 4 + j]!;
        return s;
      }),
      { atol: 1e-6, rtol: 1e-6 },
    );
    expect(
      sumToShape(
        tensor([
          [1, 2],
          [3, 4],
        ]),
        [],
      ).item(),
    ).toBe(10);
  });

  test('the same shape returns the gradient unchanged; results never alias a reduced input', () => {
    const g = tensor([1, 2]); // [2]
    expect(sumToShape(g, [2])).toBe(g);
    const h = tensor([[1, 2]]); // [1, 2]
    const out = sumToShape(h, [2]); // leading size-1 axis dropped, nothing summed
    expect(out.shape).toEqual([2]);
    expect(out.data).not.toBe(h.data);
    expect(Array.from(out.data)).toEqual([1, 2]);
  });

  test('records no graph', () => {
    const g = randn([2, 3], new Rng(2), { requiresGrad: true }); // [2, 3]
    const out = sumToShape(g, [3]);
    expect(out.requiresGrad).toBe(false);
    expect(out.node).toBeNull();
  });
});
