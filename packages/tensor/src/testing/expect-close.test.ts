import { describe, expect, test } from 'vitest';
import { expectClose } from './expect-close';

describe('expectClose', () => {
  test('accepts values within atol + rtol·|expected|', () => {
    expect(() => expectClose([1.0, 100.0, -2], [1.0 + 9e-7, 100.0 + 9e-5, -2], { atol: 1e-6, rtol: 1e-6 })).not.toThrow();
  });

  test('accepts equal infinities and NaN against NaN', () => {
    expect(() => expectClose([Infinity, -Infinity, NaN], [Infinity, -Infinity, NaN], { atol: 0, rtol: 0 })).not.toThrow();
  });

  test('rejects and names the worst index', () => {
    expect(() => expectClose([0, 1, 2, 3], [0, 1.1, 2, 3.5], { atol: 1e-3, rtol: 0 })).toThrow(
      /2 of 4 elements.*worst at index 3: actual 3, expected 3.5/,
    );
  });

  test('rejects NaN against a number, an infinity against a number, and different lengths', () => {
    expect(() => expectClose([NaN], [0], { atol: 1, rtol: 1 })).toThrow(/index 0/);
    expect(() => expectClose([Infinity], [1e30], { atol: 1, rtol: 1 })).toThrow(/index 0/);
    expect(() => expectClose([1, 2], [1], { atol: 1, rtol: 1 })).toThrow(/length 2/);
  });
});
