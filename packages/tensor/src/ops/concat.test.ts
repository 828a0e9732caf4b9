import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { ArgumentError } from '../errors/argument-error';
import { ShapeError } from '../errors/shape-error';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { concat } from './concat';

const GRAD = { atol: 1e-3, rtol: 1e-2 };

/** Naive concat: for every output index, find the input that owns its position along the axis. */
function naiveConcat(parts: Tensor[], axis: number): number[] {
  const shape = [...parts[0]!.shape];
  shape[axis] = parts.reduce((s, t) => s + t.shape[axis]!, 0);
  const size = shape.reduce((p, d) => p * d, 1);
  const out: number[] = [];
  for (let flat = 0; flat < size; flat++) {
    const index = new Array<number>(shape.length);
    let rest = flat;
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d] = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
    }
    let along = index[axis]!;
    let owner = 0;
    while (along >= parts[owner]!.shape[axis]!) along -= parts[owner++]!.shape[axis]!;
    const t = parts[owner]!;
    let src = 0;
    for (let d = 0; d < shape.length; d++) src = src * t.shape[d]! + (d === axis ? along : index[d]!);
    out.push(t.data[src]!);
  }
  return out;
}

describe('concat', () => {
  test.each([0, 1, 2, -1])('axis %i vs naive, with gradients', (axis) => {
    const rng = new Rng(1);
    const ax = axis < 0 ? axis + 3 : axis;
    const shapes = [2, 1, 3].map((n) => [2, 3, 4].map((d, i) => (i === ax ? n : d)));
    const parts = shapes.map((s) => randn(s, rng));
    const out = concat(parts, axis);
    expect(out.shape).toEqual([2, 3, 4].map((d, i) => (i === ax ? 6 : d)));
    expectClose(out.data, naiveConcat(parts, ax), { atol: 0, rtol: 0 });
    expect(gradcheck((...ts) => concat(ts, axis), parts, GRAD)).toMatchObject({ ok: true });
  });

  test('hand example and default axis 0', () => {
    const a = tensor([[1, 2]]); // [1, 2]
    const b = tensor([
      [3, 4],
      [5, 6],
    ]); // [2, 2]
    expect(concat([a, b]).toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(concat([b, b], 1).toArray()).toEqual([
      [3, 4, 3, 4],
      [5, 6, 5, 6],
    ]);
    expect(concat([a]).toArray()).toEqual([[1, 2]]);
  });

  test('each input receives its slice of the upstream gradient', () => {
    const a = tensor([[1], [2]], undefined, { requiresGrad: true }); // [2, 1]
    const b = tensor(
      [
        [3, 4],
        [5, 6],
      ],
      undefined,
      { requiresGrad: true },
    ); // [2, 2]
    const c = tensor([[7], [8]]); // [2, 1], no gradient
    concat([a, b, c], 1).backward(
      tensor([
        [10, 20, 30, 40],
        [50, 60, 70, 80],
      ]),
    ); // [2, 4]
    expect(a.grad!.toArray()).toEqual([[10], [50]]);
    expect(b.grad!.toArray()).toEqual([
      [20, 30],
      [60, 70],
    ]);
    expect(c.grad).toBeNull();
  });

  test('the same tensor twice accumulates both slices', () => {
    const a = tensor([1, 2], undefined, { requiresGrad: true }); // [2]
    concat([a, a]).backward(tensor([1, 10, 100, 1000]));
    expect(Array.from(a.grad!.data)).toEqual([101, 1010]);
  });

  test('errors: no inputs, mismatched shapes (named), bad axis', () => {
    expect(expectThrows(() => concat([]), ArgumentError).argument).toBe('tensors');
    const error = expectThrows(() => concat([randn([2, 3], new Rng(0)), randn([3, 3], new Rng(0))], 1), ShapeError);
    expect(error.op).toBe('concat');
    expect(error.argument).toBe('tensors[1]');
    expect(error.shapes).toEqual({ 'tensors[0]': [2, 3], 'tensors[1]': [3, 3] });
    expect(error.message).toContain('[3, 3]');
    expect(error.message).toContain('[2, 3]');
    expect(expectThrows(() => concat([randn([2, 3], new Rng(0)), randn([6], new Rng(0))]), ShapeError).argument).toBe('tensors[1]');
    expect(expectThrows(() => concat([randn([2, 3], new Rng(0))], 2), ArgumentError).op).toBe('concat');
  });
});
