import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { ShapeError } from '../errors/shape-error';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { softmax } from './softmax';
import { maskedFill, where } from './where';

const GRAD = { atol: 1e-3, rtol: 1e-2 };

/** Value of `t` at a [rows, cols] output position under broadcasting (t of rank ≤ 2). */
function at(t: Tensor, i: number, j: number): number {
  const [r, c] = t.rank === 2 ? (t.shape as [number, number]) : t.rank === 1 ? [1, t.shape[0]!] : [1, 1];
  return t.data[(r === 1 ? 0 : i) * c + (c === 1 ? 0 : j)]!;
}

describe('where', () => {
  // condition [3, 1], a [1, 4], b [3, 4] -> [3, 4]
  const condition = tensor([[1], [0], [-0.5]]); // [3, 1]: any non-zero picks a
  const a = randn([1, 4], new Rng(1)); // [1, 4]
  const b = randn([3, 4], new Rng(2)); // [3, 4]

  test('picks a where the condition is non-zero, broadcasting all three', () => {
    const out = where(condition, a, b);
    expect(out.shape).toEqual([3, 4]);
    const expected: number[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) expected.push(at(condition, i, j) !== 0 ? at(a, i, j) : at(b, i, j));
    expectClose(out.data, expected, { atol: 0, rtol: 0 });
  });

  test('gradients go to both branches, summed over broadcast axes', () => {
    const ga = tensor(Array.from(a.data), [1, 4], { requiresGrad: true }); // [1, 4]
    const gb = tensor(Array.from(b.data), [3, 4], { requiresGrad: true }); // [3, 4]
    const g = randn([3, 4], new Rng(3)); // [3, 4]
    where(condition, ga, gb).backward(g);
    // a was taken in rows 0 and 2: grad a[j] = g[0, j] + g[2, j]; b gets g in row 1 only
    expectClose(
      ga.grad!.data,
      [0, 1, 2, 3].map((j) => g.data[j]! + g.data[8 + j]!),
      { atol: 1e-6, rtol: 1e-6 },
    );
    expectClose(
      gb.grad!.data,
      Array.from(g.data, (v, k) => (Math.floor(k / 4) === 1 ? v : 0)),
      { atol: 0, rtol: 0 },
    );
    expect(gradcheck((x, y) => where(condition, x, y), [a, b], GRAD)).toMatchObject({ ok: true });
  });

  test('numbers on either side', () => {
    const mask = tensor([true, false, true]); // [3]
    expect(Array.from(where(mask, 1, 0).data)).toEqual([1, 0, 1]);
    const x = tensor([5, 6, 7], undefined, { requiresGrad: true }); // [3]
    const y = where(mask, x, -1);
    expect(Array.from(y.data)).toEqual([5, -1, 7]);
    y.backward(tensor([1, 1, 1]));
    expect(Array.from(x.grad!.data)).toEqual([1, 0, 1]);
  });

  test('the condition may be the only broadcast operand', () => {
    const c = tensor([[1, 0]]); // [1, 2]
    expect(
      where(
        c,
        tensor([
          [1, 2],
          [3, 4],
        ]),
        tensor([
          [5, 6],
          [7, 8],
        ]),
      ).toArray(),
    ).toEqual([
      [1, 6],
      [3, 8],
    ]);
    expect(where(tensor([[1], [0]]), tensor(9), tensor([1, 2, 3])).toArray()).toEqual([
      [9, 9, 9],
      [1, 2, 3],
    ]);
  });

  test('shapes that do not broadcast are a ShapeError naming them', () => {
    const error = expectThrows(() => where(tensor([1, 0, 1]), tensor([1, 2]), 0), ShapeError);
    expect(error.op).toBe('where');
    expect(error.shapes).toEqual({ condition: [3], a: [2] });
    expect(error.message).toContain('[3]');
    expect(error.message).toContain('[2]');
    expect(expectThrows(() => where(tensor([1, 0]), tensor([1, 2]), tensor([1, 2, 3])), ShapeError).argument).toBe('b');
  });
});

describe('maskedFill', () => {
  test('writes the value where the mask is set, broadcasting the mask, and equals where(mask, value, x)', () => {
    const x = randn([2, 3], new Rng(4)); // [2, 3]
    const mask = tensor([[false, true, false]]); // [1, 3]
    const out = maskedFill(x, mask, -Infinity);
    expect(out.shape).toEqual([2, 3]);
    expect(Array.from(out.data)).toEqual(Array.from(x.data, (v, k) => (k % 3 === 1 ? -Infinity : v)));
    expect(Array.from(out.data)).toEqual(Array.from(where(mask, -Infinity, x).data));
  });

  test('no gradient reaches filled entries; the others pass through', () => {
    const x = randn([2, 3], new Rng(5), { requiresGrad: true }); // [2, 3]
    maskedFill(
      x,
      tensor([
        [1, 0, 0],
        [0, 0, 1],
      ]),
      0,
    ).backward(
      tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    );
    expect(x.grad!.toArray()).toEqual([
      [0, 2, 3],
      [4, 5, 0],
    ]);
    expect(gradcheck((t) => maskedFill(t, tensor([[1, 0, 1]]), 3), [randn([2, 3], new Rng(6))], GRAD)).toMatchObject({ ok: true });
  });

  test('masked attention: filled with −∞ then softmax gives zero weight and no NaN gradient', () => {
    const scores = randn([2, 4], new Rng(7), { requiresGrad: true }); // [2, 4]
    const mask = tensor([
      [0, 0, 1, 1],
      [1, 1, 1, 1],
    ]); // second row fully masked
    const weights = softmax(maskedFill(scores, mask, -Infinity));
    expect(Array.from(weights.data.subarray(4))).toEqual([0, 0, 0, 0]);
    expect(weights.data[2]).toBe(0);
    weights.backward(randn([2, 4], new Rng(8)));
    expect(Array.from(scores.grad!.data).every(Number.isFinite)).toBe(true);
    expectClose(Array.from(scores.grad!.data).slice(2), [0, 0, 0, 0, 0, 0], { atol: 0, rtol: 0 });
  });
});
