import { describe, expect, test } from 'vitest';
import { zeros } from '../creation';
import { ArgumentError } from '../errors/argument-error';
import { Rng } from '../rng';
import { expectThrows } from '../testing/expect-throws';
import { fans, kaimingNormal, kaimingUniform, normalInit, uniformInit, xavierNormal, xavierUniform } from './init';

// Statistical checks use 6 standard errors; weights are [O, I] = [256, 128] (n = 32768) unless noted.
const Z = 6;

function stats(data: Float32Array): { mean: number; std: number; maxAbs: number; n: number } {
  const n = data.length;
  let total = 0;
  let squares = 0;
  let maxAbs = 0;
  for (const v of data) {
    total += v;
    squares += v * v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const mean = total / n;
  return { mean, std: Math.sqrt(squares / n - mean * mean), maxAbs, n };
}

/** Checks N(0, std²) samples: mean within Z·std/√n, sample std within Z·std/√(2n). */
function expectNormal(data: Float32Array, std: number): void {
  const s = stats(data);
  expect(Math.abs(s.mean)).toBeLessThan((Z * std) / Math.sqrt(s.n));
  expect(Math.abs(s.std - std)).toBeLessThan((Z * std) / Math.sqrt(2 * s.n));
}

/** Checks U(−bound, bound) samples: inside the bound, reaching close to it, std bound/√3. */
function expectUniform(data: Float32Array, bound: number): void {
  const s = stats(data);
  expect(s.maxAbs).toBeLessThanOrEqual(bound);
  expect(s.maxAbs).toBeGreaterThan(0.99 * bound);
  // the sample std of U(−b, b) has standard error ≈ b·√(4/45)/(2·(b/√3)·√n)
  const std = bound / Math.sqrt(3);
  expect(Math.abs(s.std - std)).toBeLessThan((Z * bound * bound * Math.sqrt(4 / 45)) / (2 * std * Math.sqrt(s.n)));
}

describe('fans', () => {
  test('weight [O, I, ...receptive]: fanIn = I·receptive, fanOut = O·receptive', () => {
    expect(fans([256, 128])).toEqual({ fanIn: 128, fanOut: 256 });
    expect(fans([16, 8, 3, 3])).toEqual({ fanIn: 72, fanOut: 144 });
  });

  test('rank below 2 is an ArgumentError naming the shape', () => {
    const error = expectThrows(() => fans([5]), ArgumentError);
    expect(error.message).toContain('[5]');
    expect(error.shapes).toEqual({ tensor: [5] });
  });
});

describe('initializers', () => {
  test('uniformInit and normalInit fill in place from the generator and return the tensor', () => {
    const t = zeros([4, 4]);
    expect(uniformInit(t, 2, 3, new Rng(1))).toBe(t);
    const reference = new Rng(1);
    expect(t.data[0]).toBe(Math.fround(2 + reference.uniform()));
    expect(Array.from(t.data).every((v) => v >= 2 && v <= 3)).toBe(true);
    const u = zeros([256, 128]);
    expect(normalInit(u, 1.5, 0.5, new Rng(2))).toBe(u);
    const shifted = Float32Array.from(u.data, (v) => v - 1.5);
    expectNormal(shifted, 0.5);
  });

  test('xavierUniform: U(−a, a), a = gain·√(6 / (fanIn + fanOut))', () => {
    const t = xavierUniform(zeros([256, 128]), new Rng(3));
    expectUniform(t.data, Math.sqrt(6 / 384));
    expectUniform(xavierUniform(zeros([256, 128]), new Rng(4), 2).data, 2 * Math.sqrt(6 / 384));
  });

  test('xavierNormal: std = gain·√(2 / (fanIn + fanOut))', () => {
    expectNormal(xavierNormal(zeros([256, 128]), new Rng(5)).data, Math.sqrt(2 / 384));
    expectNormal(xavierNormal(zeros([256, 128]), new Rng(6), 0.5).data, 0.5 * Math.sqrt(2 / 384));
  });

  test('kaimingNormal: std = √(2 / (1 + a²)) / √fan, fanIn by default', () => {
    expectNormal(kaimingNormal(zeros([256, 128]), new Rng(7)).data, Math.sqrt(2 / 128));
    expectNormal(kaimingNormal(zeros([256, 128]), new Rng(8), { mode: 'fanOut' }).data, Math.sqrt(2 / 256));
    expectNormal(kaimingNormal(zeros([256, 128]), new Rng(9), { a: 1 }).data, Math.sqrt(1 / 128));
    expectNormal(kaimingNormal(zeros([32, 16, 4, 4]), new Rng(10)).data, Math.sqrt(2 / 256));
  });

  test('kaimingUniform: bound √3·gain/√fan; a = √5 gives PyTorch Linear’s 1/√fanIn', () => {
    expectUniform(kaimingUniform(zeros([256, 128]), new Rng(11)).data, Math.sqrt(3) * Math.sqrt(2 / 128));
    expectUniform(kaimingUniform(zeros([256, 128]), new Rng(12), { a: Math.sqrt(5) }).data, 1 / Math.sqrt(128));
    expectUniform(kaimingUniform(zeros([256, 128]), new Rng(13), { mode: 'fanOut' }).data, Math.sqrt(3) * Math.sqrt(2 / 256));
  });

  test('the same seed gives the same weights', () => {
    expect(Array.from(kaimingNormal(zeros([8, 4]), new Rng(14)).data)).toEqual(Array.from(kaimingNormal(zeros([8, 4]), new Rng(14)).data));
  });
});
