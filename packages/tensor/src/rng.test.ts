import { describe, expect, test } from 'vitest';
import { ArgumentError } from './errors/argument-error';
import { Rng } from './rng';
import { expectThrows } from './testing/expect-throws';

// Statistical bounds are 6 standard errors wide: a correct generator fails one of them with
// probability ~1e-9, while a biased one (wrong range, wrong scale, not normal) fails them all.
const N = 100_000;
const Z = 6;

describe('Rng', () => {
  test('same seed, same sequence; different seeds differ', () => {
    const a = new Rng(123);
    const b = new Rng(123);
    const c = new Rng(124);
    const sa = Array.from({ length: 50 }, () => a.nextUint32());
    const sb = Array.from({ length: 50 }, () => b.nextUint32());
    const sc = Array.from({ length: 50 }, () => c.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    expect(sa.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32)).toBe(true);
    expect(new Set(sa).size).toBe(50);
  });

  test('normal, uniform and int are deterministic per seed', () => {
    const draw = (rng: Rng): number[] => [rng.normal(), rng.normal(), rng.normal(), rng.uniform(), rng.int(10)];
    expect(draw(new Rng(9))).toEqual(draw(new Rng(9)));
  });

  test('fork gives an independent, deterministic stream', () => {
    const parent = new Rng(1);
    const child = parent.fork();
    const again = new Rng(1).fork();
    const c = Array.from({ length: 10 }, () => child.nextUint32());
    expect(c).toEqual(Array.from({ length: 10 }, () => again.nextUint32()));
    expect(c).not.toEqual(Array.from({ length: 10 }, () => parent.nextUint32()));
  });

  test('rejects a non-finite seed', () => {
    expect(expectThrows(() => new Rng(NaN), ArgumentError).argument).toBe('seed');
    expect(expectThrows(() => new Rng(Infinity), ArgumentError).op).toBe('Rng');
  });

  test('uniform lies in [0, 1) with mean 1/2, variance 1/12 and flat deciles', () => {
    const rng = new Rng(2024);
    const bins = new Array<number>(10).fill(0);
    let lo = Infinity;
    let hi = -Infinity;
    let total = 0;
    let squares = 0;
    for (let i = 0; i < N; i++) {
      const u = rng.uniform();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      total += u;
      squares += u * u;
      bins[Math.floor(u * 10)]!++;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    const mean = total / N;
    const variance = squares / N - mean * mean;
    expect(Math.abs(mean - 0.5)).toBeLessThan(Z * Math.sqrt(1 / 12 / N));
    // Var of u² is 1/5 − 1/9 = 4/45: the standard error of the variance estimate is ≈ √(4/45 / N)
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(Z * Math.sqrt(4 / 45 / N));
    for (const count of bins) expect(Math.abs(count / N - 0.1)).toBeLessThan(Z * Math.sqrt((0.1 * 0.9) / N));
  });

  test('normal has mean 0, variance 1 and the normal mass within one and two sigmas', () => {
    const rng = new Rng(77);
    let total = 0;
    let squares = 0;
    let within1 = 0;
    let within2 = 0;
    for (let i = 0; i < N; i++) {
      const z = rng.normal();
      total += z;
      squares += z * z;
      if (Math.abs(z) < 1) within1++;
      if (Math.abs(z) < 2) within2++;
    }
    const mean = total / N;
    const variance = squares / N - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(Z / Math.sqrt(N));
    expect(Math.abs(variance - 1)).toBeLessThan(Z * Math.sqrt(2 / N)); // Var(z²) = 2
    const p1 = 0.682689492; // P(|z| < 1)
    const p2 = 0.954499736; // P(|z| < 2)
    expect(Math.abs(within1 / N - p1)).toBeLessThan(Z * Math.sqrt((p1 * (1 - p1)) / N));
    expect(Math.abs(within2 / N - p2)).toBeLessThan(Z * Math.sqrt((p2 * (1 - p2)) / N));
  });

  test('int(n) gives integers in [0, n), each about equally often', () => {
    const rng = new Rng(5);
    const n = 7;
    const counts = new Array<number>(n).fill(0);
    let outside = 0;
    for (let i = 0; i < N; i++) {
      const k = rng.int(n);
      if (Number.isInteger(k) && k >= 0 && k < n) counts[k]!++;
      else outside++;
    }
    expect(outside).toBe(0);
    const p = 1 / n;
    for (const count of counts) expect(Math.abs(count / N - p)).toBeLessThan(Z * Math.sqrt((p * (1 - p)) / N));
    expect(new Rng(1).int(1)).toBe(0);
  });
});
