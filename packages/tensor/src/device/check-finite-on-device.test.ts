import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensor } from '../creation';
import { ArgumentError } from '../errors/argument-error';
import { DeviceError } from '../errors/device-error';
import { createHostDeviceBackend } from '../testing/host-device-backend';
import { checkFiniteOnDevice } from './check-finite-on-device';
import type { DeviceFiniteCheck } from './device-backend';
import { registerDevice, unregisterDevice } from './device-registry';
import { toDevice } from './to-device';

const host = createHostDeviceBackend('host-finite');
const { checkFinite: _, ...withoutCheck } = createHostDeviceBackend('host-unchecked');
beforeAll(() => {
  registerDevice(host);
  registerDevice(withoutCheck);
});
afterAll(() => {
  unregisterDevice('host-finite');
  unregisterDevice('host-unchecked');
});

/** A check of x viewed as [outer, L, inner] from position `from`, refusing with the index in the message. */
const check = (L: number, inner: number, from = 0, allowNegativeInfinity = false): DeviceFiniteCheck => ({
  allowNegativeInfinity,
  L,
  inner,
  from,
  error: (index) => new ArgumentError(`x holds a non-finite value at flat index ${index}`, { op: 'op', argument: 'x' }),
});

describe('checkFiniteOnDevice', () => {
  it('refuses NaN and ±∞ on the host device, at the first offending index; −∞ when allowed passes', async () => {
    const x = await toDevice(tensor([0, 1, -Infinity, 2, NaN, Infinity]), 'host-finite'); // [2, 3, 1]
    expect(() => checkFiniteOnDevice('op', 'x', x, check(3, 1))).toThrow(/flat index 2$/);
    expect(() => checkFiniteOnDevice('op', 'x', x, check(3, 1, 0, true))).toThrow(/flat index 4$/);
    const finite = await toDevice(tensor([0, 1, -Infinity]), 'host-finite');
    expect(() => checkFiniteOnDevice('op', 'x', finite, check(3, 1, 0, true))).not.toThrow();
  });

  it('skips positions before `from` along L (keys already checked)', async () => {
    const x = await toDevice(tensor([NaN, 1, 2, NaN, 3, 4]), 'host-finite'); // [2, 3, 1]: position 0 of each holds NaN
    expect(() => checkFiniteOnDevice('op', 'x', x, check(3, 1, 1))).not.toThrow();
    expect(() => checkFiniteOnDevice('op', 'x', x, check(3, 1, 0))).toThrow(/flat index 0$/);
  });

  it('refuses, with a DeviceError naming the call, a backend that cannot check and a CPU tensor', async () => {
    const x = await toDevice(tensor([1, 2]), 'host-unchecked');
    expect(() => checkFiniteOnDevice('attend', 'query', x, check(2, 1))).toThrow(DeviceError);
    expect(() => checkFiniteOnDevice('attend', 'query', x, check(2, 1))).toThrow(
      /query \[2\] is on 'host-unchecked', whose backend cannot check inputs for NaN and ±∞/,
    );
    expect(() => checkFiniteOnDevice('attend', 'query', tensor([1]), check(1, 1))).toThrow(DeviceError);
  });
});
