import { describe, expect, test } from 'vitest';
import { arange, randn, tensor } from '../creation';
import { ArgumentError } from '../errors/argument-error';
import { ShapeError } from '../errors/shape-error';
import { Rng } from '../rng';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { mul } from './binary';
import { reshape, squeeze, unsqueeze } from './reshape';

const GRAD = { atol: 1e-3, rtol: 1e-2 };

describe('reshape', () => {
  test('keeps row-major order', () => {
    const x = arange(6); // [6]
    expect(reshape(x, [2, 3]).toArray()).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(reshape(x, [3, 1, 2]).toArray()).toEqual([[[0, 1]], [[2, 3]], [[4, 5]]]);
    expect(reshape(tensor([7]), []).shape).toEqual([]);
    expect(reshape(tensor(7), [1, 1]).shape).toEqual([1, 1]);
  });

  test('infers one −1 dimension', () => {
    const x = randn([2, 3, 4], new Rng(1)); // [2, 3, 4]
    expect(reshape(x, [-1]).shape).toEqual([24]);
    expect(reshape(x, [4, -1]).shape).toEqual([4, 6]);
    expect(reshape(x, [2, -1, 3]).shape).toEqual([2, 4, 3]);
    expect(reshape(randn([0, 3], new Rng(0)), [-1, 3]).shape).toEqual([0, 3]);
  });

  test('the gradient is the upstream gradient in the input shape', () => {
    const x = randn([2, 3], new Rng(2), { requiresGrad: true }); // [2, 3]
    const g = randn([3, 2], new Rng(3)); // [3, 2]
    reshape(x, [3, 2]).backward(g);
    expect(x.grad!.shape).toEqual([2, 3]);
    expect(Array.from(x.grad!.data)).toEqual(Array.from(g.data));
    expect(gradcheck((t) => mul(reshape(t, [6, -1]), 2), [randn([2, 3, 2], new Rng(4))], GRAD)).toMatchObject({ ok: true });
  });

  test('a size mismatch is a ShapeError naming both shapes and sizes', () => {
    const x = randn([2, 3], new Rng(0));
    const error = expectThrows(() => reshape(x, [4, 2]), ShapeError);
    expect(error.op).toBe('reshape');
    expect(error.shapes).toEqual({ x: [2, 3], shape: [4, 2] });
    expect(error.message).toContain('[2, 3] (6 elements)');
    expect(error.message).toContain('[4, 2] (8 elements)');
  });

  test('−1 that cannot be inferred: not divisible, two of them, or a zero-size rest', () => {
    const x = randn([2, 3], new Rng(0));
    for (const shape of [
      [4, -1],
      [-1, -1],
      [0, -1],
    ]) {
      const error = expectThrows(() => reshape(x, shape), ShapeError);
      expect(error.op).toBe('reshape');
      expect(error.message).toContain(`[${shape.join(', ')}]`);
      expect(error.message).toContain('[2, 3]');
    }
  });

  test('other negative or fractional dimensions are ArgumentErrors', () => {
    const x = randn([2, 3], new Rng(0));
    expect(expectThrows(() => reshape(x, [-2, -3]), ArgumentError).op).toBe('reshape');
    expect(expectThrows(() => reshape(x, [1.5, 4]), ArgumentError).op).toBe('reshape');
  });
});

describe('unsqueeze and squeeze', () => {
  test('unsqueeze inserts a size-1 axis at any position, negative counted from the new rank', () => {
    const x = randn([2, 3], new Rng(5)); // [2, 3]
    expect(unsqueeze(x, 0).shape).toEqual([1, 2, 3]);
    expect(unsqueeze(x, 1).shape).toEqual([2, 1, 3]);
    expect(unsqueeze(x, 2).shape).toEqual([2, 3, 1]);
    expect(unsqueeze(x, -1).shape).toEqual([2, 3, 1]);
    expect(unsqueeze(x, -3).shape).toEqual([1, 2, 3]);
    expect(Array.from(unsqueeze(x, 1).data)).toEqual(Array.from(x.data));
    expect(expectThrows(() => unsqueeze(x, 3), ArgumentError).op).toBe('unsqueeze');
    expect(expectThrows(() => unsqueeze(x, -4), ArgumentError).op).toBe('unsqueeze');
  });

  test('squeeze removes all size-1 axes, or one given axis', () => {
    const x = randn([1, 2, 1, 3], new Rng(6)); // [1, 2, 1, 3]
    expect(squeeze(x).shape).toEqual([2, 3]);
    expect(squeeze(x, 0).shape).toEqual([2, 1, 3]);
    expect(squeeze(x, -2).shape).toEqual([1, 2, 3]);
    expect(squeeze(tensor([[5]])).shape).toEqual([]);
    const error = expectThrows(() => squeeze(x, 1), ShapeError);
    expect(error.op).toBe('squeeze');
    expect(error.message).toContain('[1, 2, 1, 3]');
    expect(error.message).toContain('size 2');
  });

  test('gradients flow through both', () => {
    const x = randn([2, 1, 3], new Rng(7)); // [2, 1, 3]
    expect(gradcheck((t) => unsqueeze(squeeze(t, 1), 0), [x], GRAD)).toMatchObject({ ok: true });
    const y = randn([2, 3], new Rng(8), { requiresGrad: true }); // [2, 3]
    unsqueeze(y, 1).backward(randn([2, 1, 3], new Rng(9)));
    expect(y.grad!.shape).toEqual([2, 3]);
  });
});
