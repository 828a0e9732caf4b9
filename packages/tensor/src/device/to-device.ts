import { expectTensor } from '../expect-tensor';
import { Tensor } from '../tensor';
import { deviceBackend } from './device-registry';

/**
 * A copy of `t` on `device` ('cpu' or a registered backend's name): the explicit move between devices. The copy
 * is a leaf (the move is not recorded in the graph) that requires gradients when `t` does. A tensor already
 * on `device` is returned as it is. [..] -> [..]
 */
export async function toDevice(t: Tensor, device: string): Promise<Tensor> {
  expectTensor('toDevice', 't', t);
  if (t.device === device) return t;
  const values = await t.read(); // a host copy: the CPU's own, or the device's after its queued work
  if (device === 'cpu') return new Tensor(values, t.shape, t.requiresGrad);
  return new Tensor(deviceBackend(device, 'toDevice').upload(values), t.shape, t.requiresGrad);
}

/** `toDevice(t, 'cpu')`: the values back in a Float32Array, readable synchronously. [..] -> [..] */
export function toCpu(t: Tensor): Promise<Tensor> {
  return toDevice(t, 'cpu');
}

/**
 * Moves `t`'s values to `device` in place (the same object, so a parameter stays the one its optimizer holds);
 * its gradient, if any, moves with it.
 */
export async function moveInPlace(t: Tensor, device: string): Promise<void> {
  expectTensor('moveInPlace', 't', t);
  if (t.device !== device) {
    const values = await t.read();
    t.replaceValues(device === 'cpu' ? values : deviceBackend(device, 'moveInPlace').upload(values));
  }
  if (t.grad !== null && t.grad.device !== device) t.grad = await toDevice(t.grad, device);
}
