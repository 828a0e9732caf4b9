import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { ArgumentError } from '../errors/argument-error';
import { ShapeError } from '../errors/shape-error';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { embedding, gather } from './gather';

// Shape letters: x [A, B, C]; embedding weight [V, D], ids [...] -> [..., D].
const GRAD = { atol: 1e-3, rtol: 1e-2 };

/** Naive gather: out[idx] = x[idx with position `axis` replaced by index[idx]], by index arithmetic. */
function naiveGather(x: Tensor, axis: number, index: Tensor): number[] {
  const out: number[] = [];
  for (let flat = 0; flat < index.size; flat++) {
    const pos = new Array<number>(index.rank);
    let rest = flat;
    for (let d = index.rank - 1; d >= 0; d--) {
      pos[d] = rest % index.shape[d]!;
      rest = Math.floor(rest / index.shape[d]!);
    }
    pos[axis] = index.data[flat]!;
    let src = 0;
    for (let d = 0; d < x.rank; d++) src = src * x.shape[d]! + pos[d]!;
    out.push(x.data[src]!);
  }
  return out;
}

/** Integer indices in [0, n) of `shape`. */
function indices(shape: number[], n: number, rng: Rng): Tensor {
  const t = tensor(new Float32Array(shape.reduce((p, d) => p * d, 1)), shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.int(n);
  return t;
}

describe('gather', () => {
  test.each([
    { axis: 0, indexShape: [5, 3, 4] },
    { axis: 1, indexShape: [2, 6, 4] },
    { axis: 2, indexShape: [2, 3, 2] },
    { axis: -1, indexShape: [1, 2, 7] }, // smaller than x off the axis
  ])('axis $axis, index $indexShape vs naive, with gradcheck', ({ axis, indexShape }) => {
    const rng = new Rng(1);
    const x = randn([2, 3, 4], rng); // [A, B, C]
    const ax = axis < 0 ? axis + 3 : axis;
    const index = indices(indexShape, x.shape[ax]!, rng);
    const out = gather(x, axis, index);
    expect(out.shape).toEqual(indexShape);
    expectClose(out.data, naiveGather(x, ax, index), { atol: 0, rtol: 0 });
    expect(gradcheck((t) => gather(t, axis, index), [x], GRAD)).toMatchObject({ ok: true });
  });

  test('hand example: picking one column per row, gradient scatter-adds repeats', () => {
    const x = tensor(
      [
        [10, 11, 12],
        [20, 21, 22],
      ],
      undefined,
      { requiresGrad: true },
    ); // [2, 3]
    const index = tensor([
      [2, 2, 0],
      [1, 1, 1],
    ]); // [2, 3]
    const y = gather(x, 1, index);
    expect(y.toArray()).toEqual([
      [12, 12, 10],
      [21, 21, 21],
    ]);
    y.backward(
      tensor([
        [1, 2, 4],
        [8, 16, 32],
      ]),
    );
    expect(x.grad!.toArray()).toEqual([
      [4, 0, 3],
      [0, 56, 0],
    ]);
  });

  test('out-of-range, negative and fractional indices are ArgumentErrors naming the value and shape', () => {
    const x = randn([2, 3], new Rng(0)); // [2, 3]
    for (const bad of [3, -1, 0.5]) {
      const error = expectThrows(() => gather(x, 1, tensor([[0], [bad]])), ArgumentError);
      expect(error.op).toBe('gather');
      expect(error.argument).toBe('index');
      expect(error.message).toContain(`index value ${bad}`);
      expect(error.message).toContain('[2, 3]');
    }
  });

  test('an index of another rank, or larger than x off the axis, is a ShapeError naming both shapes', () => {
    const x = randn([2, 3], new Rng(0)); // [2, 3]
    const rank = expectThrows(() => gather(x, 1, tensor([0, 1])), ShapeError);
    expect(rank.shapes).toEqual({ x: [2, 3], index: [2] });
    expect(rank.message).toContain('[2, 3]');
    expect(expectThrows(() => gather(x, 1, tensor([[0], [1], [2]])), ShapeError).shapes).toEqual({ x: [2, 3], index: [3, 1] });
  });
});

describe('embedding', () => {
  const weight = randn([5, 3], new Rng(2)); // [V, D]

  test('picks rows: ids [2, 3] -> [2, 3, D], ids as a plain array -> [n, D]', () => {
    const ids = tensor([
      [4, 0, 4],
      [1, 2, 3],
    ]); // [2, 3]
    const out = embedding(weight, ids); // [2, 3, D]
    expect(out.shape).toEqual([2, 3, 3]);
    const expected = Array.from(ids.data).flatMap((r) => Array.from(weight.data.subarray(r * 3, r * 3 + 3)));
    expectClose(out.data, expected, { atol: 0, rtol: 0 });
    const flat = embedding(weight, [3, 3]); // [2, D]
    expect(flat.shape).toEqual([2, 3]);
    expectClose(flat.data, [...weight.data.subarray(9, 12), ...weight.data.subarray(9, 12)], { atol: 0, rtol: 0 });
  });

  test('the gradient scatter-adds into the rows, repeated ids accumulate', () => {
    const w = tensor(Array.from(weight.data), [5, 3], { requiresGrad: true }); // [V, D]
    const g = tensor([
      [1, 2, 3],
      [10, 20, 30],
      [100, 200, 300],
    ]); // [3, D]
    embedding(w, [1, 4, 1]).backward(g);
    expect(w.grad!.toArray()).toEqual([
      [0, 0, 0],
      [101, 202, 303],
      [0, 0, 0],
      [0, 0, 0],
      [10, 20, 30],
    ]);
    expect(
      gradcheck(
        (t) =>
          embedding(
            t,
            tensor([
              [0, 2],
              [2, 2],
            ]),
          ),
        [weight],
        GRAD,
      ),
    ).toMatchObject({ ok: true });
  });

  test('an out-of-range id is an ArgumentError naming the id, its position and the weight shape', () => {
    const error = expectThrows(() => embedding(weight, [0, 5]), ArgumentError);
    expect(error.op).toBe('embedding');
    expect(error.argument).toBe('indices');
    expect(error.message).toContain('index 5 at position 1');
    expect(error.message).toContain('[5, 3]');
    expect(expectThrows(() => embedding(weight, [-1]), ArgumentError).argument).toBe('indices');
    expect(expectThrows(() => embedding(weight, [1.5]), ArgumentError).argument).toBe('indices');
  });

  test('a weight that is not [V, D] is a ShapeError', () => {
    expect(expectThrows(() => embedding(randn([5], new Rng(0)), [0]), ShapeError).shapes).toEqual({ weight: [5] });
  });
});
