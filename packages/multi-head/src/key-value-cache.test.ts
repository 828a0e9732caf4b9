import {
  DeviceError,
  type HeedError,
  noGrad,
  randn,
  registerDevice,
  Rng,
  ShapeError,
  slice,
  tensor,
  type Tensor,
  toDevice,
  unregisterDevice,
} from '@heed/tensor';
import { createHostDeviceBackend } from '@heed/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertClose } from '../../../fixtures/load-fixture';
import { KeyValueCache } from './key-value-cache';
import { MultiHeadAttention, type MultiHeadAttentionOptions } from './multi-head-attention';

// Shape letters: B batch, L sequence length, E embedDim, H heads, X extra keys (bias / zero key).

const TIGHT = { rtol: 1e-5, atol: 1e-6 };

/** Decodes x [B, L, E] in chunks of the given sizes with a cache; checks every chunk against the full causal pass. */
function checkCachedDecoding(options: MultiHeadAttentionOptions, chunks: number[], seed = 1): void {
  const rng = new Rng(seed);
  const layer = new MultiHeadAttention({ ...options, rng });
  const E = options.embedDim;
  const H = options.numHeads;
  const L = chunks.reduce((a, b) => a + b, 0);
  const B = 2;
  const X = Number(options.addBiasKv ?? false) + Number(options.addZeroAttn ?? false);
  const x = randn([B, L, E], rng);
  const full = layer.forward(x, x, x, { causal: true, averageHeadWeights: false }); // output [B, L, E], weights [B, H, L, L + X]
  const cache = layer.createCache();
  let start = 0;
  noGrad(() => {
    for (const n of chunks) {
      const step = slice(x, 1, start, start + n); // [B, n, E]
      const { output, weights } = layer.forward(step, step, step, { causal: true, cache, averageHeadWeights: false });
      expect(cache.length).toBe(start + n);
      assertClose(`output of positions ${start}..${start + n - 1}`, output, slice(full.output, 1, start, start + n), TIGHT);
      // weights [B, H, n, start + n + X]: the seen keys, then the extra keys; the full pass has zeros for the unseen ones
      const seen = start + n;
      expect(weights!.shape).toEqual([B, H, n, seen + X]);
      const rows = slice(full.weights!, 2, start, start + n); // [B, H, n, L + X]
      for (let r = 0; r < B * H * n; r++)
        for (let j = 0; j < seen + X; j++) {
          const fullColumn = j < seen ? j : L + (j - seen);
          expect(Math.abs(weights!.data[r * (seen + X) + j]! - rows.data[r * (L + X) + fullColumn]!)).toBeLessThan(1e-6);
        }
      start += n;
    }
  });
}

describe('KeyValueCache: cached decoding equals the full causal pass', () => {
  it('one token at a time (plain multi-head attention)', () => {
    checkCachedDecoding({ embedDim: 8, numHeads: 2 }, [1, 1, 1, 1, 1, 1]);
  });

  it('a prompt of 3, then single tokens, then a chunk of 2 (bottom-right causal alignment)', () => {
    checkCachedDecoding({ embedDim: 8, numHeads: 2 }, [3, 1, 1, 2]);
  });

  it('grouped-query (H = 4, Hkv = 2) and multi-query (Hkv = 1) attention: the cache holds Hkv heads', () => {
    checkCachedDecoding({ embedDim: 8, numHeads: 4, numKeyValueHeads: 2 }, [2, 1, 1, 1]);
    checkCachedDecoding({ embedDim: 8, numHeads: 4, numKeyValueHeads: 1 }, [1, 1, 1, 1]);
    const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 1 });
    const cache = layer.createCache();
    const x = randn([3, 2, 8], new Rng(0));
    layer.forward(x, x, x, { cache });
    expect(cache.keys!.shape).toEqual([3, 1, 2, 2]); // [B, Hkv, L, d]
    expect(cache.values!.shape).toEqual([3, 1, 2, 2]);
  });

  it('with addBiasKv and addZeroAttn: the extra keys follow the cached ones, never cached themselves', () => {
    checkCachedDecoding({ embedDim: 8, numHeads: 2, addBiasKv: true, addZeroAttn: true }, [1, 2, 1, 1]);
  });

  it('with a parametric scorer per head and a sparsemax normalizer', () => {
    checkCachedDecoding({ embedDim: 8, numHeads: 2, scorer: { kind: 'general' } }, [2, 1, 1]);
    checkCachedDecoding({ embedDim: 8, numHeads: 2, normalizer: { kind: 'sparsemax' } }, [1, 1, 1, 1]);
  });

  it('a key padding mask covers every key the queries see, cached ones first', () => {
    const rng = new Rng(3);
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2, rng });
    const x = randn([2, 3, 4], rng);
    const padding = tensor([
      [1, 0, 1],
      [1, 1, 1],
    ]); // [B, L]: key 1 of batch 0 is padding
    const full = layer.forward(x, x, x, { causal: true, keyPaddingMask: padding });
    const cache = layer.createCache();
    for (let t = 0; t < 3; t++) {
      const step = slice(x, 1, t, t + 1);
      const out = layer.forward(step, step, step, { causal: true, cache, keyPaddingMask: slice(padding, 1, 0, t + 1) });
      assertClose(`output ${t}`, out.output, slice(full.output, 1, t, t + 1), TIGHT);
    }
  });

  it('length, batchSize and reset()', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });
    const cache = layer.createCache();
    expect(cache).toBeInstanceOf(KeyValueCache);
    expect([cache.length, cache.batchSize, cache.keys]).toEqual([0, null, null]);
    const x = randn([2, 3, 4], new Rng(0));
    layer.forward(x, x, x, { cache });
    expect([cache.length, cache.batchSize]).toEqual([3, 2]);
    cache.reset();
    expect([cache.length, cache.batchSize]).toEqual([0, null]);
    const y = randn([5, 1, 4], new Rng(1));
    expect(layer.forward(y, y, y, { cache }).output.shape).toEqual([5, 1, 4]); // an empty cache takes any batch size
  });

  it('refuses a cache fed another batch size, naming the shapes', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });
    const cache = layer.createCache();
    const x = randn([2, 3, 4], new Rng(0));
    layer.forward(x, x, x, { cache });
    const other = randn([3, 1, 4], new Rng(1));
    const call = () => layer.forward(other, other, other, { cache });
    expect(call).toThrow(ShapeError);
    expect(call).toThrow(
      'MultiHeadAttention.forward: cache holds a batch of 2 (cached keys [2, 2, 3, 2]), got query [3, 1, 4] with a batch of 3',
    );
    try {
      call();
    } catch (error) {
      expect((error as HeedError).argument).toBe('cache');
      expect((error as HeedError).shapes).toMatchObject({ query: [3, 1, 4], cachedKeys: [2, 2, 3, 2] });
    }
    expect(cache.length).toBe(3); // the refused call appended nothing
    const token = randn([2, 1, 4], new Rng(4));
    expect(() => layer.forward(token, token, token, { cache, keyPaddingMask: tensor([[1], [1]]) })).toThrow(
      'keyPaddingMask [2, 1] must be [B, Lk] = [2, 4]',
    );
    expect(cache.length).toBe(3); // nor did a refused mask
    const direct = () => cache.append(randn([3, 2, 1, 2], new Rng(2)), randn([3, 2, 1, 2], new Rng(3)));
    expect(direct).toThrow('KeyValueCache.append: cache holds a batch of 2');
  });

  it("refuses another layer's cache of a different head layout", () => {
    const small = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });
    const big = new MultiHeadAttention({ embedDim: 8, numHeads: 2 });
    const x = randn([1, 2, 8], new Rng(0));
    expect(() => big.forward(x, x, x, { cache: small.createCache() })).toThrow(
      'cache holds [B, 2, L, 2] keys, this layer makes [B, 2, L, 4]',
    );
    const cache = new KeyValueCache(2, 2);
    const wrong: Tensor = randn([1, 2, 1, 3], new Rng(0));
    expect(() => cache.append(wrong, wrong)).toThrow(
      'KeyValueCache.append: cache holds keys [B, 2, L, 2] (numKeyValueHeads 2, headDim 2), got [1, 2, 1, 3]',
    );
  });

  it('refuses keys and values of different lengths or batches, leaving the cache as it was', () => {
    const cache = new KeyValueCache(2, 2);
    cache.append(randn([1, 2, 3, 2], new Rng(0)), randn([1, 2, 3, 2], new Rng(1)));
    for (const [keyShape, valueShape] of [
      [
        [1, 2, 1, 2],
        [1, 2, 2, 2],
      ], // lengths 1 and 2
      [
        [1, 2, 1, 2],
        [2, 2, 1, 2],
      ], // batches 1 and 2
    ] as const) {
      const keys = randn([...keyShape], new Rng(2));
      const values = randn([...valueShape], new Rng(3));
      let caught: unknown = null;
      try {
        cache.append(keys, values);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ShapeError);
      const error = caught as ShapeError;
      expect(error.message).toContain('KeyValueCache.append');
      expect([error.op, error.argument]).toEqual(['KeyValueCache.append', 'values']);
      expect(error.shapes).toEqual({ keys: keyShape, values: valueShape });
      expect([cache.length, cache.keys!.shape, cache.values!.shape]).toEqual([3, [1, 2, 3, 2], [1, 2, 3, 2]]);
    }
    const empty = new KeyValueCache(2, 2);
    expect(() => empty.append(randn([1, 2, 1, 2], new Rng(4)), randn([1, 2, 4, 2], new Rng(5)))).toThrow(ShapeError);
    expect(empty.length).toBe(0);
  });
});

describe('KeyValueCache: a call that throws changes nothing', () => {
  const host = createHostDeviceBackend('kv-cache-host');
  beforeAll(() => registerDevice(host));
  afterAll(() => unregisterDevice('kv-cache-host'));

  it('append with values on another device than the cached ones keeps both keys and values as they were', async () => {
    const cache = new KeyValueCache(2, 2);
    cache.append(randn([1, 2, 3, 2], new Rng(0)), randn([1, 2, 3, 2], new Rng(1)));
    const [keys, values] = [cache.keys, cache.values];
    const deviceValues = await toDevice(randn([1, 2, 1, 2], new Rng(3)), 'kv-cache-host');
    expect(() => cache.append(randn([1, 2, 1, 2], new Rng(2)), deviceValues)).toThrow(DeviceError); // the keys join, the values cannot
    expect([cache.length, cache.keys, cache.values]).toEqual([3, keys, values]);
    expect(cache.keys).toBe(keys);
  });

  it('transaction undoes the appends of a run that throws, and keeps those of a run that returns', () => {
    const cache = new KeyValueCache(2, 2);
    cache.append(randn([1, 2, 3, 2], new Rng(0)), randn([1, 2, 3, 2], new Rng(1)));
    const [keys, values] = [cache.keys, cache.values];
    const failure = new Error('attention failed');
    expect(() =>
      cache.transaction(() => {
        cache.append(randn([1, 2, 2, 2], new Rng(2)), randn([1, 2, 2, 2], new Rng(3)));
        throw failure;
      }),
    ).toThrow(failure);
    expect(cache.keys).toBe(keys);
    expect(cache.values).toBe(values);
    expect(cache.transaction(() => cache.append(randn([1, 2, 2, 2], new Rng(2)), randn([1, 2, 2, 2], new Rng(3))).keys.shape)).toEqual([
      1, 2, 5, 2,
    ]);
    expect(cache.length).toBe(5);
  });
});
