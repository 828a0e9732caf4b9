import { DeviceError, Rng, randn, registerDevice, type Tensor, tensor, toDevice, unregisterDevice } from '@heed/tensor';
import { createHostDeviceBackend, expectHeedError } from '@heed/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './attend';

// Masks given on a device: keep-masks are host tensors (heed reads them on the CPU and uploads what a device call
// needs), so one on a device is refused at the call, naming it; an additive mask may be on the call's device, not
// on another. Run on the host-backed test device, so no GPU is needed.
const DEVICE = 'host-masks';
const host = createHostDeviceBackend(DEVICE);
beforeAll(() => registerDevice(host));
afterAll(() => unregisterDevice(DEVICE));

describe('attend with masks on a device', () => {
  const rng = new Rng(3);
  const [query, keys, values] = [0, 1, 2].map(() => randn([1, 2, 3, 4], rng)) as [Tensor, Tensor, Tensor]; // [B, H, L, d]
  const shapes = { query: [1, 2, 3, 4], keys: [1, 2, 3, 4], values: [1, 2, 3, 4] };

  it('refuses a keep-mask on a device, naming the call, the mask and its shape, on every path', async () => {
    const mask = await toDevice(tensor([[1, 1, 0]]), DEVICE); // [1, Lk]
    const onDevice = (await Promise.all([query, keys, values].map((t) => toDevice(t, DEVICE)))) as [Tensor, Tensor, Tensor];
    for (const [q, k, v] of [[query, keys, values], onDevice] as const)
      for (const needWeights of [true, false]) {
        const error = expectHeedError(() => attend({ query: q, keys: k, values: v, attentionMask: mask, needWeights }), DeviceError, {
          op: 'attend',
          argument: 'attentionMask',
          shapes: { ...shapes, attentionMask: [1, 3] },
        });
        expect(error.message).toMatch(/^attend: attentionMask \[1, 3\] is on 'host-masks': keep-masks are host tensors/);
        expectHeedError(() => attend({ query: q, keys: k, values: v, keyPaddingMask: mask, needWeights }), DeviceError, {
          op: 'attend',
          argument: 'keyPaddingMask',
        });
      }
  });

  it('takes the same masks on the CPU for a device call, with the CPU results', async () => {
    const mask = tensor([[1, 1, 0]]);
    const [q, k, v] = (await Promise.all([query, keys, values].map((t) => toDevice(t, DEVICE)))) as [Tensor, Tensor, Tensor];
    for (const needWeights of [true, false]) {
      const onCpu = attend({ query, keys, values, attentionMask: mask, keyPaddingMask: mask, needWeights }).context;
      const onHost = attend({ query: q, keys: k, values: v, attentionMask: mask, keyPaddingMask: mask, needWeights }).context;
      expect(onHost.device).toBe(DEVICE);
      expect(Array.from(await onHost.read())).toEqual(Array.from(onCpu.data));
    }
  });

  it('takes an additive mask on the call’s device, refuses one on another device by name', async () => {
    const additive = tensor([[0, -1, -Infinity]]); // [1, Lk]
    const onDevice = await toDevice(additive, DEVICE);
    const [q, k, v] = (await Promise.all([query, keys, values].map((t) => toDevice(t, DEVICE)))) as [Tensor, Tensor, Tensor];
    const want = attend({ query, keys, values, additiveMask: additive }).context.data;
    expect(Array.from(await attend({ query: q, keys: k, values: v, additiveMask: onDevice }).context.read())).toEqual(Array.from(want));
    const error = expectHeedError(() => attend({ query, keys, values, additiveMask: onDevice }), DeviceError, {
      op: 'attend',
      argument: 'additiveMask',
    });
    expect(error.message).toMatch(/additiveMask \[1, 3\] is on 'host-masks' but query is on 'cpu'/);
  });
});
