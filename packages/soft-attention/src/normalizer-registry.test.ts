import { ConfigError, tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import { Entmax15 } from './entmax15-normalizer';
import { createNormalizer, listNormalizers, registerNormalizer, resolveNormalizer } from './normalizer-registry';
import { Softmax } from './softmax';
import { Sparsemax } from './sparsemax-normalizer';

describe('normalizers', () => {
  it('lists and builds the three built-ins', () => {
    expect(listNormalizers()).toEqual(['softmax', 'sparsemax', 'entmax15']);
    expect(createNormalizer({ kind: 'softmax', temperature: 2 })).toBeInstanceOf(Softmax);
    expect(createNormalizer({ kind: 'sparsemax' })).toBeInstanceOf(Sparsemax);
    expect(createNormalizer({ kind: 'entmax15' })).toBeInstanceOf(Entmax15);
    expect(resolveNormalizer(undefined)).toBeInstanceOf(Softmax);
  });

  it('fails on an unknown kind with the known kinds, and on a taken kind', () => {
    expect(() => createNormalizer({ kind: 'hardmax' })).toThrow("unknown normalizer kind 'hardmax'; known kinds: softmax, sparsemax, entmax15");
    expect(() => registerNormalizer('softmax', () => new Softmax())).toThrow(ConfigError);
  });

  it('refuses a non-positive temperature at the call that makes it', () => {
    for (const make of [() => new Softmax({ temperature: 0 }), () => new Sparsemax({ temperature: -1 }), () => new Entmax15({ temperature: Number.NaN })]) {
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
    const scores = tensor([[0.3, 2, -1], [1, 1, 1]]);
    const keep = tensor([[1, 0, 1], [0, 0, 0]]);
    for (const n of [new Softmax(), new Sparsemax(), new Entmax15()]) {
      const w = n.normalize(scores, keep);
      expect(w.data[1]).toBe(0);
      expect(w.data[0]! + w.data[2]!).toBeCloseTo(1, 6);
      expect(Array.from(w.data.subarray(3))).toEqual([0, 0, 0]);
    }
  });

  it('refuses a keep mask that does not broadcast to the scores', () => {
    expect(() => new Softmax().normalize(tensor([[1, 2, 3]]), tensor([[1, 0]]))).toThrow(/keep \[1, 2\] does not broadcast to the scores \[1, 3\]/);
  });
});
