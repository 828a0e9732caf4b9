import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { ShapeError } from '../errors/shape-error';
import { Rng } from '../rng';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { broadcastTo } from './broadcast-to';

const GRAD = { atol: 1e-3, rtol: 1e-2 };

describe('broadcastTo', () => {
  test('repeats size-1 and missing leading axes', () => {
    const x = tensor([[1], [2]]); // [2, 1]
    const y = broadcastTo(x, [3, 2, 4]); // [2, 1] -> [3, 2, 4]
    expect(y.shape).toEqual([3, 2, 4]);
    for (let b = 0; b < 3; b++) {
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 4; j++) expect(y.data[b * 8 + i * 4 + j]).toBe(i + 1);
      }
    }
    expect(Array.from(broadcastTo(tensor(5), [2, 2]).data)).toEqual([5, 5, 5, 5]);
    expect(Array.from(broadcastTo(tensor([1, 2, 3]), [2, 3]).data)).toEqual([1, 2, 3, 1, 2, 3]);
  });

  test('the same shape returns the input itself', () => {
    const x = tensor([1, 2]); // [2]
    expect(broadcastTo(x, [2])).toBe(x);
  });

  test('the gradient sums over the repeated axes', () => {
    const x = randn([3, 1], new Rng(1), { requiresGrad: true }); // [3, 1]
    const g = randn([2, 3, 4], new Rng(2)); // [2, 3, 4]
    broadcastTo(x, [2, 3, 4]).backward(g);
    const expected = [0, 1, 2].map((i) => {
      let s = 0;
      for (let b = 0; b < 2; b++) for (let j = 0; j < 4; j++) s += g.data[b * 12 + i * 4 + j]!;
      return s;
    });
    expect(x.grad!.shape).toEqual([3, 1]);
    expectClose(x.grad!.data, expected, { atol: 1e-6, rtol: 1e-6 });
    expect(gradcheck((t) => broadcastTo(t, [2, 3, 4]), [randn([1, 4], new Rng(3))], GRAD)).toMatchObject({ ok: true });
  });

  test('refuses shapes it cannot reach, naming both', () => {
    const x = randn([2, 3], new Rng(0)); // [2, 3]
    const incompatible = expectThrows(() => broadcastTo(x, [2, 4]), ShapeError);
    expect(incompatible.op).toBe('broadcastTo');
    expect(incompatible.message).toContain('[2, 3]');
    expect(incompatible.message).toContain('[2, 4]');
    // compatible with broadcasting, but the result would be larger than the target
    const shrinking = expectThrows(() => broadcastTo(x, [3]), ShapeError);
    expect(shrinking.shapes).toEqual({ x: [2, 3], shape: [3] });
    expect(expectThrows(() => broadcastTo(tensor([[1], [2]]), [1, 4]), ShapeError).shapes).toEqual({ x: [2, 1], shape: [1, 4] });
  });
});
