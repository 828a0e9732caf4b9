import {
  ArgumentError,
  ConfigError,
  full,
  type HeedError,
  ones,
  Rng,
  randn,
  ShapeError,
  StateDictError,
  type Tensor,
  tensor,
} from '@heed/tensor';
import { expectHeedError } from '@heed/tensor/testing';
import { describe, expect, it } from 'vitest';
import { alibiSlopes } from './alibi-slopes';
import { AlibiBias, alibiScorer } from './alibi-bias';
import { alphaEntmax, alphaEntmaxThreshold } from './alpha-entmax';
import { AlphaEntmax } from './alpha-entmax-normalizer';
import { BiasedScorer } from './biased-scorer';
import { causalLinearAttention } from './causal-linear-attention';
import { CausalRule } from './causal-rule';
import { gumbelNoise, straightThroughGumbelSoftmax } from './gumbel-softmax';
import { GumbelSoftmax } from './gumbel-softmax-normalizer';
import { AllOfRules, AnyOfRules, keepRule } from './keep-rule';
import { linearAttention, linearAttentionWeights } from './linear-attention';
import { LinearAttentionState } from './linear-attention-state';
import { LocalWindowRule, localWindowMask } from './local-window';
import { LuongLocalAttention } from './luong-local-attention';
import { ModifiedScorer } from './modified-scorer';
import { RelativePositionBias } from './relative-position-bias';
import { relativePositionBucket } from './relative-position-bucket';
import { applyRotaryEmbedding, rotaryAngles } from './rotary-embedding';
import { RotaryScorer, rotaryScorer } from './rotary-scorer';
import { SegmentRule, segmentMask } from './segment-mask';
import { SlidingWindowRule, slidingWindowMask } from './sliding-window';
import { softcap } from './softcap';
import { SoftcapScorer } from './softcap-scorer';
import { SoftmaxWithSinks } from './softmax-with-sinks';
import { Softmax } from '../softmax';
import { Sparsemax } from '../sparsemax-normalizer';

// Every public entry point of the attention variants given what a hurried user passes: odd head sizes,
// zero or NaN hyper-parameters, segment ids of the wrong shape, a cache of another shape. Each row must
// end in the named HeedError subclass naming the call and the argument (and the shapes where shapes are
// the issue) — never a TypeError or RangeError from inside, never NaN — and a refused call on something
// that holds state (a module, a decoding state) leaves that state as it was.

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

interface Row {
  call: () => unknown;
  error: abstract new (...args: never[]) => HeedError;
  op: string;
  argument: string;
  shapes?: Record<string, readonly number[]>;
}

const rope: Record<string, Row> = {
  'applyRotaryEmbedding(x, null)': {
    call: () => applyRotaryEmbedding(t([2, 3, 4]), bad(null)),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'options',
  },
  'linearAttention(q, k, v, null)': {
    call: () => linearAttention(t([2, 3, 4]), t([2, 3, 4]), t([2, 3, 4]), bad(null)),
    error: ArgumentError,
    op: 'linearAttention',
    argument: 'options',
  },
  'linearAttentionWeights(q, k, null)': {
    call: () => linearAttentionWeights(t([2, 3, 4]), t([2, 3, 4]), bad(null)),
    error: ArgumentError,
    op: 'linearAttentionWeights',
    argument: 'options',
  },
  'applyRotaryEmbedding odd d': {
    call: () => applyRotaryEmbedding(t([2, 3, 5])),
    error: ShapeError,
    op: 'applyRotaryEmbedding',
    argument: 'x',
    shapes: { x: [2, 3, 5] },
  },
  'applyRotaryEmbedding rank 1': {
    call: () => applyRotaryEmbedding(t([4])),
    error: ShapeError,
    op: 'applyRotaryEmbedding',
    argument: 'x',
    shapes: { x: [4] },
  },
  'applyRotaryEmbedding sequence-first rank 2': {
    call: () => applyRotaryEmbedding(t([3, 4]), { layout: 'sequence-first' }),
    error: ShapeError,
    op: 'applyRotaryEmbedding',
    argument: 'x',
    shapes: { x: [3, 4] },
  },
  'applyRotaryEmbedding x = nested array': {
    call: () => applyRotaryEmbedding(bad([[1, 2]])),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'x',
  },
  'applyRotaryEmbedding x = null': {
    call: () => applyRotaryEmbedding(bad(null)),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'x',
  },
  'applyRotaryEmbedding base 1': {
    call: () => applyRotaryEmbedding(t([3, 4]), { base: 1 }),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'base',
  },
  'applyRotaryEmbedding base 0': {
    call: () => applyRotaryEmbedding(t([3, 4]), { base: 0 }),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'base',
  },
  'applyRotaryEmbedding base NaN': {
    call: () => applyRotaryEmbedding(t([3, 4]), { base: NaN }),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'base',
  },
  'applyRotaryEmbedding base Infinity': {
    call: () => applyRotaryEmbedding(t([3, 4]), { base: Infinity }),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'base',
  },
  "applyRotaryEmbedding base '10000'": {
    call: () => applyRotaryEmbedding(t([3, 4]), { base: bad('10000') }),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'base',
  },
  "applyRotaryEmbedding style 'neox'": {
    call: () => applyRotaryEmbedding(t([3, 4]), { style: bad('neox') }),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'style',
  },
  'applyRotaryEmbedding positionOffset NaN': {
    call: () => applyRotaryEmbedding(t([3, 4]), { positionOffset: NaN }),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'positionOffset',
  },
  'applyRotaryEmbedding positionOffset -Infinity': {
    call: () => applyRotaryEmbedding(t([3, 4]), { positionOffset: -Infinity }),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'positionOffset',
  },
  'applyRotaryEmbedding positions and positionOffset': {
    call: () => applyRotaryEmbedding(t([3, 4]), { positions: [0, 1, 2], positionOffset: 1 }),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'positions',
  },
  'applyRotaryEmbedding positions too short': {
    call: () => applyRotaryEmbedding(t([3, 4]), { positions: [0, 1] }),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'positions',
  },
  'applyRotaryEmbedding positions with NaN': {
    call: () => applyRotaryEmbedding(t([3, 4]), { positions: [0, NaN, 2] }),
    error: ArgumentError,
    op: 'applyRotaryEmbedding',
    argument: 'positions',
  },
  'rotaryAngles odd dim': { call: () => rotaryAngles([0, 1], 5), error: ArgumentError, op: 'rotaryAngles', argument: 'dim' },
  'rotaryAngles dim 0': { call: () => rotaryAngles([0, 1], 0), error: ArgumentError, op: 'rotaryAngles', argument: 'dim' },
  'rotaryAngles dim NaN': { call: () => rotaryAngles([0, 1], NaN), error: ArgumentError, op: 'rotaryAngles', argument: 'dim' },
  'rotaryAngles base NaN (would be NaN angles)': {
    call: () => rotaryAngles([0, 1], 4, NaN),
    error: ArgumentError,
    op: 'rotaryAngles',
    argument: 'base',
  },
  'rotaryAngles base -2': { call: () => rotaryAngles([0, 1], 4, -2), error: ArgumentError, op: 'rotaryAngles', argument: 'base' },
  'rotaryAngles positions with Infinity': {
    call: () => rotaryAngles([0, Infinity], 4),
    error: ArgumentError,
    op: 'rotaryAngles',
    argument: 'positions',
  },
  'rotaryAngles positions = null': {
    call: () => rotaryAngles(bad(null), 4),
    error: ArgumentError,
    op: 'rotaryAngles',
    argument: 'positions',
  },
  'RotaryScorer headDim odd': { call: () => new RotaryScorer({ headDim: 5 }), error: ConfigError, op: 'RotaryScorer', argument: 'headDim' },
  'RotaryScorer headDim 0': { call: () => new RotaryScorer({ headDim: 0 }), error: ConfigError, op: 'RotaryScorer', argument: 'headDim' },
  'RotaryScorer headDim NaN': {
    call: () => new RotaryScorer({ headDim: NaN }),
    error: ConfigError,
    op: 'RotaryScorer',
    argument: 'headDim',
  },
  'RotaryScorer base 0.5': { call: () => new RotaryScorer({ base: 0.5 }), error: ConfigError, op: 'RotaryScorer', argument: 'base' },
  'RotaryScorer base Infinity': {
    call: () => new RotaryScorer({ base: Infinity }),
    error: ConfigError,
    op: 'RotaryScorer',
    argument: 'base',
  },
  "RotaryScorer style 'gptj'": {
    call: () => new RotaryScorer({ style: bad('gptj') }),
    error: ConfigError,
    op: 'RotaryScorer',
    argument: 'style',
  },
  'RotaryScorer queryPositionOffset 1.5': {
    call: () => new RotaryScorer({ queryPositionOffset: 1.5 }),
    error: ConfigError,
    op: 'RotaryScorer',
    argument: 'queryPositionOffset',
  },
  "RotaryScorer queryPositionOffset 'top-left'": {
    call: () => new RotaryScorer({ queryPositionOffset: bad('top-left') }),
    error: ConfigError,
    op: 'RotaryScorer',
    argument: 'queryPositionOffset',
  },
  'RotaryScorer inner = RotaryScorer': {
    call: () => new RotaryScorer({ inner: new RotaryScorer() }),
    error: ConfigError,
    op: 'RotaryScorer',
    argument: 'inner',
  },
  "rotaryScorer('nope')": { call: () => rotaryScorer(bad('nope')), error: ConfigError, op: 'RotaryScorer', argument: 'scorer' },
  'RotaryScorer.score odd d': {
    call: () => new RotaryScorer().score(t([2, 3, 5]), t([2, 4, 5])),
    error: ShapeError,
    op: 'rotary.score',
    argument: 'query',
    shapes: { query: [2, 3, 5], keys: [2, 4, 5] },
  },
  'RotaryScorer.score rank-1 keys': {
    call: () => new RotaryScorer().score(t([3, 4]), t([4])),
    error: ShapeError,
    op: 'rotary.score',
    argument: 'keys',
    shapes: { query: [3, 4], keys: [4] },
  },
};

const biases: Record<string, Row> = {
  'alibiSlopes(0)': { call: () => alibiSlopes(0), error: ArgumentError, op: 'alibiSlopes', argument: 'numHeads' },
  'alibiSlopes(2.5)': { call: () => alibiSlopes(2.5), error: ArgumentError, op: 'alibiSlopes', argument: 'numHeads' },
  'alibiSlopes(NaN)': { call: () => alibiSlopes(NaN), error: ArgumentError, op: 'alibiSlopes', argument: 'numHeads' },
  'alibiSlopes(Infinity)': { call: () => alibiSlopes(Infinity), error: ArgumentError, op: 'alibiSlopes', argument: 'numHeads' },
  'AlibiBias(0)': { call: () => new AlibiBias(0), error: ConfigError, op: 'AlibiBias', argument: 'heads' },
  'AlibiBias(-2)': { call: () => new AlibiBias(-2), error: ConfigError, op: 'AlibiBias', argument: 'heads' },
  'AlibiBias([])': { call: () => new AlibiBias([]), error: ConfigError, op: 'AlibiBias', argument: 'heads' },
  'AlibiBias([0.5, NaN])': { call: () => new AlibiBias([0.5, NaN]), error: ConfigError, op: 'AlibiBias', argument: 'heads' },
  "AlibiBias('8')": { call: () => new AlibiBias(bad('8')), error: ConfigError, op: 'AlibiBias', argument: 'heads' },
  'AlibiBias(null)': { call: () => new AlibiBias(bad(null)), error: ConfigError, op: 'AlibiBias', argument: 'heads' },
  'AlibiBias.bias(-1, 3)': {
    call: () => new AlibiBias(2).bias(-1, 3),
    error: ArgumentError,
    op: 'AlibiBias.bias',
    argument: 'queryLength',
  },
  'AlibiBias.bias(2, 2.5)': {
    call: () => new AlibiBias(2).bias(2, 2.5),
    error: ArgumentError,
    op: 'AlibiBias.bias',
    argument: 'keyLength',
  },
  'AlibiBias.bias(2, 3, NaN)': {
    call: () => new AlibiBias(2).bias(2, 3, NaN),
    error: ArgumentError,
    op: 'AlibiBias.bias',
    argument: 'queryOffset',
  },
  'alibiScorer(3) on 2 heads (slopes vs heads)': {
    call: () => alibiScorer(3).score(t([1, 2, 4, 8]), t([1, 2, 5, 8])),
    error: ShapeError,
    op: 'alibi+scaled-dot.score',
    argument: 'query',
    shapes: { query: [1, 2, 4, 8], keys: [1, 2, 5, 8], bias: [3, 4, 5] },
  },
  'BiasedScorer(null)': { call: () => new BiasedScorer(bad(null)), error: ConfigError, op: 'BiasedScorer', argument: 'positionBias' },
  'BiasedScorer({ kind })': {
    call: () => new BiasedScorer(bad({ kind: 'x' })),
    error: ConfigError,
    op: 'BiasedScorer',
    argument: 'positionBias',
  },
  'BiasedScorer queryPositionOffset NaN': {
    call: () => new BiasedScorer(new AlibiBias(2), { queryPositionOffset: NaN }),
    error: ConfigError,
    op: 'BiasedScorer',
    argument: 'queryPositionOffset',
  },
  'BiasedScorer bias of the wrong size': {
    call: () => new BiasedScorer({ kind: 'mine', bias: () => ones([2, 4, 4]) }).score(t([1, 2, 4, 8]), t([1, 2, 5, 8])),
    error: ShapeError,
    op: 'mine+scaled-dot.score',
    argument: 'query',
    shapes: { query: [1, 2, 4, 8], keys: [1, 2, 5, 8], bias: [2, 4, 4] },
  },
  'BiasedScorer bias of rank 2': {
    call: () => new BiasedScorer({ kind: 'mine', bias: () => ones([4, 5]) }).score(t([1, 2, 4, 8]), t([1, 2, 5, 8])),
    error: ShapeError,
    op: 'mine+scaled-dot.score',
    argument: 'query',
    shapes: { query: [1, 2, 4, 8], keys: [1, 2, 5, 8], bias: [4, 5] },
  },
  'RelativePositionBias numHeads 0': {
    call: () => new RelativePositionBias({ numHeads: 0 }),
    error: ConfigError,
    op: 'RelativePositionBias',
    argument: 'numHeads',
  },
  'RelativePositionBias numHeads NaN': {
    call: () => new RelativePositionBias({ numHeads: NaN }),
    error: ConfigError,
    op: 'RelativePositionBias',
    argument: 'numHeads',
  },
  'RelativePositionBias numBuckets 3 (bidirectional)': {
    call: () => new RelativePositionBias({ numHeads: 2, numBuckets: 3 }),
    error: ConfigError,
    op: 'RelativePositionBias',
    argument: 'numBuckets',
  },
  'RelativePositionBias numBuckets 8.5': {
    call: () => new RelativePositionBias({ numHeads: 2, numBuckets: 8.5 }),
    error: ConfigError,
    op: 'RelativePositionBias',
    argument: 'numBuckets',
  },
  'RelativePositionBias maxDistance Infinity': {
    call: () => new RelativePositionBias({ numHeads: 2, maxDistance: Infinity }),
    error: ConfigError,
    op: 'RelativePositionBias',
    argument: 'maxDistance',
  },
  'RelativePositionBias maxDistance inside the exact range': {
    call: () => new RelativePositionBias({ numHeads: 2, numBuckets: 32, maxDistance: 4 }),
    error: ConfigError,
    op: 'RelativePositionBias',
    argument: 'maxDistance',
  },
  'relativePositionBucket(1.5)': {
    call: () => relativePositionBucket(1.5),
    error: ArgumentError,
    op: 'relativePositionBucket',
    argument: 'relativePosition',
  },
  'relativePositionBucket(NaN)': {
    call: () => relativePositionBucket(NaN),
    error: ArgumentError,
    op: 'relativePositionBucket',
    argument: 'relativePosition',
  },
  'relativePositionBucket numBuckets 1 (unidirectional)': {
    call: () => relativePositionBucket(2, { bidirectional: false, numBuckets: 1 }),
    error: ArgumentError,
    op: 'relativePositionBucket',
    argument: 'numBuckets',
  },
  'relativePositionBucket maxDistance NaN': {
    call: () => relativePositionBucket(2, { maxDistance: NaN }),
    error: ArgumentError,
    op: 'relativePositionBucket',
    argument: 'maxDistance',
  },
  // options of the wrong type
  'RelativePositionBias()': {
    call: () => new RelativePositionBias(bad(undefined)),
    error: ConfigError,
    op: 'RelativePositionBias',
    argument: 'options',
  },
  'RelativePositionBias rng 5': {
    call: () => new RelativePositionBias({ numHeads: 2, rng: bad(5) }),
    error: ConfigError,
    op: 'RelativePositionBias',
    argument: 'rng',
  },
};

const keepRules: Record<string, Row> = {
  'CausalRule(0.5)': { call: () => new CausalRule(0.5), error: ConfigError, op: 'CausalRule', argument: 'offset' },
  'CausalRule(NaN)': { call: () => new CausalRule(NaN), error: ConfigError, op: 'CausalRule', argument: 'offset' },
  "CausalRule('1')": { call: () => new CausalRule(bad('1')), error: ConfigError, op: 'CausalRule', argument: 'offset' },
  'SlidingWindowRule(0)': { call: () => new SlidingWindowRule(0), error: ConfigError, op: 'SlidingWindowRule', argument: 'window' },
  'SlidingWindowRule(-3)': { call: () => new SlidingWindowRule(-3), error: ConfigError, op: 'SlidingWindowRule', argument: 'window' },
  'SlidingWindowRule(2.5)': { call: () => new SlidingWindowRule(2.5), error: ConfigError, op: 'SlidingWindowRule', argument: 'window' },
  'SlidingWindowRule(NaN)': { call: () => new SlidingWindowRule(NaN), error: ConfigError, op: 'SlidingWindowRule', argument: 'window' },
  'SlidingWindowRule(Infinity)': {
    call: () => new SlidingWindowRule(Infinity),
    error: ConfigError,
    op: 'SlidingWindowRule',
    argument: 'window',
  },
  'SlidingWindowRule(undefined)': {
    call: () => new SlidingWindowRule(bad(undefined)),
    error: ConfigError,
    op: 'SlidingWindowRule',
    argument: 'window',
  },
  'SlidingWindowRule(4, 0.5)': {
    call: () => new SlidingWindowRule(4, 0.5),
    error: ConfigError,
    op: 'SlidingWindowRule',
    argument: 'offset',
  },
  'LocalWindowRule(-1)': { call: () => new LocalWindowRule(-1), error: ConfigError, op: 'LocalWindowRule', argument: 'window' },
  'LocalWindowRule(NaN)': { call: () => new LocalWindowRule(NaN), error: ConfigError, op: 'LocalWindowRule', argument: 'window' },
  'LocalWindowRule(2, Infinity)': {
    call: () => new LocalWindowRule(2, Infinity),
    error: ConfigError,
    op: 'LocalWindowRule',
    argument: 'offset',
  },
  'slidingWindowMask window 0': {
    call: () => slidingWindowMask(3, 3, 0),
    error: ArgumentError,
    op: 'slidingWindowMask',
    argument: 'window',
  },
  'slidingWindowMask queryOffset 0.5': {
    call: () => slidingWindowMask(3, 3, 2, { queryOffset: 0.5 }),
    error: ArgumentError,
    op: 'sliding-window.toMask',
    argument: 'queryOffset',
  },
  'slidingWindowMask queryLength -1': {
    call: () => slidingWindowMask(-1, 3, 2),
    error: ShapeError,
    op: 'sliding-window.toMask',
    argument: 'shape',
    shapes: { shape: [-1, 3] },
  },
  'localWindowMask window 1.5': { call: () => localWindowMask(3, 3, 1.5), error: ArgumentError, op: 'localWindowMask', argument: 'window' },
  'localWindowMask keyLength NaN': {
    call: () => localWindowMask(3, NaN, 1),
    error: ShapeError,
    op: 'local-window.toMask',
    argument: 'shape',
    shapes: { shape: [3, NaN] },
  },
  'KeepRule.toMask rank 1': {
    call: () => new CausalRule().toMask([4]),
    error: ShapeError,
    op: 'causal.toMask',
    argument: 'shape',
    shapes: { shape: [4] },
  },
  'KeepRule.toMask rank 5': {
    call: () => new CausalRule().toMask([1, 1, 1, 2, 2]),
    error: ShapeError,
    op: 'causal.toMask',
    argument: 'shape',
    shapes: { shape: [1, 1, 1, 2, 2] },
  },
  'KeepRule.toMask queryOffset NaN': {
    call: () => new CausalRule().toMask([2, 2], { queryOffset: NaN }),
    error: ArgumentError,
    op: 'causal.toMask',
    argument: 'queryOffset',
  },
  "keepRule('', fn)": { call: () => keepRule('', () => true), error: ConfigError, op: 'keepRule', argument: 'kind' },
  'keepRule(3, fn)': { call: () => keepRule(bad(3), () => true), error: ConfigError, op: 'keepRule', argument: 'kind' },
  "keepRule('x', true)": { call: () => keepRule('x', bad(true)), error: ConfigError, op: 'keepRule', argument: 'allows' },
  'rule.and(mask tensor)': {
    call: () => new CausalRule().and(bad(ones([2, 2]))),
    error: ConfigError,
    op: 'KeepRule.and',
    argument: 'rules[1]',
  },
  'rule.or(null)': { call: () => new CausalRule().or(bad(null)), error: ConfigError, op: 'KeepRule.or', argument: 'rules[1]' },
  'new AllOfRules([{ allows }])': {
    call: () => new AllOfRules([bad({ kind: 'x', allows: () => true })]),
    error: ConfigError,
    op: 'KeepRule.and',
    argument: 'rules[0]',
  },
  'new AnyOfRules([undefined])': {
    call: () => new AnyOfRules([bad(undefined)]),
    error: ConfigError,
    op: 'KeepRule.or',
    argument: 'rules[0]',
  },
  'SegmentRule flat ids [0, 0, 1] (not [B, L])': {
    call: () => new SegmentRule(bad([0, 0, 1])),
    error: ConfigError,
    op: 'SegmentRule',
    argument: 'querySegments',
  },
  'SegmentRule ragged rows': {
    call: () => new SegmentRule([[0, 0, 1], [0]]),
    error: ConfigError,
    op: 'SegmentRule',
    argument: 'querySegments',
  },
  'SegmentRule rank-3 tensor': {
    call: () => new SegmentRule(ones([1, 2, 3])),
    error: ConfigError,
    op: 'SegmentRule',
    argument: 'querySegments',
    shapes: { querySegments: [1, 2, 3] },
  },
  'SegmentRule NaN id': {
    call: () => new SegmentRule([[0, NaN, 1]]),
    error: ConfigError,
    op: 'SegmentRule',
    argument: 'querySegments',
  },
  "SegmentRule id 'a'": {
    call: () => new SegmentRule([[0, bad('a'), 1]]),
    error: ConfigError,
    op: 'SegmentRule',
    argument: 'querySegments',
  },
  "SegmentRule('0011')": { call: () => new SegmentRule(bad('0011')), error: ConfigError, op: 'SegmentRule', argument: 'querySegments' },
  'SegmentRule batch rows 1 vs 2': {
    call: () => new SegmentRule([[0, 1]], [[0], [1]]),
    error: ConfigError,
    op: 'SegmentRule',
    argument: 'keySegments',
  },
  'SegmentRule.toMask batch 2 for 1 row': {
    call: () => new SegmentRule([[0, 0, 1]]).toMask([2, 3, 3]),
    error: ShapeError,
    op: 'segments.toMask',
    argument: 'shape',
    shapes: { shape: [2, 3, 3], querySegments: [1, 3], keySegments: [1, 3] },
  },
  'SegmentRule.toMask Lk past the ids': {
    call: () => new SegmentRule([[0, 0, 1]]).toMask([3, 4]),
    error: ShapeError,
    op: 'segments.toMask',
    argument: 'shape',
    shapes: { shape: [3, 4], querySegments: [1, 3], keySegments: [1, 3] },
  },
  'SegmentRule.toMask queryOffset -1': {
    call: () => new SegmentRule([[0, 0, 1]]).toMask([3, 3], { queryOffset: -1 }),
    error: ShapeError,
    op: 'segments.toMask',
    argument: 'shape',
    shapes: { shape: [3, 3], querySegments: [1, 3], keySegments: [1, 3] },
  },
  'segmentMask flat ids': { call: () => segmentMask(bad([0, 1])), error: ArgumentError, op: 'segmentMask', argument: 'querySegments' },
  'segmentMask null': { call: () => segmentMask(bad(null)), error: ArgumentError, op: 'segmentMask', argument: 'querySegments' },
  'segmentMask Infinity id': {
    call: () => segmentMask([[0, Infinity]]),
    error: ArgumentError,
    op: 'segmentMask',
    argument: 'querySegments',
  },
  'segmentMask batch rows 2 vs 1': {
    call: () =>
      segmentMask(
        [
          [0, 1],
          [0, 0],
        ],
        [[0, 1]],
      ),
    error: ArgumentError,
    op: 'segmentMask',
    argument: 'keySegments',
  },
  'segmentMask rank-1 tensor keys': {
    call: () => segmentMask([[0, 1]], tensor([0, 1])),
    error: ArgumentError,
    op: 'segmentMask',
    argument: 'keySegments',
    shapes: { keySegments: [2] },
  },
};

const normalizers: Record<string, Row> = {
  'softcap cap 0': { call: () => softcap(t([2, 2]), 0), error: ArgumentError, op: 'softcap', argument: 'cap' },
  'softcap cap -1': { call: () => softcap(t([2, 2]), -1), error: ArgumentError, op: 'softcap', argument: 'cap' },
  'softcap cap NaN': { call: () => softcap(t([2, 2]), NaN), error: ArgumentError, op: 'softcap', argument: 'cap' },
  'softcap cap Infinity': { call: () => softcap(t([2, 2]), Infinity), error: ArgumentError, op: 'softcap', argument: 'cap' },
  "softcap cap '50'": { call: () => softcap(t([2, 2]), bad('50')), error: ArgumentError, op: 'softcap', argument: 'cap' },
  'softcap scores = array': { call: () => softcap(bad([1, 2]), 50), error: ArgumentError, op: 'softcap', argument: 'scores' },
  'SoftcapScorer(0)': { call: () => new SoftcapScorer(0), error: ConfigError, op: 'SoftcapScorer', argument: 'cap' },
  'SoftcapScorer(NaN)': { call: () => new SoftcapScorer(NaN), error: ConfigError, op: 'SoftcapScorer', argument: 'cap' },
  'SoftcapScorer(undefined)': { call: () => new SoftcapScorer(bad(undefined)), error: ConfigError, op: 'SoftcapScorer', argument: 'cap' },
  'SoftmaxWithSinks numHeads 0': {
    call: () => new SoftmaxWithSinks({ numHeads: 0 }),
    error: ConfigError,
    op: 'SoftmaxWithSinks',
    argument: 'numHeads',
  },
  'SoftmaxWithSinks numHeads 1.5': {
    call: () => new SoftmaxWithSinks({ numHeads: 1.5 }),
    error: ConfigError,
    op: 'SoftmaxWithSinks',
    argument: 'numHeads',
  },
  'SoftmaxWithSinks no options': {
    call: () => new SoftmaxWithSinks(bad(undefined)),
    error: ConfigError,
    op: 'SoftmaxWithSinks',
    argument: 'numHeads',
  },
  "SoftmaxWithSinks init 'ones'": {
    call: () => new SoftmaxWithSinks({ numHeads: 2, init: bad('ones') }),
    error: ConfigError,
    op: 'SoftmaxWithSinks',
    argument: 'init',
  },
  'SoftmaxWithSinks.normalize 3 heads for 2 sinks': {
    call: () => new SoftmaxWithSinks({ numHeads: 2 }).normalize(t([1, 3, 4, 4])),
    error: ShapeError,
    op: 'SoftmaxWithSinks.normalize',
    argument: 'scores',
    shapes: { scores: [1, 3, 4, 4], sinks: [2] },
  },
  'SoftmaxWithSinks.normalize rank 2': {
    call: () => new SoftmaxWithSinks({ numHeads: 2 }).normalize(t([4, 4])),
    error: ShapeError,
    op: 'SoftmaxWithSinks.normalize',
    argument: 'scores',
    shapes: { scores: [4, 4], sinks: [2] },
  },
  'SoftmaxWithSinks.normalize keep of the wrong shape': {
    call: () => new SoftmaxWithSinks({ numHeads: 2 }).normalize(t([1, 2, 4, 4]), ones([3, 4])),
    error: ShapeError,
    op: 'SoftmaxWithSinks.normalize',
    argument: 'keep',
  },
  'AlphaEntmax alpha 1': { call: () => new AlphaEntmax({ alpha: 1 }), error: ConfigError, op: 'AlphaEntmax', argument: 'alpha' },
  'AlphaEntmax alpha 0.5': { call: () => new AlphaEntmax({ alpha: 0.5 }), error: ConfigError, op: 'AlphaEntmax', argument: 'alpha' },
  'AlphaEntmax alpha NaN': { call: () => new AlphaEntmax({ alpha: NaN }), error: ConfigError, op: 'AlphaEntmax', argument: 'alpha' },
  'AlphaEntmax alpha Infinity': {
    call: () => new AlphaEntmax({ alpha: Infinity }),
    error: ConfigError,
    op: 'AlphaEntmax',
    argument: 'alpha',
  },
  'AlphaEntmax no options': { call: () => new AlphaEntmax(bad(undefined)), error: ConfigError, op: 'AlphaEntmax', argument: 'alpha' },
  'AlphaEntmax temperature 0': {
    call: () => new AlphaEntmax({ alpha: 1.5, temperature: 0 }),
    error: ConfigError,
    op: 'AlphaEntmax',
    argument: 'temperature',
  },
  'AlphaEntmax temperature -1': {
    call: () => new AlphaEntmax({ alpha: 1.5, temperature: -1 }),
    error: ConfigError,
    op: 'AlphaEntmax',
    argument: 'temperature',
  },
  'AlphaEntmax.normalize keep of the wrong shape': {
    call: () => new AlphaEntmax({ alpha: 1.5 }).normalize(t([2, 4]), ones([3, 4])),
    error: ShapeError,
    op: 'AlphaEntmax.normalize',
    argument: 'keep',
  },
  'alphaEntmax alpha 1': { call: () => alphaEntmax(t([2, 4]), 1), error: ArgumentError, op: 'alphaEntmax', argument: 'alpha' },
  "alphaEntmax alpha '1.5'": { call: () => alphaEntmax(t([2, 4]), bad('1.5')), error: ArgumentError, op: 'alphaEntmax', argument: 'alpha' },
  'alphaEntmax z with NaN': {
    call: () => alphaEntmax(withValue([2, 4], 3, NaN), 1.5),
    error: ArgumentError,
    op: 'alphaEntmax',
    argument: 'z',
  },
  'alphaEntmax z with +Infinity': {
    call: () => alphaEntmax(withValue([2, 4], 3, Infinity), 1.5),
    error: ArgumentError,
    op: 'alphaEntmax',
    argument: 'z',
  },
  'alphaEntmax z = array': { call: () => alphaEntmax(bad([1, 2]), 1.5), error: ArgumentError, op: 'alphaEntmax', argument: 'z' },
  'alphaEntmaxThreshold alpha 0': {
    call: () => alphaEntmaxThreshold(t([2, 4]), 0),
    error: ArgumentError,
    op: 'alphaEntmaxThreshold',
    argument: 'alpha',
  },
  'GumbelSoftmax temperature 0': {
    call: () => new GumbelSoftmax({ temperature: 0 }),
    error: ConfigError,
    op: 'GumbelSoftmax',
    argument: 'temperature',
  },
  'GumbelSoftmax temperature NaN': {
    call: () => new GumbelSoftmax({ temperature: NaN }),
    error: ConfigError,
    op: 'GumbelSoftmax',
    argument: 'temperature',
  },
  'GumbelSoftmax rng {}': { call: () => new GumbelSoftmax({ rng: bad({}) }), error: ConfigError, op: 'GumbelSoftmax', argument: 'rng' },
  'GumbelSoftmax.normalize keep of the wrong shape': {
    call: () => new GumbelSoftmax({ rng: new Rng(1) }).normalize(t([2, 4]), ones([2, 3])),
    error: ShapeError,
    op: 'GumbelSoftmax.normalize',
    argument: 'keep',
  },
  'straightThroughGumbelSoftmax temperature -1': {
    call: () => straightThroughGumbelSoftmax(t([2, 4]), { temperature: -1 }),
    error: ArgumentError,
    op: 'straightThroughGumbelSoftmax',
    argument: 'temperature',
  },
  'straightThroughGumbelSoftmax temperature Infinity': {
    call: () => straightThroughGumbelSoftmax(t([2, 4]), { temperature: Infinity }),
    error: ArgumentError,
    op: 'straightThroughGumbelSoftmax',
    argument: 'temperature',
  },
  'straightThroughGumbelSoftmax noise of the wrong shape': {
    call: () => straightThroughGumbelSoftmax(t([2, 4]), { noise: t([2, 3]) }),
    error: ShapeError,
    op: 'straightThroughGumbelSoftmax',
    argument: 'noise',
    shapes: { logits: [2, 4], noise: [2, 3] },
  },
  'straightThroughGumbelSoftmax logits with NaN': {
    call: () => straightThroughGumbelSoftmax(withValue([2, 4], 1, NaN), { rng: new Rng(1) }),
    error: ArgumentError,
    op: 'straightThroughGumbelSoftmax',
    argument: 'logits',
  },
  'straightThroughGumbelSoftmax logits = array': {
    call: () => straightThroughGumbelSoftmax(bad([1, 2]), { rng: new Rng(1) }),
    error: ArgumentError,
    op: 'straightThroughGumbelSoftmax',
    argument: 'logits',
  },
  'gumbelNoise shape [-1]': { call: () => gumbelNoise([-1], new Rng(1)), error: ArgumentError, op: 'gumbelNoise', argument: 'shape' },
  'gumbelNoise shape [2.5]': { call: () => gumbelNoise([2.5], new Rng(1)), error: ArgumentError, op: 'gumbelNoise', argument: 'shape' },
  'gumbelNoise no rng': { call: () => gumbelNoise([2], bad(undefined)), error: ArgumentError, op: 'gumbelNoise', argument: 'rng' },
};

const linear: Record<string, Row> = {
  'linearAttention d mismatch': {
    call: () => linearAttention(t([2, 3, 4]), t([2, 5, 6]), t([2, 5, 2])),
    error: ShapeError,
    op: 'linearAttention',
    argument: 'keys',
    shapes: { query: [2, 3, 4], keys: [2, 5, 6], values: [2, 5, 2] },
  },
  'linearAttention rank 1 query': {
    call: () => linearAttention(t([4]), t([4]), t([4])),
    error: ShapeError,
    op: 'linearAttention',
    argument: 'keys',
    shapes: { query: [4], keys: [4], values: [4] },
  },
  'linearAttention batch mismatch': {
    call: () => linearAttention(t([2, 3, 4]), t([3, 5, 4]), t([3, 5, 2])),
    error: ShapeError,
    op: 'linearAttention',
    argument: 'keys',
    shapes: { query: [2, 3, 4], keys: [3, 5, 4], values: [3, 5, 2] },
  },
  'linearAttention values Lk mismatch': {
    call: () => linearAttention(t([2, 3, 4]), t([2, 5, 4]), t([2, 4, 2])),
    error: ShapeError,
    op: 'linearAttention',
    argument: 'values',
    shapes: { query: [2, 3, 4], keys: [2, 5, 4], values: [2, 4, 2] },
  },
  'linearAttention causal with Lq ≠ Lk': {
    call: () => linearAttention(t([2, 3, 4]), t([2, 5, 4]), t([2, 5, 2]), { causal: true }),
    error: ShapeError,
    op: 'linearAttention',
    argument: 'causal',
    shapes: { query: [2, 3, 4], keys: [2, 5, 4], values: [2, 5, 2] },
  },
  'linearAttention query with NaN': {
    call: () => linearAttention(withValue([2, 3, 4], 5, NaN), t([2, 5, 4]), t([2, 5, 2])),
    error: ArgumentError,
    op: 'linearAttention',
    argument: 'query',
    shapes: { query: [2, 3, 4] },
  },
  'linearAttention values with Infinity': {
    call: () => linearAttention(t([2, 3, 4]), t([2, 5, 4]), withValue([2, 5, 2], 0, Infinity)),
    error: ArgumentError,
    op: 'linearAttention',
    argument: 'values',
    shapes: { values: [2, 5, 2] },
  },
  'linearAttention keys = nested array': {
    call: () => linearAttention(t([3, 4]), bad([[1, 2, 3, 4]]), t([1, 2])),
    error: ArgumentError,
    op: 'linearAttention',
    argument: 'keys',
  },
  "linearAttention causal 'yes'": {
    call: () => linearAttention(t([3, 4]), t([3, 4]), t([3, 2]), { causal: bad('yes') }),
    error: ArgumentError,
    op: 'linearAttention',
    argument: 'causal',
  },
  'linearAttention query far below −100 (φ underflows: would be NaN)': {
    call: () => linearAttention(full([1, 3, 4], -200), t([1, 3, 4]), t([1, 3, 2])),
    error: ArgumentError,
    op: 'linearAttention',
    argument: 'query',
    shapes: { output: [1, 3, 2] },
  },
  'linearAttention causal, keys far below −100': {
    call: () => linearAttention(t([1, 3, 4]), full([1, 3, 4], -200), t([1, 3, 2]), { causal: true }),
    error: ArgumentError,
    op: 'linearAttention',
    argument: 'query',
    shapes: { output: [1, 3, 2] },
  },
  'linearAttentionWeights query far below −100': {
    call: () => linearAttentionWeights(full([3, 4], -200), t([3, 4])),
    error: ArgumentError,
    op: 'linearAttentionWeights',
    argument: 'query',
    shapes: { output: [3, 3] },
  },
  'linearAttentionWeights d mismatch': {
    call: () => linearAttentionWeights(t([3, 4]), t([3, 5])),
    error: ShapeError,
    op: 'linearAttentionWeights',
    argument: 'keys',
    shapes: { query: [3, 4], keys: [3, 5] },
  },
  'linearAttentionWeights keys with -Infinity': {
    call: () => linearAttentionWeights(t([3, 4]), withValue([3, 4], 2, -Infinity)),
    error: ArgumentError,
    op: 'linearAttentionWeights',
    argument: 'keys',
    shapes: { keys: [3, 4] },
  },
  'causalLinearAttention L mismatch': {
    call: () => causalLinearAttention(t([3, 4]), t([4, 4]), t([4, 2])),
    error: ShapeError,
    op: 'causalLinearAttention',
    argument: 'phiKey',
    shapes: { phiQuery: [3, 4], phiKey: [4, 4], values: [4, 2] },
  },
  'causalLinearAttention rank 1': {
    call: () => causalLinearAttention(t([4]), t([4]), t([4])),
    error: ShapeError,
    op: 'causalLinearAttention',
    argument: 'phiKey',
    shapes: { phiQuery: [4], phiKey: [4], values: [4] },
  },
  // options of the wrong type
  "SoftmaxWithSinks rng 5 (init 'normal')": {
    call: () => new SoftmaxWithSinks({ numHeads: 2, init: 'normal', rng: bad(5) }),
    error: ConfigError,
    op: 'SoftmaxWithSinks',
    argument: 'rng',
  },
  'Softmax(null)': { call: () => new Softmax(bad(null)), error: ConfigError, op: 'Softmax', argument: 'options' },
  'Sparsemax(null)': { call: () => new Sparsemax(bad(null)), error: ConfigError, op: 'Sparsemax', argument: 'options' },
};

const luong: Record<string, Row> = {
  'LuongLocalAttention dim 0': {
    call: () => new LuongLocalAttention({ dim: 0, mode: 'local-m', window: 2 }),
    error: ConfigError,
    op: 'LuongLocalAttention',
    argument: 'dim',
  },
  'LuongLocalAttention dim NaN': {
    call: () => new LuongLocalAttention({ dim: NaN, mode: 'local-m', window: 2 }),
    error: ConfigError,
    op: 'LuongLocalAttention',
    argument: 'dim',
  },
  "LuongLocalAttention mode 'global'": {
    call: () => new LuongLocalAttention({ dim: 4, mode: bad('global'), window: 2 }),
    error: ConfigError,
    op: 'LuongLocalAttention',
    argument: 'mode',
  },
  'LuongLocalAttention window 0': {
    call: () => new LuongLocalAttention({ dim: 4, mode: 'local-p', window: 0 }),
    error: ConfigError,
    op: 'LuongLocalAttention',
    argument: 'window',
  },
  'LuongLocalAttention window 1.5': {
    call: () => new LuongLocalAttention({ dim: 4, mode: 'local-p', window: 1.5 }),
    error: ConfigError,
    op: 'LuongLocalAttention',
    argument: 'window',
  },
  'LuongLocalAttention window Infinity': {
    call: () => new LuongLocalAttention({ dim: 4, mode: 'local-p', window: Infinity }),
    error: ConfigError,
    op: 'LuongLocalAttention',
    argument: 'window',
  },
  'LuongLocalAttention predictorDim with local-m': {
    call: () => new LuongLocalAttention({ dim: 4, mode: 'local-m', window: 2, predictorDim: 3 }),
    error: ConfigError,
    op: 'LuongLocalAttention',
    argument: 'predictorDim',
  },
  'LuongLocalAttention predictorDim -3': {
    call: () => new LuongLocalAttention({ dim: 4, mode: 'local-p', window: 2, predictorDim: -3 }),
    error: ConfigError,
    op: 'LuongLocalAttention',
    argument: 'predictorDim',
  },
  'LuongLocalAttention no options': {
    call: () => new LuongLocalAttention(bad(undefined)),
    error: ConfigError,
    op: 'LuongLocalAttention',
    argument: 'options',
  },
  // options of the wrong type
  'LuongLocalAttention rng 5': {
    call: () => new LuongLocalAttention({ dim: 4, mode: 'local-p', window: 1, rng: bad(5) }),
    error: ConfigError,
    op: 'LuongLocalAttention',
    argument: 'rng',
  },
};

describe('attention variants refuse bad input, naming the call, the argument and the shapes', () => {
  for (const [group, rows] of Object.entries({ rope, biases, keepRules, normalizers, linear, luong })) {
    describe(group, () => {
      it.each(Object.entries(rows))('%s', (_label, row) => {
        expectHeedError(row.call, row.error, { op: row.op, argument: row.argument, ...(row.shapes ? { shapes: row.shapes } : {}) });
      });
    });
  }

  it('the messages name the call and, for shape errors, the shapes', () => {
    const error = expectHeedError(() => applyRotaryEmbedding(t([2, 3, 5])), ShapeError, { op: 'applyRotaryEmbedding', argument: 'x' });
    expect(error.message).toMatch(/^applyRotaryEmbedding: .*\[2, 3, 5\]/);
    const bias = expectHeedError(() => alibiScorer(3).score(t([1, 2, 4, 8]), t([1, 2, 5, 8])), ShapeError, {
      op: 'alibi+scaled-dot.score',
      argument: 'query',
    });
    expect(bias.message).toContain('[3, 4, 5]');
    expect(bias.message).toContain('[1, 2, 4, 8]');
  });
});

describe('a refused call changes no state', () => {
  const snapshot = (module: { namedParameters(): [string, Tensor][] }) =>
    Object.fromEntries(module.namedParameters().map(([name, p]) => [name, Array.from(p.data)]));

  it('LinearAttentionState.step keeps its sums when refused, and goes on as if never called', () => {
    const state = new LinearAttentionState();
    const fresh = new LinearAttentionState();
    const [q0, k0, v0] = [t([2, 1, 4], 1), t([2, 1, 4], 2), t([2, 1, 3], 3)];
    state.step(q0, k0, v0);
    fresh.step(q0, k0, v0);
    const rows: [string, () => unknown, abstract new (...args: never[]) => HeedError, string][] = [
      ['two positions at once', () => state.step(t([2, 2, 4]), t([2, 2, 4]), t([2, 2, 3])), ShapeError, 'query'],
      ['another d', () => state.step(t([2, 1, 5]), t([2, 1, 5]), t([2, 1, 3])), ShapeError, 'key'],
      ['another dv', () => state.step(t([2, 1, 4]), t([2, 1, 4]), t([2, 1, 2])), ShapeError, 'key'],
      ['another batch', () => state.step(t([3, 1, 4]), t([3, 1, 4]), t([3, 1, 3])), ShapeError, 'key'],
      ['key with NaN', () => state.step(t([2, 1, 4]), withValue([2, 1, 4], 1, NaN), t([2, 1, 3])), ArgumentError, 'key'],
      ['value with Infinity', () => state.step(t([2, 1, 4]), t([2, 1, 4]), withValue([2, 1, 3], 0, Infinity)), ArgumentError, 'value'],
      ['query = null', () => state.step(bad(null), t([2, 1, 4]), t([2, 1, 3])), ArgumentError, 'query'],
      // φ(query) underflows to 0 (entries far below −100): φ(q)·Z = 0/0, which the batch path refuses the same way
      [
        'query far below −100 (would be 0/0 = NaN)',
        () => state.step(full([2, 1, 4], -200), t([2, 1, 4]), t([2, 1, 3])),
        ArgumentError,
        'query',
      ],
    ];
    for (const [label, call, error, argument] of rows) {
      expect(label).toBeTypeOf('string');
      expectHeedError(call, error, { op: 'LinearAttentionState.step', argument });
      expect(state.length).toBe(1);
    }
    const [q1, k1, v1] = [t([2, 1, 4], 4), t([2, 1, 4], 5), t([2, 1, 3], 6)];
    expect(Array.from(state.step(q1, k1, v1).data)).toEqual(Array.from(fresh.step(q1, k1, v1).data));
    expect(state.length).toBe(2);
  });

  it('LinearAttentionState.step refuses a first key whose φ underflows, as the causal batch pass does, and keeps no sums', () => {
    const [q, k, v] = [t([1, 1, 4], 1), full([1, 1, 4], -200), t([1, 1, 3], 3)];
    expectHeedError(() => linearAttention(q, k, v, { causal: true }), ArgumentError, { op: 'linearAttention', argument: 'query' });
    const state = new LinearAttentionState();
    expectHeedError(() => state.step(q, k, v), ArgumentError, {
      op: 'LinearAttentionState.step',
      argument: 'query',
      shapes: { output: [1, 1, 3] },
    });
    expect(state.length).toBe(0);
    const [q1, k1, v1] = [t([1, 1, 4], 4), t([1, 1, 4], 5), t([1, 1, 3], 6)];
    expect(Array.from(state.step(q1, k1, v1).data)).toEqual(Array.from(new LinearAttentionState().step(q1, k1, v1).data));
  });

  it('LuongLocalAttention.forward refuses bad states and leaves the weights alone', () => {
    const layer = new LuongLocalAttention({ dim: 4, mode: 'local-p', window: 1, rng: new Rng(3) });
    const before = snapshot(layer);
    const forward = 'LuongLocalAttention.forward';
    expectHeedError(() => layer.forward(t([2, 3, 5]), t([2, 6, 4])), ShapeError, {
      op: forward,
      argument: 'hs',
      shapes: { h: [2, 3, 5], hs: [2, 6, 4] },
    });
    expectHeedError(() => layer.forward(t([2, 3, 4]), t([3, 6, 4])), ShapeError, {
      op: forward,
      argument: 'hs',
      shapes: { h: [2, 3, 4], hs: [3, 6, 4] },
    });
    expectHeedError(() => layer.forward(t([3, 4]), t([6, 4])), ShapeError, {
      op: forward,
      argument: 'hs',
      shapes: { h: [3, 4], hs: [6, 4] },
    });
    expectHeedError(() => layer.forward(bad(null), t([2, 6, 4])), ArgumentError, { op: forward, argument: 'h' });
    expectHeedError(() => layer.forward(t([2, 3, 4]), bad([[1, 2, 3, 4]])), ArgumentError, { op: forward, argument: 'hs' });
    // NaN in a decoder state would give a NaN predicted position, an empty window and NaN weights.
    expectHeedError(() => layer.forward(withValue([2, 3, 4], 2, NaN), t([2, 6, 4])), ArgumentError, {
      op: forward,
      argument: 'h',
      shapes: { h: [2, 3, 4] },
    });
    expectHeedError(() => layer.forward(t([2, 3, 4]), withValue([2, 6, 4], 7, -Infinity)), ArgumentError, {
      op: forward,
      argument: 'hs',
      shapes: { hs: [2, 6, 4] },
    });
    expect(snapshot(layer)).toEqual(before);
  });

  it('LuongLocalAttention.loadTorchStateDict checks every key first and writes nothing on failure', () => {
    const layer = new LuongLocalAttention({ dim: 4, mode: 'local-p', window: 1, predictorDim: 3, rng: new Rng(4) });
    const before = snapshot(layer);
    const load = 'LuongLocalAttention.loadTorchStateDict';
    const good = {
      'W_a.weight': { shape: [4, 4], data: new Float32Array(16).fill(0.5) },
      'W_p.weight': { shape: [3, 4], data: new Float32Array(12).fill(0.25) },
      v_p: { shape: [3], data: new Float32Array(3).fill(1) },
    };
    const { v_p: _dropped, ...missing } = good;
    const rows: [Record<string, unknown>, string, Record<string, readonly number[]>?][] = [
      [{ ...good, 'W_b.weight': { shape: [4, 4], data: new Float32Array(16) } }, 'W_b.weight'],
      [{ ...good, 'W_p.weight': { shape: [4, 3], data: new Float32Array(12) } }, 'W_p.weight', { expected: [3, 4], got: [4, 3] }],
      [{ ...good, v_p: { shape: [3], data: [1, NaN, 1] } }, 'v_p'],
      [{ ...good, v_p: null }, 'v_p'],
      [{ ...good, 'W_a.weight': { shape: [4, 4], data: new Float32Array(15) } }, 'W_a.weight'],
      [missing, 'state'],
    ];
    for (const [state, argument, shapes] of rows) {
      expectHeedError(() => layer.loadTorchStateDict(bad(state)), StateDictError, { op: load, argument, ...(shapes ? { shapes } : {}) });
      expect(snapshot(layer)).toEqual(before);
    }
    expectHeedError(() => layer.loadTorchStateDict(bad(null)), StateDictError, { op: load, argument: 'state' });
    // local-m has no position predictor: its keys are unexpected there.
    const monotonic = new LuongLocalAttention({ dim: 4, mode: 'local-m', window: 1, rng: new Rng(4) });
    expectHeedError(() => monotonic.loadTorchStateDict(bad(good)), StateDictError, { op: load, argument: 'W_p.weight' });
  });

  it('RelativePositionBias and SoftmaxWithSinks keep their parameters when a call is refused', () => {
    const bias = new RelativePositionBias({ numHeads: 2, numBuckets: 8, maxDistance: 16, rng: new Rng(5) });
    const sinks = new SoftmaxWithSinks({ numHeads: 2, init: 'normal', rng: new Rng(6) });
    const [biasBefore, sinksBefore] = [snapshot(bias), snapshot(sinks)];
    expectHeedError(() => new BiasedScorer(bias).score(t([1, 3, 4, 8]), t([1, 3, 5, 8])), ShapeError, {
      op: 'relative-position+scaled-dot.score',
      argument: 'query',
      shapes: { query: [1, 3, 4, 8], keys: [1, 3, 5, 8], bias: [2, 4, 5] },
    });
    expectHeedError(() => bias.bias(2, 3, 0.5), ArgumentError, { op: 'relativePositionBucket', argument: 'relativePosition' });
    expectHeedError(() => sinks.normalize(t([1, 3, 4, 4])), ShapeError, { op: 'SoftmaxWithSinks.normalize', argument: 'scores' });
    expect([snapshot(bias), snapshot(sinks)]).toEqual([biasBefore, sinksBefore]);
  });

  it('ModifiedScorer refuses a modifier that is not one, or that changes the shape', () => {
    expectHeedError(() => new ModifiedScorer(bad({ kind: 'x' })), ConfigError, { op: 'ModifiedScorer', argument: 'modifier' });
    expectHeedError(() => new ModifiedScorer(bad(null)), ConfigError, { op: 'ModifiedScorer', argument: 'modifier' });
    const identity = { kind: 'id', modify: (s: Tensor) => s };
    expectHeedError(() => new ModifiedScorer(identity, { queryPositionOffset: 0.5 }), ConfigError, {
      op: 'ModifiedScorer',
      argument: 'queryPositionOffset',
    });
    const shrink = new ModifiedScorer({ kind: 'shrink', modify: () => ones([1, 1]) });
    expectHeedError(() => shrink.score(t([3, 4]), t([5, 4])), ShapeError, {
      op: 'shrink+scaled-dot.score',
      argument: 'modifier',
      shapes: { scores: [3, 5], modified: [1, 1] },
    });
    const notATensor = new ModifiedScorer({ kind: 'array', modify: () => bad([[1]]) });
    expectHeedError(() => notATensor.score(t([3, 4]), t([5, 4])), ShapeError, { op: 'array+scaled-dot.score', argument: 'modifier' });
  });
});
