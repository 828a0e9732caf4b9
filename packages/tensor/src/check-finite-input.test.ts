import { describe, expect, it } from 'vitest';
import { checkFiniteInput } from './check-finite-input';
import { ArgumentError } from './errors/argument-error';
import { Tensor } from './tensor';
import { expectHeedError } from './testing/expect-heed-error';

describe('checkFiniteInput', () => {
  const withValue = (value: number, index = 4): Tensor => {
    const data = new Float32Array(6).fill(0.5);
    data[index] = value;
    return new Tensor(data, [2, 3]);
  };

  it('passes finite inputs, and −∞ with allowNegativeInfinity (a masked entry)', () => {
    expect(() => checkFiniteInput('op', 'x', withValue(-3))).not.toThrow();
    expect(() => checkFiniteInput('op', 'mask', withValue(-Infinity), { allowNegativeInfinity: true })).not.toThrow();
  });

  it.each([
    ['NaN', NaN, false],
    ['+∞', Infinity, false],
    ['−∞', -Infinity, false],
    ['NaN with allowNegativeInfinity', NaN, true],
    ['+∞ with allowNegativeInfinity', Infinity, true],
  ] as const)('refuses %s naming the call, the argument, its shape and the first flat index', (_label, value, allowNegativeInfinity) => {
    const error = expectHeedError(
      () => checkFiniteInput('MyLayer.forward', 'query', withValue(value), { allowNegativeInfinity }),
      ArgumentError,
      {
        op: 'MyLayer.forward',
        argument: 'query',
        shapes: { query: [2, 3] },
      },
    );
    expect(error.message).toContain(`MyLayer.forward: query [2, 3] holds ${value} at flat index 4`);
  });
});
