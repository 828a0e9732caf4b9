import { describe, expect, test } from 'vitest';
import { randn } from '../creation';
import { manualSeed } from '../default-rng';
import { ConfigError } from '../errors/config-error';
import { sum } from '../ops/reduce';
import { Rng } from '../rng';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { Linear } from './linear';

// Shape letters: x [..., I], weight [O, I], bias [O], y [..., O].

describe('Linear', () => {
  test('forward equals naive x·Wᵀ + b', () => {
    const layer = new Linear(4, 3, { rng: new Rng(1) });
    const x = randn([2, 5, 4], new Rng(2)); // [B, T, I]
    const y = layer.forward(x); // [B, T, O]
    expect(y.shape).toEqual([2, 5, 3]);
    const expected: number[] = [];
    for (let r = 0; r < 10; r++) {
      for (let o = 0; o < 3; o++) {
        let s = layer.bias!.data[o]!;
        for (let i = 0; i < 4; i++) s += x.data[r * 4 + i]! * layer.weight.data[o * 4 + i]!;
        expected.push(s);
      }
    }
    expectClose(y.data, expected, { atol: 1e-6, rtol: 1e-5 });
  });

  test('parameters are weight [O, I] and bias [O]; bias: false drops the bias', () => {
    const layer = new Linear(4, 3, { rng: new Rng(1) });
    expect(layer.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([
      ['weight', [3, 4]],
      ['bias', [3]],
    ]);
    const noBias = new Linear(4, 3, { rng: new Rng(1), bias: false });
    expect(noBias.bias).toBeNull();
    expect(noBias.namedParameters().map(([n]) => n)).toEqual(['weight']);
    const x = randn([2, 4], new Rng(2)); // [N, I]
    const expected: number[] = [];
    for (let r = 0; r < 2; r++) {
      for (let o = 0; o < 3; o++) {
        let s = 0;
        for (let i = 0; i < 4; i++) s += x.data[r * 4 + i]! * noBias.weight.data[o * 4 + i]!;
        expected.push(s);
      }
    }
    expectClose(noBias.forward(x).data, expected, { atol: 1e-6, rtol: 1e-5 });
  });

  test('default init is U(−1/√in, 1/√in) for weight and bias', () => {
    const inFeatures = 64;
    const bound = 1 / Math.sqrt(inFeatures);
    const layer = new Linear(inFeatures, 512, { rng: new Rng(3) });
    for (const p of [layer.weight, layer.bias!]) {
      const values = Array.from(p.data);
      expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(bound);
      // it fills the interval: the extremes come close to ±bound
      expect(Math.max(...values)).toBeGreaterThan(0.95 * bound);
      expect(Math.min(...values)).toBeLessThan(-0.95 * bound);
    }
    // uniform on [−b, b]: mean 0, variance b²/3 (6 standard errors, n = 32768)
    const w = Array.from(layer.weight.data);
    const n = w.length;
    const mean = w.reduce((s, v) => s + v, 0) / n;
    const variance = w.reduce((s, v) => s + v * v, 0) / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(6 * Math.sqrt(bound ** 2 / 3 / n));
    // Var(w²) for U(−b, b) is b⁴/5 − b⁴/9 = 4b⁴/45
    expect(Math.abs(variance - bound ** 2 / 3)).toBeLessThan(6 * Math.sqrt((4 * bound ** 4) / 45 / n));
  });

  test('same generator seed, same weights; without an rng it draws from the default generator', () => {
    const a = new Linear(3, 2, { rng: new Rng(5) });
    const b = new Linear(3, 2, { rng: new Rng(5) });
    expect(Array.from(a.weight.data)).toEqual(Array.from(b.weight.data));
    expect(Array.from(a.bias!.data)).toEqual(Array.from(b.bias!.data));
    manualSeed(5);
    const c = new Linear(3, 2);
    expect(Array.from(c.weight.data)).toEqual(Array.from(a.weight.data));
    manualSeed(0);
  });

  test('gradients reach weight and bias', () => {
    const layer = new Linear(3, 2, { rng: new Rng(6) });
    const x = randn([4, 3], new Rng(7)); // [N, I]
    sum(layer.forward(x)).backward();
    // d Σ y / d b = N per output; d Σ y / d W[o, i] = Σ_n x[n, i]
    expectClose(layer.bias!.grad!.data, [4, 4], { atol: 0, rtol: 1e-6 });
    const colSums = [0, 1, 2].map((i) => [0, 1, 2, 3].reduce((s, r) => s + x.data[r * 3 + i]!, 0));
    expectClose(layer.weight.grad!.data, [...colSums, ...colSums], { atol: 1e-6, rtol: 1e-6 });
    expect(gradcheck((t) => layer.forward(t), [x], { atol: 1e-3, rtol: 1e-2 })).toMatchObject({ ok: true });
  });

  test('non-positive or fractional sizes are ConfigErrors', () => {
    const error = expectThrows(() => new Linear(0, 3), ConfigError);
    expect(error.op).toBe('Linear');
    expect(error.argument).toBe('inFeatures');
    expect(error.message).toContain('got 0');
    expect(expectThrows(() => new Linear(3, 2.5), ConfigError).argument).toBe('outFeatures');
    expect(expectThrows(() => new Linear(-1, 2), ConfigError).argument).toBe('inFeatures');
  });
});
