import { ArgumentError, registerDevice, tensor, toDevice, unregisterDevice } from '@heed/tensor';
import { createHostDeviceBackend } from '@heed/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DotScorer } from '@heed/scorers';
import { attend } from './attend';
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

  it('attend checks device inputs too: the keys beyond the cached positions, on the device', async () => {
    const on = (values: number[], shape: number[]) => toDevice(tensor(values, shape), 'host-finite-input');
    const query = await on([1, 0, 0, 1], [2, 2]); // [Lq, d]
    const keys = await on([1, 0, 0, Infinity, 1, 1], [3, 2]); // [Lk, d]
    const values = await on([1, 2, 3, 4, 5, 6], [3, 2]);
    expect(() => attend({ query, keys, values, scorer: new DotScorer(), needWeights: false })).toThrow(
      /keys \[3, 2\] holds NaN or ±∞ at flat index 3: attention refuses NaN and ±∞ inputs/,
    );
  });
});
