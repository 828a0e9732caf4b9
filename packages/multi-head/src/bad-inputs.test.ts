import {
  ArgumentError,
  ConfigError,
  DeviceError,
  type HeedError,
  type Module,
  ones,
  Rng,
  randn,
  ShapeError,
  setKernels,
  StateDictError,
  type Tensor,
} from '@heed/tensor';
import { expectHeedError } from '@heed/tensor/testing';
import { describe, expect, it } from 'vitest';
import { KeyValueCache } from './key-value-cache';
import { LlamaAttention } from './llama-attention';
import { MultiHeadAttention } from './multi-head-attention';

// The multi-head layers, their caches and their state-dict loaders given what a hurried user passes:
// each refusal is a HeedError naming the call, the argument and the shapes — never a TypeError, never a
// NaN output — and a refused call leaves the layer's parameters and the cache exactly as they were.

// Loose on purpose: the rows pass wrong types through the typed API, as JavaScript callers can.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;
const bad = (x: unknown): Loose => x;

const t = (shape: number[], seed = 0): Tensor => randn(shape, new Rng(seed));
const withValue = (shape: number[], index: number, value: number): Tensor => {
  const x = t(shape);
  x.data[index] = value;
  return x;
};
const snapshot = (module: Module) => Object.fromEntries(module.namedParameters().map(([name, p]) => [name, Array.from(p.data)]));
const cached = (cache: KeyValueCache) => ({
  length: cache.length,
  keys: cache.keys ? Array.from(cache.keys.data) : null,
  values: cache.values ? Array.from(cache.values.data) : null,
});

interface Row {
  call: () => unknown;
  error: abstract new (...args: never[]) => HeedError;
  op: string;
  argument: string;
  shapes?: Record<string, readonly number[]>;
}

const expectRow = (row: Row): void => {
  expectHeedError(row.call, row.error, { op: row.op, argument: row.argument, ...(row.shapes ? { shapes: row.shapes } : {}) });
};

const constructors: Record<string, Row> = {
  'MultiHeadAttention embedDim 0': {
    call: () => new MultiHeadAttention({ embedDim: 0, numHeads: 1 }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'embedDim',
  },
  'MultiHeadAttention embedDim NaN': {
    call: () => new MultiHeadAttention({ embedDim: NaN, numHeads: 1 }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'embedDim',
  },
  'MultiHeadAttention numHeads 2.5': {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 2.5 }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'numHeads',
  },
  'MultiHeadAttention numHeads 3 for embedDim 8': {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 3 }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'numHeads',
  },
  'MultiHeadAttention numKeyValueHeads 3 for 4 heads': {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 3 }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'numKeyValueHeads',
  },
  'MultiHeadAttention numKeyValueHeads 0': {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 4, numKeyValueHeads: 0 }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'numKeyValueHeads',
  },
  'MultiHeadAttention keyDim -1': {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, keyDim: -1 }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'keyDim',
  },
  'MultiHeadAttention valueDim Infinity': {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, valueDim: Infinity }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'valueDim',
  },
  'MultiHeadAttention dropout 1': {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, dropout: 1 }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'dropout',
  },
  'MultiHeadAttention dropout NaN': {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, dropout: NaN }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'dropout',
  },
  "MultiHeadAttention normalizer 'nope'": {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, normalizer: bad('nope') }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'normalizer',
  },
  "MultiHeadAttention scorer 'nope'": {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, scorer: bad('nope') }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'scorer',
  },
  'LlamaAttention embedDim 0': {
    call: () => new LlamaAttention({ embedDim: 0, numHeads: 2 }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'embedDim',
  },
  'LlamaAttention numHeads NaN': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: NaN }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'numHeads',
  },
  'LlamaAttention numHeads 3 for embedDim 8': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 3 }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'numHeads',
  },
  'LlamaAttention numKeyValueHeads 3 for 4 heads': {
    call: () => new LlamaAttention({ embedDim: 16, numHeads: 4, numKeyValueHeads: 3 }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'numKeyValueHeads',
  },
  'LlamaAttention headDim odd (RoPE)': {
    call: () => new LlamaAttention({ embedDim: 12, numHeads: 4 }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'headDim',
  },
  'LlamaAttention headDim 0': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, headDim: 0 }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'headDim',
  },
  'LlamaAttention ropeBase 1': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, ropeBase: 1 }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'ropeBase',
  },
  'LlamaAttention ropeBase NaN': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, ropeBase: NaN }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'ropeBase',
  },
  "LlamaAttention ropeStyle 'gptj'": {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, ropeStyle: bad('gptj') }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'ropeStyle',
  },
  'LlamaAttention slidingWindow 0': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, slidingWindow: 0 }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'slidingWindow',
  },
  'LlamaAttention slidingWindow 2.5': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, slidingWindow: 2.5 }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'slidingWindow',
  },
  'LlamaAttention softcap 0': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, softcap: 0 }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'softcap',
  },
  'LlamaAttention softcap -50': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, softcap: -50 }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'softcap',
  },
  'LlamaAttention queryPreAttentionScalar Infinity': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, queryPreAttentionScalar: Infinity }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'queryPreAttentionScalar',
  },
  "LlamaAttention sinks 'yes'": {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, sinks: bad('yes') }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'sinks',
  },
  'LlamaAttention attentionBias 1': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, attentionBias: bad(1) }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'attentionBias',
  },
  'LlamaAttention no options': {
    call: () => new LlamaAttention(bad(undefined)),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'options',
  },
  'KeyValueCache(0, 4)': { call: () => new KeyValueCache(0, 4), error: ConfigError, op: 'KeyValueCache', argument: 'numKeyValueHeads' },
  'KeyValueCache(2, 2.5)': { call: () => new KeyValueCache(2, 2.5), error: ConfigError, op: 'KeyValueCache', argument: 'headDim' },
  'KeyValueCache(2, NaN)': { call: () => new KeyValueCache(2, NaN), error: ConfigError, op: 'KeyValueCache', argument: 'headDim' },
  // options of the wrong type
  'MultiHeadAttention(null)': {
    call: () => new MultiHeadAttention(bad(null)),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'options',
  },
  'MultiHeadAttention()': {
    call: () => new MultiHeadAttention(bad(undefined)),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'options',
  },
  'MultiHeadAttention rng 5': {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, rng: bad(5) }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'rng',
  },
  "MultiHeadAttention bias 'no'": {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, bias: bad('no') }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'bias',
  },
  "MultiHeadAttention addBiasKv 'x'": {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, addBiasKv: bad('x') }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'addBiasKv',
  },
  'MultiHeadAttention addZeroAttn 1': {
    call: () => new MultiHeadAttention({ embedDim: 8, numHeads: 2, addZeroAttn: bad(1) }),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'addZeroAttn',
  },
  "MultiHeadAttention option 'numHead'": {
    call: () => new MultiHeadAttention(bad({ embedDim: 8, numHeads: 2, numHead: 4 })),
    error: ConfigError,
    op: 'MultiHeadAttention',
    argument: 'numHead',
  },
  "LlamaAttention option 'rope_theta'": {
    call: () => new LlamaAttention(bad({ embedDim: 8, numHeads: 2, rope_theta: 500000 })),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'rope_theta',
  },
  'LlamaAttention rng 5': {
    call: () => new LlamaAttention({ embedDim: 8, numHeads: 2, rng: bad(5) }),
    error: ConfigError,
    op: 'LlamaAttention',
    argument: 'rng',
  },
};

describe('constructors refuse bad configuration, naming the constructor and the option', () => {
  it.each(Object.entries(constructors))('%s', (_label, row) => expectRow(row));
});

describe('MultiHeadAttention.forward refuses bad inputs and changes no state', () => {
  const op = 'MultiHeadAttention.forward';
  const layer = new MultiHeadAttention({ embedDim: 8, numHeads: 2, numKeyValueHeads: 1, rng: new Rng(1) });
  const [query, key, value] = [t([2, 3, 8], 1), t([2, 4, 8], 2), t([2, 4, 8], 3)];
  const shapes = { query: [2, 3, 8], key: [2, 4, 8], value: [2, 4, 8] };
  const rows: Record<string, Row> = {
    'query = nested array': { call: () => layer.forward(bad([[1]]), key, value), error: ArgumentError, op, argument: 'query' },
    'value = null': { call: () => layer.forward(query, key, bad(null)), error: ArgumentError, op, argument: 'value' },
    'options null': { call: () => layer.forward(query, key, value, bad(null)), error: ArgumentError, op, argument: 'options' },
    "averageHeadWeights 'no'": {
      call: () => layer.forward(query, key, value, { averageHeadWeights: bad('no') }),
      error: ArgumentError,
      op,
      argument: 'averageHeadWeights',
    },
    "option 'averageHeadWeight'": {
      call: () => layer.forward(query, key, value, bad({ averageHeadWeight: false })),
      error: ArgumentError,
      op,
      argument: 'averageHeadWeight',
    },
    'query rank 2': {
      call: () => layer.forward(t([3, 8]), key, value),
      error: ShapeError,
      op,
      argument: 'query',
      shapes: { ...shapes, query: [3, 8] },
    },
    'query of another embedDim': {
      call: () => layer.forward(t([2, 3, 6]), key, value),
      error: ShapeError,
      op,
      argument: 'query',
      shapes: { ...shapes, query: [2, 3, 6] },
    },
    'key of another batch': {
      call: () => layer.forward(query, t([3, 4, 8]), t([3, 4, 8])),
      error: ShapeError,
      op,
      argument: 'key',
      shapes: { ...shapes, key: [3, 4, 8], value: [3, 4, 8] },
    },
    'value of another length': {
      call: () => layer.forward(query, key, t([2, 5, 8])),
      error: ShapeError,
      op,
      argument: 'value',
      shapes: { ...shapes, value: [2, 5, 8] },
    },
    'query with NaN': {
      call: () => layer.forward(withValue([2, 3, 8], 4, NaN), key, value),
      error: ArgumentError,
      op,
      argument: 'query',
      shapes: { query: [2, 3, 8] },
    },
    'value with Infinity': {
      call: () => layer.forward(query, key, withValue([2, 4, 8], 4, Infinity)),
      error: ArgumentError,
      op,
      argument: 'value',
      shapes: { value: [2, 4, 8] },
    },
    'attentionMask [2, 3]': {
      call: () => layer.forward(query, key, value, { attentionMask: ones([2, 3]) }),
      error: ShapeError,
      op,
      argument: 'attentionMask',
    },
    'keyPaddingMask [2, 5]': {
      call: () => layer.forward(query, key, value, { keyPaddingMask: ones([2, 5]) }),
      error: ShapeError,
      op,
      argument: 'keyPaddingMask',
    },
    'additiveMask with NaN': {
      call: () => layer.forward(query, key, value, { additiveMask: withValue([3, 4], 1, NaN) }),
      error: ArgumentError,
      op,
      argument: 'additiveMask',
    },
    'causal { offset: 1.5 }': {
      call: () => layer.forward(query, key, value, { causal: { offset: 1.5 } }),
      error: ArgumentError,
      op,
      argument: 'causal',
    },
    "keepRule 'causal'": {
      call: () => layer.forward(query, key, value, { keepRule: bad('causal') }),
      error: ArgumentError,
      op,
      argument: 'keepRule',
    },
    'cache of another layer': {
      call: () => layer.forward(query, key, value, { cache: new KeyValueCache(2, 4) }),
      error: ShapeError,
      op,
      argument: 'cache',
    },
    'cache = {}': { call: () => layer.forward(query, key, value, { cache: bad({}) }), error: ArgumentError, op, argument: 'cache' },
  };
  it.each(Object.entries(rows))('%s', (_label, row) => {
    const before = snapshot(layer);
    expectRow(row);
    expect(snapshot(layer)).toEqual(before);
  });

  it('still takes anything at padded key positions (never read), with no NaN out', () => {
    const keyPaddingMask = [
      [1, 1, 1, 0],
      [1, 1, 1, 1],
    ];
    const { output } = layer.forward(query, withValue([2, 4, 8], 25, NaN), withValue([2, 4, 8], 30, Infinity), { keyPaddingMask });
    expect(Array.from(output.data).every(Number.isFinite)).toBe(true);
  });

  it('a refused call leaves the cache as it was, and decoding goes on as if never called', () => {
    const cache = layer.createCache();
    const fresh = layer.createCache();
    layer.forward(query, key, value, { cache });
    layer.forward(query, key, value, { cache: fresh });
    const before = cached(cache);
    expectHeedError(() => layer.forward(t([3, 1, 8]), t([3, 1, 8]), t([3, 1, 8]), { cache }), ShapeError, { op, argument: 'cache' });
    expectHeedError(() => layer.forward(t([2, 1, 8]), withValue([2, 1, 8], 0, NaN), t([2, 1, 8]), { cache }), ArgumentError, {
      op,
      argument: 'key',
    });
    expectHeedError(() => layer.forward(t([2, 1, 8]), t([2, 1, 8]), t([2, 1, 8]), { cache, attentionMask: ones([1, 9]) }), ShapeError, {
      op,
      argument: 'attentionMask',
    });
    expect(cached(cache)).toEqual(before);
    const step = [t([2, 1, 8], 7), t([2, 1, 8], 8), t([2, 1, 8], 9)] as const;
    expect(Array.from(layer.forward(...step, { cache }).output.data)).toEqual(
      Array.from(layer.forward(...step, { cache: fresh }).output.data),
    );
  });
});

describe('LlamaAttention.forward refuses bad inputs and changes no state', () => {
  const op = 'LlamaAttention.forward';
  const layer = new LlamaAttention({ embedDim: 8, numHeads: 2, numKeyValueHeads: 1, rng: new Rng(2) });
  const x = t([2, 3, 8], 4);
  const rows: Record<string, Row> = {
    'x = nested array': { call: () => layer.forward(bad([[1]])), error: ArgumentError, op, argument: 'x' },
    'x = null': { call: () => layer.forward(bad(null)), error: ArgumentError, op, argument: 'x' },
    "option 'causal' (always causal)": {
      call: () => layer.forward(x, bad({ causal: true })),
      error: ArgumentError,
      op,
      argument: 'causal',
    },
    'x rank 2': { call: () => layer.forward(t([3, 8])), error: ShapeError, op, argument: 'x', shapes: { x: [3, 8] } },
    'x of another embedDim': { call: () => layer.forward(t([2, 3, 6])), error: ShapeError, op, argument: 'x', shapes: { x: [2, 3, 6] } },
    'x with NaN': {
      call: () => layer.forward(withValue([2, 3, 8], 5, NaN)),
      error: ArgumentError,
      op,
      argument: 'x',
      shapes: { x: [2, 3, 8] },
    },
    'x with -Infinity': {
      call: () => layer.forward(withValue([2, 3, 8], 5, -Infinity)),
      error: ArgumentError,
      op,
      argument: 'x',
      shapes: { x: [2, 3, 8] },
    },
    'options null': { call: () => layer.forward(x, bad(null)), error: ArgumentError, op, argument: 'options' },
    "needWeights 'no'": { call: () => layer.forward(x, bad({ needWeights: 'no' })), error: ArgumentError, op, argument: 'needWeights' },
    'cache = {}': { call: () => layer.forward(x, bad({ cache: {} })), error: ArgumentError, op, argument: 'cache' },
    'cache of another layer': {
      call: () => layer.forward(x, { cache: new KeyValueCache(2, 4) }),
      error: ShapeError,
      op,
      argument: 'cache',
      shapes: { keys: [2, 1, 3, 4] },
    },
  };
  it.each(Object.entries(rows))('%s', (_label, row) => {
    const before = snapshot(layer);
    expectRow(row);
    expect(snapshot(layer)).toEqual(before);
  });

  it('a refused call leaves the cache as it was, and decoding goes on as if never called', () => {
    const cache = layer.createCache();
    const fresh = layer.createCache();
    layer.forward(x, { cache });
    layer.forward(x, { cache: fresh });
    const before = cached(cache);
    expectHeedError(() => layer.forward(t([3, 1, 8]), { cache }), ShapeError, {
      op,
      argument: 'cache',
      shapes: { cachedKeys: [2, 1, 3, 4], keys: [3, 1, 1, 4] },
    });
    expectHeedError(() => layer.forward(withValue([2, 1, 8], 0, NaN), { cache }), ArgumentError, { op, argument: 'x' });
    expectHeedError(() => layer.forward(t([2, 1, 7]), { cache }), ShapeError, { op, argument: 'x' });
    expect(cached(cache)).toEqual(before);
    const step = t([2, 1, 8], 11);
    expect(Array.from(layer.forward(step, { cache }).output.data)).toEqual(Array.from(layer.forward(step, { cache: fresh }).output.data));
  });

  it('a forward that throws after its keys were appended (a failing kernel) leaves the cache as it was', () => {
    const cache = layer.createCache();
    const fresh = layer.createCache();
    layer.forward(x, { cache });
    layer.forward(x, { cache: fresh });
    const before = cached(cache);
    const lost = new DeviceError('the device was lost', { op: 'attentionForward', argument: 'device' });
    const restore = setKernels({
      attentionForward: () => {
        throw lost;
      },
    });
    try {
      expect(() => layer.forward(t([2, 1, 8], 12), { cache, needWeights: false })).toThrow(lost); // the fused path: the kernel runs after the append
    } finally {
      restore();
    }
    expect(cached(cache)).toEqual(before);
    const step = t([2, 1, 8], 13);
    expect(Array.from(layer.forward(step, { cache }).output.data)).toEqual(Array.from(layer.forward(step, { cache: fresh }).output.data));
  });
});

describe('KeyValueCache.append refuses misuse and keeps what it holds', () => {
  const op = 'KeyValueCache.append';
  it('refuses wrong ranks, heads, head sizes, batches and lengths', () => {
    const cache = new KeyValueCache(2, 4);
    cache.append(t([1, 2, 3, 4], 1), t([1, 2, 3, 4], 2));
    const before = cached(cache);
    const rows: Row[] = [
      { call: () => cache.append(t([1, 3, 4]), t([1, 3, 4])), error: ShapeError, op, argument: 'cache', shapes: { keys: [1, 3, 4] } },
      {
        call: () => cache.append(t([1, 3, 1, 4]), t([1, 3, 1, 4])),
        error: ShapeError,
        op,
        argument: 'cache',
        shapes: { keys: [1, 3, 1, 4] },
      },
      {
        call: () => cache.append(t([1, 2, 1, 4]), t([1, 2, 1, 5])),
        error: ShapeError,
        op,
        argument: 'cache',
        shapes: { values: [1, 2, 1, 5] },
      },
      {
        call: () => cache.append(t([1, 2, 1, 4]), t([1, 2, 2, 4])),
        error: ShapeError,
        op,
        argument: 'values',
        shapes: { keys: [1, 2, 1, 4], values: [1, 2, 2, 4] },
      },
      {
        call: () => cache.append(t([2, 2, 1, 4]), t([2, 2, 1, 4])),
        error: ShapeError,
        op,
        argument: 'cache',
        shapes: { cachedKeys: [1, 2, 3, 4], keys: [2, 2, 1, 4] },
      },
      { call: () => cache.append(bad(null), t([1, 2, 1, 4])), error: ArgumentError, op, argument: 'keys' },
      { call: () => cache.append(t([1, 2, 1, 4]), bad([[1]])), error: ArgumentError, op, argument: 'values' },
    ];
    for (const row of rows) {
      expectRow(row);
      expect(cached(cache)).toEqual(before);
    }
  });
});

describe('state dicts with missing, extra or wrong-shape keys are refused before anything is written', () => {
  it('MultiHeadAttention.loadTorchStateDict', () => {
    const op = 'MultiHeadAttention.loadTorchStateDict';
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2, rng: new Rng(5) });
    const before = snapshot(layer);
    const good = {
      in_proj_weight: { shape: [12, 4], data: new Float32Array(48).fill(0.5) },
      in_proj_bias: { shape: [12], data: new Float32Array(12) },
      'out_proj.weight': { shape: [4, 4], data: new Float32Array(16).fill(0.25) },
      'out_proj.bias': { shape: [4], data: new Float32Array(4) },
    };
    const { 'out_proj.bias': _dropped, ...missing } = good;
    const rows: [unknown, string, Record<string, readonly number[]>?][] = [
      [missing, 'stateDict'],
      [{ ...good, extra: { shape: [1], data: [0] } }, 'stateDict'],
      [{ ...good, in_proj_weight: { shape: [4, 12], data: new Float32Array(48) } }, 'in_proj_weight', { expected: [12, 4], got: [4, 12] }],
      [{ ...good, 'out_proj.bias': null }, 'out_proj.bias'],
      [{ ...good, 'out_proj.bias': { shape: [4], data: [0, NaN, 0, 0] } }, 'out_proj.bias'],
      [{ ...good, 'out_proj.bias': { shape: [4], data: [0, 'a', 0, 0] } }, 'out_proj.bias'],
      [null, 'stateDict'],
    ];
    for (const [state, argument, shapes] of rows) {
      expectHeedError(() => layer.loadTorchStateDict(bad(state)), StateDictError, { op, argument, ...(shapes ? { shapes } : {}) });
      expect(snapshot(layer)).toEqual(before);
    }
  });

  it('LlamaAttention.loadHuggingFaceStateDict', () => {
    const op = 'LlamaAttention.loadHuggingFaceStateDict';
    const layer = new LlamaAttention({ embedDim: 8, numHeads: 2, numKeyValueHeads: 1, rng: new Rng(6) });
    const before = snapshot(layer);
    const good = {
      'q_proj.weight': { shape: [8, 8], data: new Float32Array(64).fill(0.5) },
      'k_proj.weight': { shape: [4, 8], data: new Float32Array(32).fill(0.5) },
      'v_proj.weight': { shape: [4, 8], data: new Float32Array(32).fill(0.5) },
      'o_proj.weight': { shape: [8, 8], data: new Float32Array(64).fill(0.5) },
    };
    const { 'o_proj.weight': _dropped, ...missing } = good;
    const rows: [unknown, string, Record<string, readonly number[]>?][] = [
      [missing, 'state'],
      [{ ...good, 'q_proj.bias': { shape: [8], data: new Float32Array(8) } }, 'state'],
      [{ ...good, 'k_proj.weight': { shape: [8, 8], data: new Float32Array(64) } }, 'k_proj.weight', { expected: [4, 8], got: [8, 8] }],
      [{ ...good, 'k_proj.weight': { shape: [4, 8], data: new Float32Array(31) } }, 'k_proj.weight'],
      [{ ...good, 'v_proj.weight': null }, 'v_proj.weight'],
      [{ ...good, 'o_proj.weight': { shape: [8, 8], data: new Float32Array(64).fill(Number.NaN) } }, 'o_proj.weight'],
      [null, 'state'],
    ];
    for (const [state, argument, shapes] of rows) {
      expectHeedError(() => layer.loadHuggingFaceStateDict(bad(state)), StateDictError, { op, argument, ...(shapes ? { shapes } : {}) });
      expect(snapshot(layer)).toEqual(before);
    }
    // Under a prefix the keys are named with it.
    expectHeedError(
      () => layer.loadHuggingFaceStateDict(bad({ 'model.q_proj.weight': good['q_proj.weight'] }), { prefix: 'model.' }),
      StateDictError,
      { op, argument: 'state' },
    );
    expect(snapshot(layer)).toEqual(before);
  });
});
