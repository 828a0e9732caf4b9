import { describe, expect, test } from 'vitest';
import { arange, full, ones, onesLike, rand, randn, tensor, zeros, zerosLike } from './creation';
import { ArgumentError } from './errors/argument-error';
import { ShapeError } from './errors/shape-error';
import { Rng } from './rng';
import { expectThrows } from './testing/expect-throws';

describe('tensor', () => {
  test('infers the shape of nested arrays, row-major', () => {
    const t = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]); // [2, 3]
    expect(t.shape).toEqual([2, 3]);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.data).toBeInstanceOf(Float32Array);

    const deep = tensor([
      [[1], [2]],
      [[3], [4]],
    ]); // [2, 2, 1]
    expect(deep.shape).toEqual([2, 2, 1]);
    expect(Array.from(deep.data)).toEqual([1, 2, 3, 4]);
  });

  test('takes flat values with a shape (arrays and typed arrays)', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [3, 2]); // [3, 2]
    expect(t.shape).toEqual([3, 2]);
    expect(t.toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const typed = tensor(new Float64Array([0.5, 1.5]), [2, 1]); // [2, 1]
    expect(typed.shape).toEqual([2, 1]);
    expect(Array.from(typed.data)).toEqual([0.5, 1.5]);
    expect(tensor(new Int32Array([7, 8, 9])).shape).toEqual([3]);
  });

  test('rounds values to float32 and copies its input', () => {
    const source = [0.1, 1 / 3];
    const t = tensor(source);
    expect(Array.from(t.data)).toEqual([Math.fround(0.1), Math.fround(1 / 3)]);
    const typed = new Float32Array([1, 2]);
    const u = tensor(typed);
    typed[0] = 99;
    expect(u.data[0]).toBe(1);
  });

  test('booleans become 1 and 0', () => {
    const mask = tensor([
      [true, false],
      [false, true],
    ]); // [2, 2]
    expect(Array.from(mask.data)).toEqual([1, 0, 0, 1]);
    expect(tensor(true).item()).toBe(1);
  });

  test('a number is a scalar of shape []', () => {
    const s = tensor(3.5);
    expect(s.shape).toEqual([]);
    expect(s.rank).toBe(0);
    expect(s.size).toBe(1);
    expect(s.item()).toBe(3.5);
    expect(s.toArray()).toBe(3.5);
  });

  test('empty arrays give zero-size shapes', () => {
    expect(tensor([]).shape).toEqual([0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
    expect(tensor([[], []]).size).toBe(0);
  });

  test('requiresGrad option', () => {
    expect(tensor([1, 2], undefined, { requiresGrad: true }).requiresGrad).toBe(true);
    expect(tensor([1, 2]).requiresGrad).toBe(false);
  });

  test('rejects ragged nested arrays with a ShapeError naming the expected shape', () => {
    for (const ragged of [
      [[1, 2], [3]],
      [[1, 2], 3],
      [1, [2]],
      [
        [[1, 2]],
        [
          [3, 4],
          [5, 6],
        ],
      ],
    ]) {
      const error = expectThrows(() => tensor(ragged), ShapeError);
      expect(error.op).toBe('tensor');
      expect(error.argument).toBe('values');
      expect(Object.keys(error.shapes)).toEqual(['expected']);
      expect(error.message).toMatch(/ragged/);
      expect(error.message).toContain(`[${error.shapes.expected!.join(', ')}]`);
    }
    expect(expectThrows(() => tensor([[1, 2], [3]]), ShapeError).shapes).toEqual({ expected: [2, 2] });
  });

  test('rejects values that do not fit the shape, naming both', () => {
    const error = expectThrows(() => tensor([1, 2, 3], [2, 2]), ShapeError);
    expect(error.op).toBe('tensor');
    expect(error.argument).toBe('shape');
    expect(error.shapes).toEqual({ values: [3], shape: [2, 2] });
    expect(error.message).toContain('[2, 2]');
    expect(error.message).toContain('3 values');
    expect(error.message).toContain('4 elements');
  });

  test('rejects negative and non-integer dimensions', () => {
    for (const shape of [[-1], [2, -3], [1.5], [2, NaN]]) {
      const error = expectThrows(() => tensor([], shape), ArgumentError);
      expect(error.op).toBe('tensor');
      expect(error.argument).toBe('shape');
      expect(error.message).toContain(`[${shape.join(', ')}]`);
    }
  });
});

describe('full, zeros, ones', () => {
  test('fill a shape with one value', () => {
    const z = zeros([2, 3]); // [2, 3]
    expect(z.shape).toEqual([2, 3]);
    expect(Array.from(z.data)).toEqual([0, 0, 0, 0, 0, 0]);
    const o = ones([4]); // [4]
    expect(Array.from(o.data)).toEqual([1, 1, 1, 1]);
    const f = full([2, 1, 2], -2.5); // [2, 1, 2]
    expect(f.shape).toEqual([2, 1, 2]);
    expect(Array.from(f.data)).toEqual([-2.5, -2.5, -2.5, -2.5]);
    expect(full([], 7).item()).toBe(7);
    expect(zeros([3, 0]).size).toBe(0);
    expect(ones([2], { requiresGrad: true }).requiresGrad).toBe(true);
  });

  test('zerosLike and onesLike copy the shape only', () => {
    const t = tensor([[1, 2, 3]], undefined, { requiresGrad: true }); // [1, 3]
    expect(zerosLike(t).shape).toEqual([1, 3]);
    expect(Array.from(zerosLike(t).data)).toEqual([0, 0, 0]);
    expect(Array.from(onesLike(t).data)).toEqual([1, 1, 1]);
    expect(onesLike(t).requiresGrad).toBe(false);
  });

  test('reject bad shapes', () => {
    expect(expectThrows(() => zeros([-2]), ArgumentError).op).toBe('zeros');
    expect(expectThrows(() => ones([2.5]), ArgumentError).op).toBe('ones');
    expect(expectThrows(() => full([1, -1], 3), ArgumentError).message).toContain('[1, -1]');
  });
});

describe('arange', () => {
  test('end only, start and end, steps', () => {
    expect(Array.from(arange(5).data)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(arange(2, 6).data)).toEqual([2, 3, 4, 5]);
    expect(Array.from(arange(0, 1, 0.25).data)).toEqual([0, 0.25, 0.5, 0.75]);
    expect(Array.from(arange(1, 2.1, 0.5).data)).toEqual([1, 1.5, 2]); // end exclusive, partial step counts
    expect(Array.from(arange(5, 0, -2).data)).toEqual([5, 3, 1]);
    expect(arange(3, 3).shape).toEqual([0]);
    expect(arange(3, 1).shape).toEqual([0]); // empty, not negative
  });

  test('rejects a zero or non-finite step', () => {
    expect(expectThrows(() => arange(0, 5, 0), ArgumentError).argument).toBe('step');
    expect(expectThrows(() => arange(0, 5, Infinity), ArgumentError).argument).toBe('step');
  });
});

describe('randn and rand', () => {
  const bits = (data: Float32Array): number[] => Array.from(new Uint32Array(data.buffer.slice(0)));

  test('same seed gives the same bits, a different seed different values', () => {
    const a = randn([4, 5], new Rng(42)); // [4, 5]
    const b = randn([4, 5], new Rng(42));
    const c = randn([4, 5], new Rng(43));
    expect(a.shape).toEqual([4, 5]);
    expect(bits(a.data)).toEqual(bits(b.data));
    expect(bits(a.data)).not.toEqual(bits(c.data));
    expect(a.data.some((v, i) => v !== c.data[i])).toBe(true);

    const u = rand([3, 3], new Rng(7)); // [3, 3]
    expect(bits(u.data)).toEqual(bits(rand([3, 3], new Rng(7)).data));
    expect(bits(u.data)).not.toEqual(bits(rand([3, 3], new Rng(8)).data));
  });

  test('randn draws rng.normal() in order, rand maps rng.uniform() to [low, high)', () => {
    const reference = new Rng(5);
    const expectedNormal = Array.from({ length: 6 }, () => Math.fround(reference.normal()));
    expect(Array.from(randn([2, 3], new Rng(5)).data)).toEqual(expectedNormal);

    const u = rand([1000], new Rng(9), -2, 3); // [1000]
    expect(Math.min(...u.data)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...u.data)).toBeLessThan(3);
    const ref = new Rng(9);
    expect(u.data[0]).toBe(Math.fround(-2 + 5 * ref.uniform()));
  });

  test('requiresGrad option and bad shapes', () => {
    expect(randn([2], new Rng(0), { requiresGrad: true }).requiresGrad).toBe(true);
    expect(rand([2], new Rng(0), 0, 1, { requiresGrad: true }).requiresGrad).toBe(true);
    expect(expectThrows(() => randn([-1], new Rng(0)), ArgumentError).op).toBe('randn');
    expect(expectThrows(() => rand([0.5], new Rng(0)), ArgumentError).op).toBe('rand');
  });
});
