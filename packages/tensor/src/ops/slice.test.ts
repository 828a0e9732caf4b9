import { describe, expect, test } from 'vitest';
import { arange, randn, tensor } from '../creation';
import { ArgumentError } from '../errors/argument-error';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { concat } from './concat';
import { slice, split } from './slice';

const GRAD = { atol: 1e-3, rtol: 1e-2 };

/** Naive slice: every input element whose index along `axis` is in [from, to), in row-major order. */
function naiveSlice(x: Tensor, axis: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let flat = 0; flat < x.size; flat++) {
    let rest = flat;
    let along = 0;
    for (let d = x.rank - 1; d >= 0; d--) {
      if (d === axis) along = rest % x.shape[d]!;
      rest = Math.floor(rest / x.shape[d]!);
    }
    if (along >= from && along < to) out.push(x.data[flat]!);
  }
  return out;
}

describe('slice', () => {
  const x = randn([3, 5, 4], new Rng(1)); // [A, B, C]

  test.each([
    [0, 1, 3, 1, 3],
    [1, 0, 5, 0, 5],
    [1, 2, 4, 2, 4],
    [2, 3, undefined, 3, 4],
    [-1, -3, -1, 1, 3],
    [1, -2, undefined, 3, 5],
    [1, 2, 2, 2, 2],
  ])('axis %i, [%s, %s) vs naive, with gradients', (axis, start, end, from, to) => {
    const ax = axis < 0 ? axis + 3 : axis;
    const out = slice(x, axis, start, end);
    expect(out.shape).toEqual([3, 5, 4].map((d, i) => (i === ax ? to - from : d)));
    expectClose(out.data, naiveSlice(x, ax, from, to), { atol: 0, rtol: 0 });
    expect(gradcheck((t) => slice(t, axis, start, end), [x], GRAD)).toMatchObject({ ok: true });
  });

  test('the gradient is the upstream gradient placed in zeros', () => {
    const t = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      undefined,
      { requiresGrad: true },
    ); // [2, 3]
    slice(t, 1, 1, 3).backward(
      tensor([
        [10, 20],
        [30, 40],
      ]),
    ); // [2, 2]
    expect(t.grad!.toArray()).toEqual([
      [0, 10, 20],
      [0, 30, 40],
    ]);
  });

  test('out-of-bounds and reversed ranges are ArgumentErrors naming the shape', () => {
    for (const [start, end] of [
      [0, 6],
      [-6, 2],
      [3, 2],
      [0.5, 2],
    ]) {
      const error = expectThrows(() => slice(x, 1, start!, end), ArgumentError);
      expect(error.op).toBe('slice');
      expect(error.message).toContain('[3, 5, 4]');
      expect(error.message).toContain('size 5');
    }
    expect(expectThrows(() => slice(x, 3, 0, 1), ArgumentError).op).toBe('slice');
  });
});

describe('split', () => {
  test('into equal sections, and concat undoes it', () => {
    const x = randn([2, 6], new Rng(2)); // [2, 6]
    const parts = split(x, 3, 1); // 3 x [2, 2]
    expect(parts.map((p) => p.shape)).toEqual([
      [2, 2],
      [2, 2],
      [2, 2],
    ]);
    parts.forEach((p, i) => expectClose(p.data, naiveSlice(x, 1, 2 * i, 2 * i + 2), { atol: 0, rtol: 0 }));
    expectClose(concat(parts, 1).data, x.data, { atol: 0, rtol: 0 });
  });

  test('into given sizes along the default axis 0, zero sizes allowed', () => {
    const x = arange(6).reshape([6, 1]); // [6, 1]
    const parts = split(x, [1, 0, 3, 2]);
    expect(parts.map((p) => p.shape)).toEqual([
      [1, 1],
      [0, 1],
      [3, 1],
      [2, 1],
    ]);
    expect(parts.map((p) => Array.from(p.data))).toEqual([[0], [], [1, 2, 3], [4, 5]]);
  });

  test('gradients from every piece land in their places', () => {
    const x = randn([3, 4], new Rng(3)); // [3, 4]
    expect(gradcheck((t) => concat(split(t, [1, 3], -1).reverse(), 1), [x], GRAD)).toMatchObject({ ok: true });
    const y = tensor([1, 2, 3, 4], undefined, { requiresGrad: true }); // [4]
    const [a, b] = split(y, [3, 1]);
    a!.backward(tensor([1, 1, 1]));
    b!.backward(tensor([5]));
    expect(Array.from(y.grad!.data)).toEqual([1, 1, 1, 5]);
  });

  test('sizes that do not add up, and sections that do not divide, are ArgumentErrors', () => {
    const x = randn([2, 6], new Rng(0)); // [2, 6]
    const sum = expectThrows(() => split(x, [2, 3], 1), ArgumentError);
    expect(sum.op).toBe('split');
    expect(sum.message).toContain('[2, 3]');
    expect(sum.message).toContain('[2, 6]');
    expect(expectThrows(() => split(x, [7, -1], 1), ArgumentError).argument).toBe('sizes');
    expect(expectThrows(() => split(x, 4, 1), ArgumentError).message).toContain('4 equal parts');
    expect(expectThrows(() => split(x, 0, 1), ArgumentError).argument).toBe('sizes');
  });
});
