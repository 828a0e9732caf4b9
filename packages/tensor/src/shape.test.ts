import { describe, expect, test } from 'vitest';
import { ArgumentError } from './errors/argument-error';
import { ShapeError } from './errors/shape-error';
import { assertValidShape, broadcastShapes, broadcastStrides, normalizeAxes, normalizeAxis, sameShape, sizeOf, stridesOf } from './shape';
import { expectThrows } from './testing/expect-throws';

describe('shape helpers', () => {
  test('sizeOf and stridesOf', () => {
    expect(sizeOf([])).toBe(1);
    expect(sizeOf([2, 3, 4])).toBe(24);
    expect(sizeOf([2, 0])).toBe(0);
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(stridesOf([5])).toEqual([1]);
    expect(stridesOf([])).toEqual([]);
  });

  test('broadcastShapes follows NumPy', () => {
    expect(broadcastShapes([2, 1, 3], [4, 1], 'op')).toEqual([2, 4, 3]);
    expect(broadcastShapes([], [3, 2], 'op')).toEqual([3, 2]);
    expect(broadcastShapes([5, 1], [1], 'op')).toEqual([5, 1]);
    expect(broadcastShapes([1, 0], [3, 1], 'op')).toEqual([3, 0]);
  });

  test('broadcastShapes names the op, both operands and the clashing dimension', () => {
    const error = expectThrows(() => broadcastShapes([2, 3], [4, 3], 'add', ['x', 'y']), ShapeError);
    expect(error.op).toBe('add');
    expect(error.argument).toBe('y');
    expect(error.shapes).toEqual({ x: [2, 3], y: [4, 3] });
    expect(error.message).toBe('add: cannot broadcast x [2, 3] with y [4, 3] (dimension -2: 2 vs 4)');
  });

  test('broadcastStrides puts 0 on broadcast and missing dimensions', () => {
    expect(broadcastStrides([3, 1], [2, 3, 4])).toEqual([0, 1, 0]);
    expect(broadcastStrides([2, 3], [2, 3])).toEqual([3, 1]);
    expect(broadcastStrides([], [2, 2])).toEqual([0, 0]);
  });

  test('normalizeAxis resolves negatives and refuses out-of-range and fractional axes', () => {
    expect(normalizeAxis(-1, 3, 'op', [2, 3, 4])).toBe(2);
    expect(normalizeAxis(0, 3, 'op', [2, 3, 4])).toBe(0);
    for (const axis of [3, -4, 0.5]) {
      const error = expectThrows(() => normalizeAxis(axis, 3, 'sum', [2, 3, 4]), ArgumentError);
      expect(error.op).toBe('sum');
      expect(error.message).toBe(`sum: axis ${axis} is out of range for a tensor of rank 3 [2, 3, 4]`);
    }
  });

  test('normalizeAxes sorts, deduplicates, and means all axes when undefined', () => {
    expect(normalizeAxes(undefined, 3, 'op', [2, 3, 4])).toEqual([0, 1, 2]);
    expect(normalizeAxes([-1, 0, 2], 3, 'op', [2, 3, 4])).toEqual([0, 2]);
    expect(normalizeAxes(1, 3, 'op', [2, 3, 4])).toEqual([1]);
    expect(normalizeAxes([], 3, 'op', [2, 3, 4])).toEqual([]);
  });

  test('sameShape and assertValidShape', () => {
    expect(sameShape([2, 3], [2, 3])).toBe(true);
    expect(sameShape([2, 3], [3, 2])).toBe(false);
    expect(sameShape([2], [2, 1])).toBe(false);
    expect(() => assertValidShape([0, 3], 'op')).not.toThrow();
    const error = expectThrows(() => assertValidShape([2, -1], 'zeros', 'size'), ArgumentError);
    expect(error.argument).toBe('size');
    expect(error.shapes).toEqual({ size: [2, -1] });
  });
});
