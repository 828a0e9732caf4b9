import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { registerDevice, unregisterDevice } from '../device/device-registry';
import { conformanceCases } from './conformance-cases';
import type { ConformanceTolerances } from './conformance-target';
import { deviceTarget } from './device-target';
import { createHostDeviceBackend } from './host-device-backend';

// The conformance suite (every case the CPU kernel sets run) on a device backend: the host device, whose storage is
// a Float32Array behind DeviceStorage, its attention, matmul, softmax and reductions the plain TypeScript kernels
// (float64 accumulation where those have it): the JS set's tolerances.
const host = createHostDeviceBackend('host-conformance');
beforeAll(() => registerDevice(host));
afterAll(() => unregisterDevice('host-conformance'));

const HOST: ConformanceTolerances = {
  forward: { atol: 1e-5, rtol: 1e-4 },
  gradient: { atol: 1e-4, rtol: 1e-3 },
  float32: false,
  softmax: { atol: 1e-6, rtol: 1e-5 },
  reduce: { atol: 1e-6, rtol: 1e-6 },
  binary: { atol: 1e-6, rtol: 1e-5 },
  unary: { atol: 1e-7, rtol: 1e-6 },
};
const target = deviceTarget(host, HOST);

test('the device target reads back what it uploads and gives back every storage it made', async () => {
  const before = host.released;
  const out = await target.unary('neg', Float32Array.of(1, -2));
  expect(Array.from(out)).toEqual([-1, 2]);
  expect(host.released - before).toBe(2); // the input and the output
});

for (const group of new Set(conformanceCases.map((c) => c.group))) {
  describe(`host device: ${group}`, () => {
    for (const c of conformanceCases.filter((x) => x.group === group)) test(c.name, () => c.run(target));
  });
}
