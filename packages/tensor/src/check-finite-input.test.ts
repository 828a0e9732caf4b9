import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFiniteInput } from './check-finite-input';
import { ArgumentError } from './errors/argument-error';
import { Tensor } from './tensor';
import { tensor } from './creation';
import { registerDevice, unregisterDevice } from './device/device-registry';
import { toDevice } from './device/to-device';
import { createHostDeviceBackend } from './testing/host-device-backend';
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

  describe('on a device', () => {
    beforeAll(() => registerDevice(createHostDeviceBackend('host-finite-input')));
    afterAll(() => unregisterDevice('host-finite-input'));

    it('checks a device tensor on its device (the host device refuses at once): never passed through unchecked', async () => {
      const x = await toDevice(
        tensor([
          [1, 2],
          [3, NaN],
        ]),
        'host-finite-input',
      );
      expect(() => checkFiniteInput('f', 'x', x)).toThrow(/f: x \[2, 2\] holds NaN or ±∞ at flat index 3: NaN and ±∞ inputs are refused/);
      const masked = await toDevice(tensor([-Infinity, 1]), 'host-finite-input');
      expect(() => checkFiniteInput('f', 'x', masked, { allowNegativeInfinity: true })).not.toThrow();
      expect(() => checkFiniteInput('f', 'x', masked)).toThrow(ArgumentError);
    });
  });
});
