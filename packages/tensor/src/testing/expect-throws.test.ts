import { describe, expect, test } from 'vitest';
import { ArgumentError } from '../errors/argument-error';
import { ShapeError } from '../errors/shape-error';
import { expectThrows } from './expect-throws';

describe('expectThrows', () => {
  test('returns the thrown error of the expected class', () => {
    const error = expectThrows(() => {
      throw new ShapeError('bad', { op: 'op', argument: 'x', shapes: { x: [2] } });
    }, ShapeError);
    expect(error.op).toBe('op');
    expect(error.shapes).toEqual({ x: [2] });
  });

  test('fails when nothing is thrown or the class differs', () => {
    expect(() => expectThrows(() => 1, ShapeError)).toThrow(/nothing was thrown/);
    expect(() =>
      expectThrows(() => {
        throw new ArgumentError('bad', { op: 'op', argument: 'x' });
      }, ShapeError),
    ).toThrow(/expected a ShapeError/);
  });
});
