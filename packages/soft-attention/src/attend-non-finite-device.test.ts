import { registerDevice, tensor, toDevice, unregisterDevice } from '@heed/tensor';
import { createHostDeviceBackend } from '@heed/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DotScorer } from '@heed/scorers';
import { attend } from './attend';

const host = createHostDeviceBackend('host-finite-input');
beforeAll(() => registerDevice(host));
afterAll(() => unregisterDevice('host-finite-input'));

describe('attend on a device', () => {
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
