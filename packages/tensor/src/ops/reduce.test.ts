import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { ArgumentError } from '../errors/argument-error';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { max, mean, min, sum } from './reduce';

// x is [A, B, C] = [2, 3, 4] throughout.
const FORWARD = { atol: 1e-6, rtol: 1e-6 };
const GRAD = { atol: 1e-3, rtol: 1e-2 };

type Kind = 'sum' | 'mean' | 'max' | 'min';

/** Naive reduction: walk every input element, map its index to the output index, combine in float64. */
function naiveReduce(kind: Kind, x: Tensor, axes: number[] | undefined, keepDims: boolean): { shape: number[]; data: number[] } {
  const rank = x.rank;
  const reduced = new Set((axes ?? x.shape.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a)));
  const kept = x.shape.map((d, i) => (reduced.has(i) ? 1 : d));
  const size = kept.reduce((p, d) => p * d, 1);
  const start = kind === 'max' ? -Infinity : kind === 'min' ? Infinity : 0;
  const acc = new Array<number>(size).fill(start);
  let count = 1;
  for (const a of reduced) count *= x.shape[a]!;
  for (let flat = 0; flat < x.size; flat++) {
    let rest = flat;
    const index = new Array<number>(rank);
    for (let i = rank - 1; i >= 0; i--) {
      index[i] = rest % x.shape[i]!;
      rest = Math.floor(rest / x.shape[i]!);
    }
    let o = 0;
    for (let i = 0; i < rank; i++) o = o * kept[i]! + (reduced.has(i) ? 0 : index[i]!);
    const v = x.data[flat]!;
    acc[o] = kind === 'max' ? Math.max(acc[o]!, v) : kind === 'min' ? Math.min(acc[o]!, v) : acc[o]! + v;
  }
  const data = kind === 'mean' ? acc.map((v) => v / count) : acc;
  const shape = keepDims ? kept : x.shape.filter((_, i) => !reduced.has(i));
  return { shape, data };
}

/** [2, 3, 4] holding a shuffled 0.1-spaced grid: no ties, gaps wider than the gradcheck step. */
function distinct(seed: number): Tensor {
  const rng = new Rng(seed);
  const values = Array.from({ length: 24 }, (_, i) => (i - 12) * 0.1);
  for (let i = values.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return tensor(values, [2, 3, 4]);
}

const AXES: (number[] | undefined)[] = [[0], [1], [2], [-1], [-3], [0, 2], [2, 0], [-1, 0], [0, 1, 2], undefined];
const CASES = AXES.flatMap((axes) => [true, false].map((keepDims) => ({ axes, keepDims })));
const REDUCERS = { sum, mean, max, min } as const;

describe.each(['sum', 'mean', 'max', 'min'] as const)('%s', (kind) => {
  const reduce = REDUCERS[kind];

  test.each(CASES)('forward vs naive: axes $axes, keepDims $keepDims', ({ axes, keepDims }) => {
    const x = randn([2, 3, 4], new Rng(1));
    const expected = naiveReduce(kind, x, axes, keepDims);
    const out = reduce(x, axes, keepDims);
    expect(out.shape).toEqual(expected.shape);
    expectClose(out.data, expected.data, FORWARD, kind);
  });

  test.each(CASES)('gradcheck: axes $axes, keepDims $keepDims', ({ axes, keepDims }) => {
    const x = distinct(2);
    expect(gradcheck((t) => reduce(t, axes, keepDims), [x], GRAD)).toMatchObject({ ok: true });
  });

  test('a single number axis equals the one-element list', () => {
    const x = randn([2, 3, 4], new Rng(3));
    expect(Array.from(reduce(x, 1).data)).toEqual(Array.from(reduce(x, [1]).data));
    expect(reduce(x, -2, true).shape).toEqual([2, 1, 4]);
  });

  test('an axis out of range is an ArgumentError naming it and the shape', () => {
    const x = randn([2, 3, 4], new Rng(0));
    for (const axes of [3, [0, -4]]) {
      const error = expectThrows(() => reduce(x, axes), ArgumentError);
      expect(error.op).toBe(kind);
      expect(error.message).toContain('[2, 3, 4]');
    }
    expect(expectThrows(() => reduce(x, 1.5), ArgumentError).message).toContain('1.5');
  });
});

describe('reductions by hand', () => {
  const x = tensor([
    [1, 5, 2],
    [7, -3, 4],
  ]); // [2, 3]

  test('values and shapes', () => {
    expect(sum(x).shape).toEqual([]);
    expect(sum(x).item()).toBe(16);
    expect(sum(x, undefined, true).shape).toEqual([1, 1]);
    expect(sum(x, 0).toArray()).toEqual([8, 2, 6]);
    expect(sum(x, 1, true).toArray()).toEqual([[8], [8]]);
    expect(mean(x, 0).toArray()).toEqual([4, 1, 3]);
    expect(max(x, 1).toArray()).toEqual([5, 7]);
    expect(min(x, 0).toArray()).toEqual([1, -3, 2]);
    expect(max(x).item()).toBe(7);
    expect(min(x, [0, 1], true).toArray()).toEqual([[-3]]);
  });

  test('duplicate axes count once; an empty axis list reduces nothing', () => {
    expect(sum(x, [1, -1]).toArray()).toEqual([8, 8]);
    const same = sum(x, []);
    expect(same.shape).toEqual([2, 3]);
    expect(same.data).not.toBe(x.data);
    expect(same.toArray()).toEqual(x.toArray());
  });

  test('sum and mean gradients spread the upstream gradient evenly', () => {
    const t = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      undefined,
      { requiresGrad: true },
    ); // [2, 3]
    mean(t, 1).backward(tensor([3, 6])); // [2]
    expect(t.grad!.toArray()).toEqual([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    const u = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      undefined,
      { requiresGrad: true },
    ); // [2, 3]
    sum(u, 0, true).backward(tensor([[1, 2, 3]])); // [1, 3]
    expect(u.grad!.toArray()).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
  });

  test('max and min send the gradient to the first extreme entry only', () => {
    const t = tensor(
      [
        [3, 1, 3],
        [0, 0, -2],
      ],
      undefined,
      { requiresGrad: true },
    ); // [2, 3]
    max(t, 1).backward(tensor([10, 20])); // [2]
    expect(t.grad!.toArray()).toEqual([
      [10, 0, 0],
      [20, 0, 0],
    ]);
    const u = tensor(
      [
        [3, 1, 3],
        [0, 1, 1],
      ],
      undefined,
      { requiresGrad: true },
    ); // [2, 3]
    min(u).backward();
    expect(u.grad!.toArray()).toEqual([
      [0, 0, 0],
      [1, 0, 0],
    ]);
  });

  test('max and min propagate NaN', () => {
    const t = tensor([1, NaN, 3]); // [3]
    expect(max(t).item()).toBeNaN();
    expect(min(t).item()).toBeNaN();
  });
});
