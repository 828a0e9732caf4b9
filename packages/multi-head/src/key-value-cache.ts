import { concat, ConfigError, expectTensor, formatShape, ShapeError, type Tensor } from '@heed/tensor';

// Shape letters: B batch, Hkv key/value heads, L cached positions, d head size.

/**
 * The projected keys and values a MultiHeadAttention layer has seen, for incremental decoding:
 * pass it as `forward(..., { cache })` and each call appends its new keys/values, then attends over all
 * of them. Holds keys and values per key/value head ([B, Hkv, L, d]), so GQA/MQA caches are smaller.
 * Make one per layer and per sequence batch with `layer.createCache()`; `reset()` empties it.
 * Decoding usually runs under `noGrad`; with gradients on, the cached tensors keep their graph.
 */
export class KeyValueCache {
  private cachedKeys: Tensor | null = null;
  private cachedValues: Tensor | null = null;

  constructor(
    /** Hkv, the number of key/value heads of the layer that made this cache. */
    readonly numKeyValueHeads: number,
    /** d, the per-head feature size of that layer. */
    readonly headDim: number,
  ) {
    for (const [argument, n] of [
      ['numKeyValueHeads', numKeyValueHeads],
      ['headDim', headDim],
    ] as const) {
      if (!Number.isInteger(n) || n < 1)
        throw new ConfigError(`${argument} must be a positive integer, got ${n}`, { op: 'KeyValueCache', argument });
    }
  }

  /** Keys seen so far, [B, Hkv, L, d] (null while empty). */
  get keys(): Tensor | null {
    return this.cachedKeys;
  }

  /** Values seen so far, [B, Hkv, L, d] (null while empty). */
  get values(): Tensor | null {
    return this.cachedValues;
  }

  /** L, the number of cached positions. */
  get length(): number {
    return this.cachedKeys ? this.cachedKeys.shape[2]! : 0;
  }

  /** B of the cached batch, or null while empty (an empty cache takes any batch size). */
  get batchSize(): number | null {
    return this.cachedKeys ? this.cachedKeys.shape[0]! : null;
  }

  /** Forgets everything (a new sequence; any batch size again). */
  reset(): void {
    this.cachedKeys = null;
    this.cachedValues = null;
  }

  /**
   * Runs `run` (a layer's forward, which appends to this cache) and returns what it returns; if it throws,
   * the cache gets back exactly what it held before — a call that throws changes nothing — and the error goes on.
   */
  transaction<T>(run: () => T): T {
    const keys = this.cachedKeys;
    const values = this.cachedValues;
    try {
      return run();
    } catch (error) {
      this.cachedKeys = keys;
      this.cachedValues = values;
      throw error;
    }
  }

  /**
   * Appends new keys and values [B, Hkv, Lnew, d]; returns everything cached, [B, Hkv, L + Lnew, d].
   * Refuses another batch size or head layout than the cache holds, and keys and values of different
   * batches or lengths, naming the shapes; a refused call leaves the cache as it was.
   */
  append(keys: Tensor, values: Tensor, op = 'KeyValueCache.append'): { keys: Tensor; values: Tensor } {
    expectTensor(op, 'keys', keys);
    expectTensor(op, 'values', values);
    const expected = `[B, ${this.numKeyValueHeads}, L, ${this.headDim}]`;
    for (const [argument, t] of [
      ['keys', keys],
      ['values', values],
    ] as const) {
      if (t.rank !== 4 || t.shape[1] !== this.numKeyValueHeads || t.shape[3] !== this.headDim) {
        throw new ShapeError(
          `cache holds ${argument} ${expected} (numKeyValueHeads ${this.numKeyValueHeads}, headDim ${this.headDim}), got ${formatShape(t.shape)}: was it made by another layer?`,
          {
            op,
            argument: 'cache',
            shapes: { [argument]: t.shape },
          },
        );
      }
    }
    if (keys.shape[0] !== values.shape[0] || keys.shape[2] !== values.shape[2]) {
      throw new ShapeError(
        `keys ${formatShape(keys.shape)} and values ${formatShape(values.shape)} must have the same batch and length (one value per key)`,
        {
          op,
          argument: 'values',
          shapes: { keys: keys.shape, values: values.shape },
        },
      );
    }
    if (this.cachedKeys && this.cachedValues) {
      const B = this.cachedKeys.shape[0]!;
      if (keys.shape[0] !== B) {
        throw new ShapeError(
          `cache holds a batch of ${B} (cached keys ${formatShape(this.cachedKeys.shape)}), got new keys ${formatShape(keys.shape)} for a batch of ${keys.shape[0]}; use one cache per batch or reset() it`,
          {
            op,
            argument: 'cache',
            shapes: { cachedKeys: this.cachedKeys.shape, keys: keys.shape },
          },
        );
      }
      // Both joined before either is kept: a values concat that throws (another device) leaves the keys alone too.
      const allKeys = concat([this.cachedKeys, keys], 2); // [B, Hkv, L, d] ++ [B, Hkv, Lnew, d] -> [B, Hkv, L + Lnew, d]
      const allValues = concat([this.cachedValues, values], 2); // [B, Hkv, L + Lnew, d]
      this.cachedKeys = allKeys;
      this.cachedValues = allValues;
    } else {
      this.cachedKeys = keys; // [B, Hkv, Lnew, d]
      this.cachedValues = values; // [B, Hkv, Lnew, d]
    }
    return { keys: this.cachedKeys, values: this.cachedValues };
  }
}
