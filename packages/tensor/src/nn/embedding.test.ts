import { describe, expect, test } from 'vitest';
import { tensor } from '../creation';
import { ArgumentError } from '../errors/argument-error';
import { ConfigError } from '../errors/config-error';
import { sum } from '../ops/reduce';
import { Rng } from '../rng';
import { expectThrows } from '../testing/expect-throws';
import { Embedding } from './embedding';

// Shape letters: ids [B, T], weight [V, D], out [B, T, D].

describe('Embedding', () => {
  test('weight is [V, D], drawn N(0, 1) from the generator', () => {
    const layer = new Embedding(200, 100, { rng: new Rng(1) });
    expect(layer.weight.shape).toEqual([200, 100]);
    expect(layer.namedParameters().map(([n]) => n)).toEqual(['weight']);
    const reference = new Rng(1);
    const expected = Array.from({ length: 5 }, () => Math.fround(reference.normal()));
    expect(Array.from(layer.weight.data.subarray(0, 5))).toEqual(expected);
    const w = Array.from(layer.weight.data);
    const n = w.length;
    const mean = w.reduce((s, v) => s + v, 0) / n;
    const variance = w.reduce((s, v) => s + v * v, 0) / n - mean * mean;
    expect(Math.abs(mean)).toBeLessThan(6 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(6 * Math.sqrt(2 / n));
  });

  test('forward picks rows: ids [B, T] -> [B, T, D]', () => {
    const layer = new Embedding(4, 3, { rng: new Rng(2) });
    const out = layer.forward(
      tensor([
        [3, 0],
        [3, 1],
      ]),
    ); // [2, 2] -> [2, 2, 3]
    expect(out.shape).toEqual([2, 2, 3]);
    const row = (r: number): number[] => Array.from(layer.weight.data.subarray(r * 3, r * 3 + 3));
    expect(Array.from(out.data)).toEqual([...row(3), ...row(0), ...row(3), ...row(1)]);
    expect(layer.forward([2]).shape).toEqual([1, 3]);
  });

  test('the gradient scatter-adds into the used rows', () => {
    const layer = new Embedding(4, 2, { rng: new Rng(3) });
    sum(layer.forward([1, 1, 3])).backward();
    expect(layer.weight.grad!.toArray()).toEqual([
      [0, 0],
      [2, 2],
      [0, 0],
      [1, 1],
    ]);
  });

  test('bad sizes are ConfigErrors; out-of-range ids are ArgumentErrors', () => {
    expect(expectThrows(() => new Embedding(0, 3), ConfigError).argument).toBe('numEmbeddings');
    expect(expectThrows(() => new Embedding(3, 1.5), ConfigError).argument).toBe('embeddingDim');
    expect(() => new Embedding(4, 2, { rng: new Rng(0) }).forward([4])).toThrow(ArgumentError);
  });
});
