import { describe, expect, test } from 'vitest';
import { ArgumentError } from '../errors/argument-error';
import { ShapeError } from '../errors/shape-error';
import { expectHeedError } from './expect-heed-error';

const shapeError = () => {
  throw new ShapeError('bad', { op: 'matmul', argument: 'b', shapes: { a: [2, 3], b: [4, 5] } });
};

describe('expectHeedError', () => {
  test('returns the error when class, op, argument and shapes (in any key order) match', () => {
    const error = expectHeedError(shapeError, ShapeError, { op: 'matmul', argument: 'b', shapes: { b: [4, 5], a: [2, 3] } });
    expect(error.message).toBe('matmul: bad');
    expect(expectHeedError(shapeError, ShapeError, { op: 'matmul', argument: 'b' })).toBeInstanceOf(ShapeError); // shapes not checked
  });

  test('fails on another class, op, argument or shapes, naming what differs', () => {
    expect(() => expectHeedError(shapeError, ArgumentError, { op: 'matmul', argument: 'b' })).toThrow(/expected a ArgumentError/);
    expect(() => expectHeedError(shapeError, ShapeError, { op: 'linear', argument: 'b' })).toThrow(/op "linear", got "matmul"/);
    expect(() => expectHeedError(shapeError, ShapeError, { op: 'matmul', argument: 'a' })).toThrow(/argument "a", got "b"/);
    expect(() => expectHeedError(shapeError, ShapeError, { op: 'matmul', argument: 'b', shapes: { a: [2, 3] } })).toThrow(/with shapes/);
    expect(() => expectHeedError(() => 1, ShapeError, { op: 'matmul', argument: 'b' })).toThrow(/nothing was thrown/);
  });
});
