import { describe, expect, test } from 'vitest';
import { ones, randn } from '../creation';
import { registerDevice, unregisterDevice } from '../device/device-registry';
import { toDevice } from '../device/to-device';
import { ArgumentError } from '../errors/argument-error';
import { Rng } from '../rng';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { createHostDeviceBackend } from '../testing/host-device-backend';
import { Tensor } from '../tensor';
import { mul } from './binary';
import { sum } from './reduce';
import { dropout } from './dropout';

const GRAD = { atol: 1e-3, rtol: 1e-2 };
const N = 100_000;
const Z = 6; // standard errors allowed in statistical checks

describe('dropout', () => {
  test('same seed, same mask; another seed, another mask', () => {
    const x = randn([4, 8], new Rng(1)); // [4, 8]
    const a = dropout(x, 0.5, new Rng(7));
    const b = dropout(x, 0.5, new Rng(7));
    const c = dropout(x, 0.5, new Rng(8));
    expect(a.shape).toEqual([4, 8]);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
  });

  test('identity when not training or p = 0, without touching the generator', () => {
    const x = randn([3, 3], new Rng(2)); // [3, 3]
    const rng = new Rng(3);
    expect(dropout(x, 0.9, rng, false)).toBe(x);
    expect(dropout(x, 0, rng)).toBe(x);
    expect(rng.nextUint32()).toBe(new Rng(3).nextUint32());
  });

  test('keeps each element with probability 1 − p and scales kept ones by 1/(1 − p)', () => {
    for (const p of [0.1, 0.3, 0.75]) {
      const x = ones([N]); // [N]
      const y = dropout(x, p, new Rng(4));
      let kept = 0;
      let total = 0;
      let offScale = 0;
      for (const v of y.data) {
        total += v;
        if (v === 0) continue;
        kept++;
        if (Math.abs(v - 1 / (1 - p)) > 1e-6 / (1 - p)) offScale++;
      }
      expect(offScale).toBe(0);
      expect(Math.abs(kept / N - (1 - p))).toBeLessThan(Z * Math.sqrt((p * (1 - p)) / N));
      // inverted dropout keeps the mean: E[y] = 1, Var[y] = p / (1 − p)
      expect(Math.abs(total / N - 1)).toBeLessThan(Z * Math.sqrt(p / (1 - p) / N));
    }
  });

  test('kept values are x/(1 − p) elementwise', () => {
    const x = randn([50], new Rng(5)); // [50]
    const y = dropout(x, 0.4, new Rng(6));
    const expected = Array.from(x.data, (v, i) => (y.data[i] === 0 ? 0 : v / 0.6));
    expectClose(y.data, expected, { atol: 0, rtol: 1e-6 });
    expect(expected.filter((v) => v !== 0).length).toBeGreaterThan(10);
  });

  test('the gradient is the upstream gradient times the same mask (0 or 1/(1 − p))', () => {
    const x = randn([6, 7], new Rng(9), { requiresGrad: true }); // [6, 7]
    const y = dropout(x, 0.3, new Rng(10));
    const g = randn([6, 7], new Rng(11)); // [6, 7]
    y.backward(g);
    const mask = Array.from(y.data, (v) => (v === 0 ? 0 : 1 / 0.7));
    expectClose(
      x.grad!.data,
      Array.from(g.data, (v, i) => v * mask[i]!),
      { atol: 0, rtol: 1e-6 },
    );
    // a fresh generator per call fixes the mask, so finite differences see the same function
    expect(gradcheck((t) => dropout(t, 0.5, new Rng(12)), [randn([3, 5], new Rng(13))], GRAD)).toMatchObject({ ok: true });
  });

  test('p outside [0, 1) is an ArgumentError', () => {
    const x = randn([2], new Rng(0));
    for (const p of [-0.1, 1, 1.5, NaN]) {
      const error = expectThrows(() => dropout(x, p, new Rng(0)), ArgumentError);
      expect(error.op).toBe('dropout');
      expect(error.argument).toBe('p');
    }
    expect(expectThrows(() => dropout(x, 2, new Rng(0), false), ArgumentError).argument).toBe('p'); // checked even when off
  });
});

describe('dropout on a device', () => {
  test('the mask is drawn on the host from the same generator: the device keeps exactly what the CPU keeps', async () => {
    registerDevice(createHostDeviceBackend('host-dropout'));
    try {
      const x = randn([5, 9], new Rng(4)); // [5, 9]
      const cpuLeaf = new Tensor(x.data.slice(), x.shape, true);
      const cpu = dropout(cpuLeaf, 0.4, new Rng(5));
      sum(mul(cpu, 3)).backward();
      const leaf = await toDevice(x, 'host-dropout');
      leaf.requiresGrad = true;
      const out = dropout(leaf, 0.4, new Rng(5));
      expect(out.device).toBe('host-dropout');
      expect(Array.from(await out.read())).toEqual(Array.from(cpu.data));
      sum(mul(out, 3)).backward();
      expect(Array.from(await leaf.grad!.read())).toEqual(Array.from(cpuLeaf.grad!.data));
    } finally {
      unregisterDevice('host-dropout');
    }
  });
});
