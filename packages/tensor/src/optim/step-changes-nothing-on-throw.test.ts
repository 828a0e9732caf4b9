import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tensor } from '../creation';
import { registerDevice, unregisterDevice } from '../device/device-registry';
import { toDevice } from '../device/to-device';
import { DeviceError } from '../errors/device-error';
import { ShapeError } from '../errors/shape-error';
import { Parameter } from '../nn/parameter';
import { createHostDeviceBackend } from '../testing/host-device-backend';
import { expectHeedError } from '../testing/expect-heed-error';
import { Adam } from './adam';
import type { Optimizer } from './optimizer';
import { SGD } from './sgd';

// An optimizer step that throws (a gradient it cannot read, or of another shape than its parameter) changes no
// parameter and no optimizer state: the step after the caller fixes the gradient is the step a fresh run takes.

const host = createHostDeviceBackend('step-host');
beforeAll(() => registerDevice(host));
afterAll(() => unregisterDevice('step-host'));

const makers: [string, (params: Parameter[]) => Optimizer][] = [
  ['SGD', (params) => new SGD(params, { lr: 0.1, momentum: 0.9 })],
  ['Adam', (params) => new Adam(params, { lr: 0.1 })],
];

describe.each(makers)('%s.step that throws changes nothing', (name, make) => {
  const fresh = () => [Parameter.from(tensor([1, 2, 3])), Parameter.from(tensor([[4, 5]]))];
  const values = (params: Parameter[]) => params.map((p) => Array.from(p.data));

  it.each([
    ['a gradient on another device than its parameter', DeviceError, async () => toDevice(tensor([[1, 1]]), 'step-host')],
    ['a gradient of another shape than its parameter', ShapeError, async () => tensor([1, 1, 1])],
  ] as const)('%s (the second parameter): the first is not updated either', async (_label, error, badGrad) => {
    const params = fresh();
    const optimizer = make(params);
    params[0]!.grad = tensor([0.5, -1, 2]);
    params[1]!.grad = await badGrad();
    const before = values(params);
    expectHeedError(() => optimizer.step(), error, { op: `${name}.step`, argument: 'params' });
    expect(values(params)).toEqual(before);

    // fixed, the step equals a fresh optimizer's first step (no moment, no step count was kept)
    const reference = fresh();
    const referenceOptimizer = make(reference);
    for (const [i, grad] of [tensor([0.5, -1, 2]), tensor([[1, -1]])].entries()) {
      params[i]!.grad = grad;
      reference[i]!.grad = grad;
    }
    optimizer.step();
    referenceOptimizer.step();
    optimizer.step();
    referenceOptimizer.step();
    expect(values(params)).toEqual(values(reference));
  });
});
