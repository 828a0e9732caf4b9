import { ArgumentError, registerDevice, tensor, toDevice, unregisterDevice } from '@heed/tensor';
import { createHostDeviceBackend } from '@heed/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFiniteInput } from './check-finite-input';

const host = createHostDeviceBackend('host-finite-input');
beforeAll(() => registerDevice(host));
afterAll(() => unregisterDevice('host-finite-input'));

describe('checkFiniteInput', () => {
  it('refuses NaN and ±∞ on the CPU, naming the call, the argument, the shape, the value and its index', () => {
    expect(() => checkFiniteInput('f', 'x', tensor([[1, NaN]]))).toThrow(ArgumentError);
    expect(() => checkFiniteInput('f', 'x', tensor([[1, Infinity]]))).toThrow(
      /f: x \[1, 2\] holds Infinity at flat index 1: NaN and ±∞ inputs are refused/,
    );
    expect(() => checkFiniteInput('f', 'x', tensor([-Infinity, 1]), { allowNegativeInfinity: true })).not.toThrow();
  });

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
