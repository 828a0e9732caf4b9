import { ConfigError, Rng, tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { Entmax15 } from './entmax15-normalizer';
import { createNormalizer, listNormalizers, registerNormalizer, resolveNormalizer } from './normalizer-registry';
import { Softmax } from './softmax';
import { Sparsemax } from './sparsemax-normalizer';
import { AlphaEntmax } from './variants/alpha-entmax-normalizer';
import { GumbelSoftmax } from './variants/gumbel-softmax-normalizer';

describe('normalizers', () => {
  it('lists and builds the built-ins', () => {
    expect(listNormalizers()).toEqual(['softmax', 'sparsemax', 'entmax15', 'alpha-entmax', 'gumbel-softmax']);
    expect(createNormalizer({ kind: 'softmax', temperature: 2 })).toBeInstanceOf(Softmax);
    expect(createNormalizer({ kind: 'sparsemax' })).toBeInstanceOf(Sparsemax);
    expect(createNormalizer({ kind: 'entmax15' })).toBeInstanceOf(Entmax15);
    expect(resolveNormalizer(undefined)).toBeInstanceOf(Softmax);
  });

  it("builds the variants' normalizers by kind: α-entmax with its α, Gumbel-softmax with its generator", () => {
    const entmax = resolveNormalizer({ kind: 'alpha-entmax', alpha: 2 });
    expect(entmax).toBeInstanceOf(AlphaEntmax);
    // α = 2 is sparsemax: z = [1, 0.5, −1], τ = (1 + 0.5 − 1) / 2 = 0.25 -> [0.75, 0.25, 0]
    const p = entmax.normalize(tensor([[1, 0.5, -1]]));
    expect(Array.from(p.data).map((x) => Number(x.toFixed(5)))).toEqual([0.75, 0.25, 0]);
    expect((createNormalizer({ kind: 'alpha-entmax' }) as AlphaEntmax).alpha).toBe(1.5); // entmax-1.5 by default
    expect(() => createNormalizer({ kind: 'alpha-entmax', alpha: 0.5 })).toThrow(ConfigError); // α > 1
    const hard = resolveNormalizer({ kind: 'gumbel-softmax', temperature: 0.5, rng: new Rng(3) });
    expect(hard).toBeInstanceOf(GumbelSoftmax);
    const row = Array.from(hard.normalize(tensor([[0.2, 1, -0.3, 0.4]])).data);
    expect([row.filter((x) => x === 1).length, row.filter((x) => x === 0).length]).toEqual([1, 3]); // one-hot
  });

  it('fails on an unknown kind with the known kinds, and on a taken kind', () => {
    expect(() => createNormalizer({ kind: 'hardmax' })).toThrow(
      "unknown normalizer kind 'hardmax'; known kinds: softmax, sparsemax, entmax15, alpha-entmax, gumbel-softmax",
    );
    expect(() => registerNormalizer('softmax', () => new Softmax())).toThrow(ConfigError);
  });

  it('refuses a non-positive temperature at the call that makes it', () => {
    for (const make of [
      () => new Softmax({ temperature: 0 }),
      () => new Sparsemax({ temperature: -1 }),
      () => new Entmax15({ temperature: Number.NaN }),
    ]) {
      expect(make).toThrow(/temperature must be a finite number > 0/);
    }
  });

  it('softmax temperature divides the scores (naive check)', () => {
    const s = tensor([[1, 2, 4]]);
    const w = new Softmax({ temperature: 2 }).normalize(s);
    const e = [0.5, 1, 2].map(Math.exp);
    const total = e.reduce((a, b) => a + b, 0);
    e.forEach((v, i) => expect(w.data[i]).toBeCloseTo(v / total, 6));
  });

  it('every normalizer gives weight 0 to dropped keys and a zero row when nothing is kept', () => {
    const scores = tensor([
      [0.3, 2, -1],
      [1, 1, 1],
    ]);
    const keep = tensor([
      [1, 0, 1],
      [0, 0, 0],
    ]);
    for (const n of [new Softmax(), new Sparsemax(), new Entmax15()]) {
      const w = n.normalize(scores, keep);
      expect(w.data[1]).toBe(0);
      expect(w.data[0]! + w.data[2]!).toBeCloseTo(1, 6);
      expect(Array.from(w.data.subarray(3))).toEqual([0, 0, 0]);
    }
  });

  it('refuses a keep mask that does not broadcast to the scores', () => {
    expect(() => new Softmax().normalize(tensor([[1, 2, 3]]), tensor([[1, 0]]))).toThrow(
      /keep \[1, 2\] does not broadcast to the scores \[1, 3\]/,
    );
  });
});
