import { afterAll, describe, expect, it } from 'vitest';
import { tensor } from '../creation';
import { DeviceError } from '../errors/device-error';
import { Linear } from '../nn/linear';
import { add, mul } from '../ops/binary';
import { embedding, gather } from '../ops/gather';
import { matmul } from '../ops/matmul';
import { reshape } from '../ops/reshape';
import { Tensor } from '../tensor';
import { expectHeedError } from '../testing/expect-heed-error';
import type { DeviceBackend, DeviceStorage } from './device-backend';
import { deviceBackend, listDevices, registerDevice, unregisterDevice } from './device-registry';
import { moveInPlace, toCpu, toDevice } from './to-device';

// A device that keeps its values in host memory behind the storage interface: enough to move tensors, read
// them asynchronously, and check that synchronous reads and mixed devices are refused. Its elementwise add
// is written here, independently of the CPU kernels, so a dispatched op can be checked end to end.
interface HostStorage extends DeviceStorage {
  readonly values: Float32Array;
}
const store = (values: Float32Array): HostStorage => ({ device: 'host-test', size: values.length, values });
const unused = (): never => {
  throw new Error('not used by this test');
};
const hostDevice: DeviceBackend = {
  name: 'host-test',
  upload: (data) => store(data.slice()),
  read: async (s) => (s as HostStorage).values.slice(),
  fill: (size, value) => store(new Float32Array(size).fill(value)),
  copy: (x, shape) => {
    const values = (x.storage as HostStorage).values;
    const out = new Float32Array(shape.reduce((p, d) => p * d, 1));
    out.forEach((_, i) => {
      let rest = i;
      let at = x.offset;
      for (let d = shape.length - 1; d >= 0; d--) {
        at += (rest % shape[d]!) * x.strides[d]!;
        rest = Math.floor(rest / shape[d]!);
      }
      out[i] = values[at]!;
    });
    return store(out);
  },
  binary: (op, a, b, shape) => {
    if (op !== 'add') return unused();
    const [x, y] = [hostDevice.copy(a, shape) as HostStorage, hostDevice.copy(b, shape) as HostStorage];
    return store(x.values.map((v, i) => v + y.values[i]!));
  },
  writeBlocks: unused,
  unary: unused,
  where: unused,
  reduceAxis: unused,
  softmax: unused,
  matmul: unused,
  attentionForward: unused,
  attentionBackward: unused,
  attentionWeights: unused,
  attentionWeightsBackward: unused,
  adamStep: unused,
  sgdStep: unused,
};

registerDevice(hostDevice);
afterAll(() => unregisterDevice('host-test'));

describe('devices', () => {
  it('lists the registered devices after the CPU, and names the known ones for an unknown name', async () => {
    expect(listDevices()).toEqual(['cpu', 'host-test']);
    expectHeedError(() => deviceBackend('tpu', 'toDevice'), DeviceError, { op: 'toDevice', argument: 'device' });
    await expect(toDevice(tensor([1]), 'tpu')).rejects.toThrow(/no device named 'tpu' \(devices: cpu, host-test/);
  });

  it('moves a tensor there and back: same values, same shape, the device it names', async () => {
    const x = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const there = await toDevice(x, 'host-test');
    expect(there.device).toBe('host-test');
    expect(there.shape).toEqual([2, 3]);
    expect(Array.from(await there.read())).toEqual([1, 2, 3, 4, 5, 6]);
    const back = await toCpu(there);
    expect(back.device).toBe('cpu');
    expect(back.toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(await toDevice(there, 'host-test')).toBe(there);
    expect(Array.from(await x.read())).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses gather and embedding on a device without the gather kernels, naming the way back', async () => {
    const weight = await toDevice(
      tensor([
        [1, 2],
        [3, 4],
      ]),
      'host-test',
    );
    expectHeedError(() => embedding(weight, [1, 0]), DeviceError, { op: 'embedding', argument: 'weight' });
    expect(() => gather(weight, 1, tensor([[0], [1]]))).toThrow(/'host-test' device has no gather kernel.*toDevice\(t, 'cpu'\)/);
  });

  it('refuses synchronous reads of device data, naming the call and the await to use', async () => {
    const there = await toDevice(tensor([[1, 2]]), 'host-test');
    const fields = { argument: 'this', shapes: { this: [1, 2] } };
    expectHeedError(() => there.data, DeviceError, { op: 'data', ...fields });
    expectHeedError(() => there.item(), DeviceError, { op: 'item()', ...fields });
    expectHeedError(() => there.toArray(), DeviceError, { op: 'toArray()', ...fields });
    expect(() => there.data).toThrow("data reads values synchronously, but this [1, 2] tensor lives on 'host-test': use `await t.read()`");
    expect(String(there)).toBe('tensor(<on host-test: await t.read()>, shape=[1, 2])');
  });

  it('refuses ops over tensors of two devices, naming both; a rank-0 CPU number goes along', async () => {
    const cpu = tensor([1, 2]);
    const there = await toDevice(tensor([10, 20]), 'host-test');
    expectHeedError(() => add(cpu, there), DeviceError, { op: 'add', argument: 'a', shapes: { a: [2], b: [2] } });
    expect(() => add(there, cpu)).toThrow(
      "add: a [2] is on 'host-test' but b [2] is on 'cpu': move one with `await toDevice(t, 'host-test')`",
    );
    expectHeedError(() => matmul(reshape(cpu, [1, 2]), reshape(there, [2, 1])), DeviceError, { op: 'matmul', argument: 'a' });
    expect(Array.from(await add(there, 1).read())).toEqual([11, 21]);
    expect(Array.from(await add(there, tensor(5)).read())).toEqual([15, 25]);
    expect(() => mul(there, tensor(2, undefined, { requiresGrad: true }))).toThrow(DeviceError);
  });

  it('moves a module in place (the same parameters) and a tensor with its gradient', async () => {
    const layer = new Linear(2, 3);
    const [weight, bias] = layer.parameters();
    const values = Array.from(weight!.data);
    expect(await layer.toDevice('host-test')).toBe(layer);
    expect(layer.parameters()).toEqual([weight, bias]);
    expect(weight!.device).toBe('host-test');
    expect(Array.from(await weight!.read())).toEqual(values);
    const t = new Tensor(new Float32Array([1, 2]), [2], true);
    t.grad = tensor([3, 4]);
    await moveInPlace(t, 'host-test');
    expect([t.device, t.grad.device]).toEqual(['host-test', 'host-test']);
    await layer.toDevice('cpu');
    expect(Array.from(weight!.data)).toEqual(values);
  });
});
