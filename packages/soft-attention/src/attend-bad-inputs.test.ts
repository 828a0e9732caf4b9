import { ArgumentError, ConfigError, type HeedError, ones, Rng, randn, ShapeError, type Tensor, tensor } from '@heed/tensor';
import { expectHeedError } from '@heed/tensor/testing';
import { describe, expect, it } from 'vitest';
import { attend } from './attend';
import { SoftAttention } from './soft-attention';
import { AlibiBias } from './variants/alibi-bias';
import { BiasedScorer } from './variants/biased-scorer';
import { CausalRule } from './variants/causal-rule';
import { keepRule } from './variants/keep-rule';
import { RotaryScorer } from './variants/rotary-scorer';
import { SegmentRule } from './variants/segment-mask';
import { SlidingWindowRule } from './variants/sliding-window';
import { SoftmaxWithSinks } from './variants/softmax-with-sinks';

// attend (and so every call that plans through planAttention) given bad arguments: each refusal is a
// HeedError naming 'attend', the option at fault and the shapes — never a TypeError from a kernel, never a
// NaN context — and the variant parts refuse their mismatches (odd head size for RoPE, slopes vs heads,
// sinks vs heads, segment ids vs batch) on both paths, naming the call.

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

// [B, H, L, d] = [2, 2, 4, 8], heads-first
const [query, keys, values] = [t([2, 2, 4, 8], 1), t([2, 2, 4, 8], 2), t([2, 2, 4, 8], 3)];
const qkv = { query, keys, values };
const shapes = { query: [2, 2, 4, 8], keys: [2, 2, 4, 8], values: [2, 2, 4, 8] };

interface Row {
  call: () => unknown;
  error: abstract new (...args: never[]) => HeedError;
  argument: string;
  shapes?: Record<string, readonly number[]>;
}

const rows: Record<string, Row> = {
  'attend()': { call: () => attend(bad(undefined)), error: ArgumentError, argument: 'options' },
  'attend(null)': { call: () => attend(bad(null)), error: ArgumentError, argument: 'options' },
  'query = nested array': { call: () => attend({ ...qkv, query: bad([[1, 2]]) }), error: ArgumentError, argument: 'query' },
  'keys missing': { call: () => attend(bad({ query, values })), error: ArgumentError, argument: 'keys' },
  'values = null': { call: () => attend({ ...qkv, values: bad(null) }), error: ArgumentError, argument: 'values' },
  "option 'casual' (a typo of causal)": {
    call: () => attend({ ...qkv, ...bad({ casual: true }) }),
    error: ArgumentError,
    argument: 'casual',
    shapes: { query: query.shape, keys: keys.shape, values: values.shape },
  },
  "training 'yes'": { call: () => attend({ ...qkv, dropout: 0.5, training: bad('yes') }), error: ArgumentError, argument: 'training' },
  'rng 5 (refused at the call, even without dropout)': {
    call: () => attend({ ...qkv, rng: bad(5) }),
    error: ArgumentError,
    argument: 'rng',
  },
  "option 'keyPaddingMsk'": {
    call: () => attend({ ...qkv, ...bad({ keyPaddingMsk: ones([2, 4]) }) }),
    error: ArgumentError,
    argument: 'keyPaddingMsk',
  },
  'query rank 1': {
    call: () => attend({ query: t([8]), keys: t([8]), values: t([8]) }),
    error: ShapeError,
    argument: 'query',
    shapes: { query: [8], keys: [8], values: [8] },
  },
  'keys of another rank': {
    call: () => attend({ ...qkv, keys: t([2, 4, 8]) }),
    error: ShapeError,
    argument: 'keys',
    shapes: { ...shapes, keys: [2, 4, 8] },
  },
  'values of another length': {
    call: () => attend({ ...qkv, values: t([2, 2, 5, 8]) }),
    error: ShapeError,
    argument: 'values',
    shapes: { ...shapes, values: [2, 2, 5, 8] },
  },
  'keys of another batch': {
    call: () => attend({ ...qkv, keys: t([3, 2, 4, 8]), values: t([3, 2, 4, 8]) }),
    error: ShapeError,
    argument: 'keys',
    shapes: { ...shapes, keys: [3, 2, 4, 8], values: [3, 2, 4, 8] },
  },
  'dq ≠ dk with scaled-dot': {
    call: () => attend({ ...qkv, keys: t([2, 2, 4, 6]) }),
    error: ShapeError,
    argument: 'keys',
    shapes: { ...shapes, keys: [2, 2, 4, 6] },
  },
  'head size 0': {
    call: () => attend({ query: t([2, 4, 0]), keys: t([2, 4, 0]), values: t([2, 4, 3]) }),
    error: ShapeError,
    argument: 'query',
    shapes: { query: [2, 4, 0], keys: [2, 4, 0], values: [2, 4, 3] },
  },
  'groupSize 0': { call: () => attend({ ...qkv, groupSize: 0 }), error: ArgumentError, argument: 'groupSize', shapes },
  'groupSize 1.5': { call: () => attend({ ...qkv, groupSize: 1.5 }), error: ArgumentError, argument: 'groupSize', shapes },
  'groupSize NaN': { call: () => attend({ ...qkv, groupSize: NaN }), error: ArgumentError, argument: 'groupSize', shapes },
  'groupSize 3 for 2 heads': {
    call: () => attend({ ...qkv, keys: t([2, 1, 4, 8]), values: t([2, 1, 4, 8]), groupSize: 3 }),
    error: ShapeError,
    argument: 'groupSize',
    shapes: { ...shapes, keys: [2, 1, 4, 8], values: [2, 1, 4, 8] },
  },
  "layout 'bshd'": { call: () => attend({ ...qkv, layout: bad('bshd') }), error: ArgumentError, argument: 'layout', shapes },
  "needWeights 'no'": { call: () => attend({ ...qkv, needWeights: bad('no') }), error: ArgumentError, argument: 'needWeights', shapes },
  'needWeights 0': { call: () => attend({ ...qkv, needWeights: bad(0) }), error: ArgumentError, argument: 'needWeights', shapes },
  'dropout 1': { call: () => attend({ ...qkv, dropout: 1 }), error: ArgumentError, argument: 'dropout', shapes },
  'dropout -0.1': { call: () => attend({ ...qkv, dropout: -0.1 }), error: ArgumentError, argument: 'dropout', shapes },
  'dropout NaN': { call: () => attend({ ...qkv, dropout: NaN }), error: ArgumentError, argument: 'dropout', shapes },
  "implementation 'flash'": {
    call: () => attend({ ...qkv, implementation: bad('flash') }),
    error: ArgumentError,
    argument: 'implementation',
    shapes,
  },
  "implementation 'fused' with sparsemax": {
    call: () => attend({ ...qkv, normalizer: 'sparsemax', implementation: 'fused' }),
    error: ConfigError,
    argument: 'implementation',
    shapes,
  },
  "old option 'mask'": { call: () => attend(bad({ ...qkv, mask: ones([4, 4]) })), error: ArgumentError, argument: 'mask', shapes },
  "old option 'keep'": { call: () => attend(bad({ ...qkv, keep: ones([4, 4]) })), error: ArgumentError, argument: 'keep', shapes },
  'causal 1': { call: () => attend({ ...qkv, causal: bad(1) }), error: ArgumentError, argument: 'causal', shapes },
  'causal { offset: 0.5 }': { call: () => attend({ ...qkv, causal: { offset: 0.5 } }), error: ArgumentError, argument: 'causal', shapes },
  'causal { offset: NaN }': { call: () => attend({ ...qkv, causal: { offset: NaN } }), error: ArgumentError, argument: 'causal', shapes },
  'causal null': { call: () => attend({ ...qkv, causal: bad(null) }), error: ArgumentError, argument: 'causal', shapes },
  'keepRule = mask tensor': {
    call: () => attend({ ...qkv, keepRule: bad(ones([4, 4])) }),
    error: ArgumentError,
    argument: 'keepRule',
    shapes,
  },
  'keepRule = function': { call: () => attend({ ...qkv, keepRule: bad(() => true) }), error: ArgumentError, argument: 'keepRule', shapes },
  'attentionMask [3, 4]': {
    call: () => attend({ ...qkv, attentionMask: ones([3, 4]) }),
    error: ShapeError,
    argument: 'attentionMask',
    shapes: { ...shapes, attentionMask: [3, 4], scores: [2, 2, 4, 4] },
  },
  'attentionMask rank 5': {
    call: () => attend({ ...qkv, attentionMask: ones([1, 2, 2, 4, 4]) }),
    error: ShapeError,
    argument: 'attentionMask',
    shapes: { ...shapes, attentionMask: [1, 2, 2, 4, 4], scores: [2, 2, 4, 4] },
  },
  "attentionMask '1010'": { call: () => attend({ ...qkv, attentionMask: bad('1010') }), error: ArgumentError, argument: 'attentionMask' },
  'attentionMask 1 (a number)': { call: () => attend({ ...qkv, attentionMask: bad(1) }), error: ArgumentError, argument: 'attentionMask' },
  'keyPaddingMask [2, 3]': {
    call: () => attend({ ...qkv, keyPaddingMask: ones([2, 3]) }),
    error: ShapeError,
    argument: 'keyPaddingMask',
    shapes: { ...shapes, keyPaddingMask: [2, 3] },
  },
  'keyPaddingMask [4] on a batched call': {
    call: () => attend({ ...qkv, keyPaddingMask: ones([4]) }),
    error: ShapeError,
    argument: 'keyPaddingMask',
    shapes: { ...shapes, keyPaddingMask: [4] },
  },
  'keyPaddingMask null': { call: () => attend({ ...qkv, keyPaddingMask: bad(null) }), error: ArgumentError, argument: 'keyPaddingMask' },
  'additiveMask = nested array': {
    call: () => attend({ ...qkv, additiveMask: bad([[0, 0, 0, 0]]) }),
    error: ArgumentError,
    argument: 'additiveMask',
    shapes,
  },
  'additiveMask [4, 5]': {
    call: () => attend({ ...qkv, additiveMask: t([4, 5]) }),
    error: ShapeError,
    argument: 'additiveMask',
    shapes: { ...shapes, additiveMask: [4, 5], scores: [2, 2, 4, 4] },
  },
  'additiveMask with NaN': {
    call: () => attend({ ...qkv, additiveMask: withValue([4, 4], 5, NaN) }),
    error: ArgumentError,
    argument: 'additiveMask',
    shapes: { additiveMask: [4, 4] },
  },
  'additiveMask with +Infinity': {
    call: () => attend({ ...qkv, additiveMask: withValue([4, 4], 5, Infinity) }),
    error: ArgumentError,
    argument: 'additiveMask',
    shapes: { additiveMask: [4, 4] },
  },
  'query with NaN': {
    call: () => attend({ ...qkv, query: withValue([2, 2, 4, 8], 9, NaN) }),
    error: ArgumentError,
    argument: 'query',
    shapes: { query: [2, 2, 4, 8] },
  },
  'keys with -Infinity': {
    call: () => attend({ ...qkv, keys: withValue([2, 2, 4, 8], 9, -Infinity) }),
    error: ArgumentError,
    argument: 'keys',
    shapes: { keys: [2, 2, 4, 8] },
  },
  'values with Infinity, fused path': {
    call: () => attend({ ...qkv, values: withValue([2, 2, 4, 8], 0, Infinity), needWeights: false, implementation: 'fused' }),
    error: ArgumentError,
    argument: 'values',
    shapes: { values: [2, 2, 4, 8] },
  },
  "scorer 'nope'": { call: () => attend({ ...qkv, scorer: bad('nope') }), error: ConfigError, argument: 'scorer' },
  'scorer 42': { call: () => attend({ ...qkv, scorer: bad(42) }), error: ArgumentError, argument: 'scorer' },
  "normalizer 'nope'": { call: () => attend({ ...qkv, normalizer: bad('nope') }), error: ConfigError, argument: 'normalizer' },
  'normalizer {}': { call: () => attend({ ...qkv, normalizer: bad({}) }), error: ArgumentError, argument: 'normalizer' },
  // The variants, on both paths: the call is named, not only the part.
  'RotaryScorer with an odd head size (plain)': {
    call: () => attend({ query: t([2, 4, 5]), keys: t([2, 4, 5]), values: t([2, 4, 3]), scorer: new RotaryScorer() }),
    error: ShapeError,
    argument: 'query',
    shapes: { query: [2, 4, 5], keys: [2, 4, 5] },
  },
  'RotaryScorer with an odd head size (fused)': {
    call: () => attend({ query: t([2, 4, 5]), keys: t([2, 4, 5]), values: t([2, 4, 3]), scorer: new RotaryScorer(), needWeights: false }),
    error: ShapeError,
    argument: 'query',
    shapes: { query: [2, 4, 5], keys: [2, 4, 5] },
  },
  'ALiBi with 3 slopes for 2 heads (plain)': {
    call: () => attend({ ...qkv, scorer: new BiasedScorer(new AlibiBias(3)) }),
    error: ShapeError,
    argument: 'query',
    shapes: { query: [2, 2, 4, 8], keys: [2, 2, 4, 8], bias: [3, 4, 4] },
  },
  'ALiBi with 3 slopes for 2 heads (needWeights false)': {
    call: () => attend({ ...qkv, scorer: new BiasedScorer(new AlibiBias(3)), needWeights: false }),
    error: ShapeError,
    argument: 'query',
    shapes: { query: [2, 2, 4, 8], keys: [2, 2, 4, 8], bias: [3, 4, 4] },
  },
  'SoftmaxWithSinks with 3 sinks for 2 heads': {
    call: () => attend({ ...qkv, normalizer: new SoftmaxWithSinks({ numHeads: 3 }), needWeights: false }),
    error: ShapeError,
    argument: 'scores',
  },
  'SegmentRule of 1 batch row for B = 2': {
    call: () => attend({ ...qkv, keepRule: new SegmentRule([[0, 0, 1, 1]]) }),
    error: ShapeError,
    argument: 'keepRule',
  },
  'SegmentRule of 3 positions for L = 4 (needWeights false)': {
    call: () =>
      attend({
        ...qkv,
        keepRule: new SegmentRule([
          [0, 0, 1],
          [0, 1, 1],
        ]),
        needWeights: false,
      }),
    error: ShapeError,
    argument: 'keepRule',
  },
};

describe('new SoftAttention refuses options of the wrong type, naming them', () => {
  it.each([
    ['null', () => new SoftAttention(bad(null)), 'options'],
    ['5', () => new SoftAttention(bad(5)), 'options'],
    ['rng 5', () => new SoftAttention({ dropout: 0.1, rng: bad(5) }), 'rng'],
    ["option 'droput'", () => new SoftAttention(bad({ droput: 0.1 })), 'droput'],
  ] as const)('%s', (_label, call, argument) => {
    expectHeedError(call, ConfigError, { op: 'SoftAttention', argument });
  });
});

describe('attend refuses bad arguments, naming attend, the argument and the shapes', () => {
  it.each(Object.entries(rows))('%s', (_label, row) => {
    expectHeedError(row.call, row.error, { op: 'attend', argument: row.argument, ...(row.shapes ? { shapes: row.shapes } : {}) });
  });

  it('an unknown option names the nearest known one and every option', () => {
    const error = expectHeedError(() => attend({ ...qkv, ...bad({ casual: true }) }), ArgumentError, { op: 'attend', argument: 'casual' });
    expect(error.message).toMatch(/^attend: unknown option 'casual' \(did you mean 'causal'\?\); the options are attentionMask, .*causal/);
    // the same call spelled right runs
    expect(attend({ ...qkv, causal: true }).context.shape).toEqual(values.shape);
  });

  it('the messages name the call, the argument and the shapes', () => {
    const error = expectHeedError(() => attend({ ...qkv, attentionMask: ones([3, 4]) }), ShapeError, {
      op: 'attend',
      argument: 'attentionMask',
    });
    expect(error.message).toMatch(/^attend: attentionMask \[3, 4\] .*\[2, 2, 4, 4\]/);
  });

  it('still attends with the rules and variants when they fit (no NaN)', () => {
    const rule = new SlidingWindowRule(2).and(new CausalRule()).and(
      new SegmentRule([
        [0, 0, 1, 1],
        [0, 1, 1, 1],
      ]),
    );
    for (const needWeights of [true, false]) {
      const { context } = attend({ ...qkv, keepRule: rule, scorer: new BiasedScorer(new AlibiBias(2)), needWeights });
      expect(context.shape).toEqual([2, 2, 4, 8]);
      expect(Array.from(context.data).every(Number.isFinite)).toBe(true);
    }
  });
});

describe('a refused call through a module changes no state', () => {
  it('SoftAttention.forward keeps its parameters and the keep rule is not called on a refused shape', () => {
    let calls = 0;
    const counting = keepRule('counting', () => {
      calls += 1;
      return true;
    });
    const layer = new SoftAttention({ scorer: { kind: 'general', queryDim: 8, keyDim: 8, rng: new Rng(7) } });
    const before = layer.namedParameters().map(([name, p]) => [name, Array.from(p.data)]);
    expectHeedError(() => layer.forward(query, keys, t([2, 2, 5, 8]), { keepRule: counting }), ShapeError, {
      op: 'SoftAttention.forward',
      argument: 'values',
    });
    expectHeedError(() => layer.forward(query, keys, values, { attentionMask: bad(tensor([1, 0, 1])) }), ShapeError, {
      op: 'SoftAttention.forward',
      argument: 'attentionMask',
    });
    expect(calls).toBe(0);
    expect(layer.namedParameters().map(([name, p]) => [name, Array.from(p.data)])).toEqual(before);
  });
});
