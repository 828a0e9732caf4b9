import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { ArgumentError } from '../errors/argument-error';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { permute, transpose } from './permute';

const GRAD = { atol: 1e-3, rtol: 1e-2 };

/** Naive permute: out[i_0, ..] = x[j] where x's index along axes[d] is the output index d. */
function naivePermute(x: Tensor, axes: number[]): { shape: number[]; data: number[] } {
  const shape = axes.map((a) => x.shape[a]!);
  const size = x.size;
  const data: number[] = [];
  for (let flat = 0; flat < size; flat++) {
    const outIndex = new Array<number>(shape.length);
    let rest = flat;
    for (let d = shape.length - 1; d >= 0; d--) {
      outIndex[d] = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
    }
    const inIndex = new Array<number>(x.rank);
    axes.forEach((a, d) => (inIndex[a] = outIndex[d]!));
    let src = 0;
    for (let d = 0; d < x.rank; d++) src = src * x.shape[d]! + inIndex[d]!;
    data.push(x.data[src]!);
  }
  return { shape, data };
}

describe('permute', () => {
  test.each([[[1, 0, 2]], [[2, 0, 1]], [[2, 1, 0]], [[0, 1, 2]], [[-1, 0, -2]]])('axes %j vs naive, gradient by gradcheck', (axes) => {
    const x = randn([2, 3, 4], new Rng(1)); // [A, B, C]
    const resolved = axes.map((a) => (a < 0 ? a + 3 : a));
    const expected = naivePermute(x, resolved);
    const out = permute(x, axes);
    expect(out.shape).toEqual(expected.shape);
    expectClose(out.data, expected.data, { atol: 0, rtol: 0 });
    expect(gradcheck((t) => permute(t, axes), [x], GRAD)).toMatchObject({ ok: true });
  });

  test('rank 4 and rank 1 and rank 0', () => {
    const x = randn([2, 3, 1, 5], new Rng(2)); // [A, B, 1, C]
    const axes = [3, 1, 0, 2];
    expectClose(permute(x, axes).data, naivePermute(x, axes).data, { atol: 0, rtol: 0 });
    expect(permute(x, axes).shape).toEqual([5, 3, 2, 1]);
    expect(Array.from(permute(tensor([1, 2, 3]), [0]).data)).toEqual([1, 2, 3]);
    expect(permute(tensor(5), []).item()).toBe(5);
  });

  test('the gradient is the upstream gradient permuted back', () => {
    const x = randn([2, 3, 4], new Rng(3), { requiresGrad: true }); // [A, B, C]
    const g = randn([4, 2, 3], new Rng(4)); // [C, A, B]
    permute(x, [2, 0, 1]).backward(g); // [A, B, C] -> [C, A, B]
    expect(x.grad!.shape).toEqual([2, 3, 4]);
    expectClose(x.grad!.data, naivePermute(g, [1, 2, 0]).data, { atol: 0, rtol: 0 });
  });

  test('copies: writing the output leaves the input alone', () => {
    const x = tensor([
      [1, 2],
      [3, 4],
    ]); // [2, 2]
    const y = permute(x, [1, 0]);
    y.data[1] = 100;
    expect(x.toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  test('rejects lists that are not a permutation', () => {
    const x = randn([2, 3, 4], new Rng(0));
    for (const axes of [
      [0, 1],
      [0, 0, 1],
      [0, 1, 2, 3],
    ]) {
      const error = expectThrows(() => permute(x, axes), ArgumentError);
      expect(error.op).toBe('permute');
      expect(error.message).toContain('[2, 3, 4]');
    }
    expect(expectThrows(() => permute(x, [0, 1, 3]), ArgumentError).argument).toBe('axes');
  });
});

describe('transpose', () => {
  test('defaults to the last two axes', () => {
    const x = tensor([
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    ]); // [1, 2, 3]
    const y = transpose(x); // [1, 3, 2]
    expect(y.toArray()).toEqual([
      [
        [1, 4],
        [2, 5],
        [3, 6],
      ],
    ]);
  });

  test('swaps any two axes, negative allowed, and equals the permute', () => {
    const x = randn([2, 3, 4], new Rng(5)); // [A, B, C]
    expect(Array.from(transpose(x, 0, 2).data)).toEqual(naivePermute(x, [2, 1, 0]).data);
    expect(Array.from(transpose(x, -3, 1).data)).toEqual(naivePermute(x, [1, 0, 2]).data);
    expect(transpose(x, 1, 1).shape).toEqual([2, 3, 4]);
    expect(gradcheck((t) => transpose(t, 0, 2), [x], GRAD)).toMatchObject({ ok: true });
  });

  test('an axis out of range names it', () => {
    const error = expectThrows(() => transpose(randn([2, 3], new Rng(0)), 0, 2), ArgumentError);
    expect(error.op).toBe('transpose');
    expect(error.argument).toBe('axis1');
    expect(error.message).toContain('[2, 3]');
  });
});
