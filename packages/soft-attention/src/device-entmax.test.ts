import { DeviceError, type DeviceStorage, mul, randn, registerDevice, Rng, sum, Tensor, toDevice, unregisterDevice } from '@heed/tensor';
import { createHostDeviceBackend, expectClose, type HostDeviceStorage } from '@heed/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entmax15 } from './entmax15';
import { sparsemax } from './sparsemax';
import { alphaEntmax } from './variants/alpha-entmax';
import { straightThroughGumbelSoftmax } from './variants/gumbel-softmax';

// Shape letters: R rows, n entries per row.
// The device branches of the sparse normalizers and of the Gumbel-softmax, on host-memory devices: one that has the
// optional kernels (written here, naively: bisection in float64, a first-maximum scan) and one without them, which
// refuses with a DeviceError. The GPU kernels themselves are tested in @heed/webgpu.

const values = (s: DeviceStorage): Float32Array => (s as HostDeviceStorage).values;

/** α-entmax of one row by bisection on τ (float64, 200 halvings) and its s = p^{2−α}. [n] -> [n], [n] */
function naiveEntmaxRow(z: Float32Array, alpha: number): { p: number[]; s: number[] } {
  const top = Math.max(...z);
  if (top === -Infinity) return { p: Array.from(z, () => 0), s: Array.from(z, () => 0) };
  const x = Array.from(z, (v) => (alpha - 1) * (v - top));
  const mass = (t: number) => x.reduce((a, xi) => a + (xi > t ? (xi - t) ** (1 / (alpha - 1)) : 0), 0);
  let [lo, hi] = [-1, 0];
  for (let step = 0; step < 200; step++) [lo, hi] = mass((lo + hi) / 2) >= 1 ? [(lo + hi) / 2, hi] : [lo, (lo + hi) / 2];
  const p = x.map((xi) => (xi > lo ? (xi - lo) ** (1 / (alpha - 1)) : 0));
  return { p, s: p.map((pi) => (pi > 0 ? pi ** (2 - alpha) : 0)) };
}

const plain = createHostDeviceBackend('host-plain');
const host = createHostDeviceBackend('host-sparse');
const withKernels = {
  ...host,
  name: 'host-sparse',
  entmax(x: DeviceStorage, rows: number, n: number, alpha: number) {
    const [p, s] = [new Float32Array(rows * n), new Float32Array(rows * n)];
    for (let r = 0; r < rows; r++) {
      const row = naiveEntmaxRow(values(x).subarray(r * n, (r + 1) * n), alpha);
      p.set(row.p, r * n);
      s.set(row.s, r * n);
    }
    return { output: host.upload(p), secant: host.upload(s) };
  },
  entmaxBackward(secant: DeviceStorage, g: DeviceStorage, rows: number, n: number) {
    const [s, gv, dz] = [values(secant), values(g), new Float32Array(rows * n)];
    for (let r = 0; r < rows; r++) {
      let [sg, total] = [0, 0];
      for (let i = r * n; i < (r + 1) * n; i++) [sg, total] = [sg + s[i]! * gv[i]!, total + s[i]!];
      for (let i = r * n; i < (r + 1) * n; i++) dz[i] = total > 0 ? s[i]! * (gv[i]! - sg / total) : 0;
    }
    return host.upload(dz);
  },
  oneHotArgmax(x: DeviceStorage, rows: number, n: number) {
    const [y, out] = [values(x), new Float32Array(rows * n)];
    for (let r = 0; r < rows; r++) {
      let best = -1;
      for (let i = 0; i < n; i++) if (y[r * n + i]! > -Infinity && (best < 0 || y[r * n + i]! > y[r * n + best]!)) best = i;
      if (best >= 0) out[r * n + best] = 1;
    }
    return host.upload(out);
  },
};

beforeAll(() => {
  registerDevice(withKernels);
  registerDevice(plain);
});
afterAll(() => {
  unregisterDevice('host-sparse');
  unregisterDevice('host-plain');
});

describe('sparse normalizers on a device take its entmax kernel', () => {
  const rng = new Rng(4);
  const z = randn([3, 6], rng); // [R, n]
  z.data.fill(-Infinity, 12, 18); // a fully masked row
  const upstream = randn([3, 6], rng);

  for (const [name, apply] of [
    ['sparsemax', sparsemax],
    ['entmax15', entmax15],
    ['alphaEntmax(1.3)', (t: Tensor) => alphaEntmax(t, 1.3)],
  ] as const) {
    it(`${name}: output and gradient equal the CPU's`, async () => {
      const cpuLeaf = new Tensor(z.data.slice(), z.shape, true);
      const cpu = apply(cpuLeaf);
      sum(mul(cpu, upstream)).backward();
      const leaf = await toDevice(z, 'host-sparse');
      leaf.requiresGrad = true;
      const out = apply(leaf);
      expect(out.device).toBe('host-sparse');
      expectClose(await out.read(), cpu.data, { atol: 1e-6, rtol: 1e-5 }, `${name} output`);
      sum(mul(out, await toDevice(upstream, 'host-sparse'))).backward();
      expectClose(await leaf.grad!.read(), cpuLeaf.grad!.data, { atol: 1e-5, rtol: 1e-4 }, `${name} gradient`);
    });
  }

  it('a device without the kernel refuses with a DeviceError naming the call; α is checked first', async () => {
    const onPlain = await toDevice(z, 'host-plain');
    expect(() => sparsemax(onPlain)).toThrow(DeviceError);
    expect(() => entmax15(onPlain)).toThrow(/no entmax kernel/);
    expect(() => alphaEntmax(onPlain, 0.5)).toThrow(/alpha must be a finite number > 1/);
    const rng = new Rng(1);
    expect(() => straightThroughGumbelSoftmax(onPlain, { rng })).toThrow(/no one-hot kernel/);
    expect(rng.nextUint32()).toBe(new Rng(1).nextUint32()); // refused before any noise was drawn
  });
});

describe('straight-through Gumbel-softmax on a device', () => {
  it('uploads the noise of the same generator: the same picks and surrogate gradient as the CPU', async () => {
    const rng = new Rng(6);
    const logits = randn([4, 7], rng);
    logits.data.fill(-Infinity, 7, 14); // a fully masked row
    const upstream = randn([4, 7], rng);
    const cpuLeaf = new Tensor(logits.data.slice(), logits.shape, true);
    const cpu = straightThroughGumbelSoftmax(cpuLeaf, { temperature: 0.5, rng: new Rng(2) });
    sum(mul(cpu, upstream)).backward();
    const leaf = await toDevice(logits, 'host-sparse');
    leaf.requiresGrad = true;
    const out = straightThroughGumbelSoftmax(leaf, { temperature: 0.5, rng: new Rng(2) });
    expect(Array.from(await out.read())).toEqual(Array.from(cpu.data));
    sum(mul(out, await toDevice(upstream, 'host-sparse'))).backward();
    expectClose(await leaf.grad!.read(), cpuLeaf.grad!.data, { atol: 1e-6, rtol: 1e-5 }, 'surrogate gradient');
  });
});
