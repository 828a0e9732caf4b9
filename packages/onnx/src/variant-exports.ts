import {
  AlibiBias,
  BiasedScorer,
  RelativePositionBias,
  relativePositionBucket,
  type RotaryScorer,
  type SoftcapScorer,
  type SoftmaxWithSinks,
} from '@heed/soft-attention';
import { ConfigError } from '@heed/tensor';
import type { Scorer } from '@heed/scorers';
import type { GraphBuilder } from './graph-builder';
import { registerNormalizerExport } from './normalizer-export';
import { registerScorerExport, scorerExportFor, type ScorerExportContext } from './scorer-export';

// The built-in variants: scorers that wrap a scorer — rotary position embedding (RoPE), logit
// soft-capping, ALiBi — and softmax with attention sinks.
// Shape letters: ... leading dims, L positions, d features (even for RoPE), Lq queries, Lk keys.

/** The wrapped scorer's export, its parameters read under `inner.`. */
function scoreInner(graph: GraphBuilder, q: string, k: string, context: ScorerExportContext<Scorer & { inner: Scorer }>): string {
  const inner = context.scorer.inner;
  return scorerExportFor(inner, 'exportToOnnx')(graph, q, k, {
    ...context,
    scorer: inner,
    parameter: (path) => context.parameter(`inner.${path}`),
  });
}

/** The length of x [..., L, d] as an int64 scalar. */
function lengthOf(graph: GraphBuilder, x: string): string {
  return graph.op('Squeeze', [graph.op('Shape', [x], { start: -2, end: -1 }), graph.int64s([0])]); // []
}

/**
 * RoPE (Su et al. 2021): x_rot = x ⊙ cos θ + pairSwap(x) ⊙ sin θ with θ[p, i] = (p + offset) · base^(−2i/d),
 * the positions p = 0 … L − 1 computed in the graph (dynamic L). x [..., L, d] -> [..., L, d]
 */
export function rotate(graph: GraphBuilder, x: string, offset: string, d: number, scorer: Pick<RotaryScorer, 'base' | 'style'>): string {
  const half = d / 2;
  const inverseFrequencies = graph.float(
    Array.from({ length: half }, (_, i) => scorer.base ** ((-2 * i) / d)),
    [1, half],
    'inverse_frequencies',
  ); // [1, d/2]
  const positions = graph.op('Add', [
    graph.op('Cast', [graph.op('Range', [graph.int64(0), lengthOf(graph, x), graph.int64(1)])], { to: 1 }),
    offset,
  ]); // [L]
  const angles = graph.op('MatMul', [graph.op('Unsqueeze', [positions, graph.int64s([1])]), inverseFrequencies]); // [L, 1] x [1, d/2] -> [L, d/2]
  const [cos, sin] = [graph.op('Cos', [angles]), graph.op('Sin', [angles])]; // [L, d/2]
  if (scorer.style === 'rotate-half') {
    const full = (t: string): string => graph.op('Concat', [t, t], { axis: -1 }); // [L, d]
    const [first, second] = graph.ops('Split', [x, graph.int64s([half, half])], 2, { axis: -1 }); // [..., L, d/2] each
    const swapped = graph.op('Concat', [graph.op('Neg', [second!]), first!], { axis: -1 }); // (−x_b, x_a)  [..., L, d]
    return graph.op('Add', [graph.op('Mul', [x, full(cos)]), graph.op('Mul', [swapped, full(sin)])], {}, { name: 'rotated' });
  }
  // interleaved: pairs (2i, 2i + 1)
  const pairShape = graph.op('Concat', [graph.op('Shape', [x], { end: -1 }), graph.int64s([half, 2])], { axis: 0 }); // [..., L, d/2, 2]
  const pairs = graph.op('Reshape', [x, pairShape]); // [..., L, d/2, 2]
  const [even, odd] = graph.ops('Split', [pairs, graph.int64s([1, 1])], 2, { axis: -1 }); // [..., L, d/2, 1] each
  const swapped = graph.op('Reshape', [graph.op('Concat', [graph.op('Neg', [odd!]), even!], { axis: -1 }), graph.op('Shape', [x])]); // [..., L, d]
  const interleave = (t: string): string =>
    graph.op('Reshape', [
      graph.op('Concat', [graph.op('Unsqueeze', [t, graph.int64s([-1])]), graph.op('Unsqueeze', [t, graph.int64s([-1])])], { axis: -1 }),
      graph.int64s([0, d]),
    ]); // [L, d/2, 2] -> [L, d]
  return graph.op('Add', [graph.op('Mul', [x, interleave(cos)]), graph.op('Mul', [swapped, interleave(sin)])], {}, { name: 'rotated' });
}

registerScorerExport<RotaryScorer>('rotary', (graph, q, k, context) => {
  const { scorer, queryDim } = context;
  // The query offset: an integer, or 'bottom-right' (Lk − Lq), computed from the graph's lengths.
  const offset =
    scorer.queryPositionOffset === 'bottom-right'
      ? graph.op('Cast', [graph.op('Sub', [lengthOf(graph, k), lengthOf(graph, q)])], { to: 1 })
      : graph.float(scorer.queryPositionOffset);
  const rotatedQuery = rotate(graph, q, offset, queryDim, scorer); // [..., Lq, d]
  const rotatedKeys = rotate(graph, k, graph.float(0), queryDim, scorer); // [..., Lk, d]
  return scoreInner(graph, rotatedQuery, rotatedKeys, context as ScorerExportContext<Scorer & { inner: Scorer }>); // [..., Lq, Lk]
});

/** Logit soft-capping (Gemma 2): cap · tanh(scores / cap). [..., Lq, Lk] -> [..., Lq, Lk] */
registerScorerExport<SoftcapScorer>('softcap', (graph, q, k, context) => {
  const cap = graph.float(context.scorer.cap, undefined, 'cap');
  const scores = scoreInner(graph, q, k, context as ScorerExportContext<Scorer & { inner: Scorer }>); // [..., Lq, Lk]
  return graph.op('Mul', [graph.op('Tanh', [graph.op('Div', [scores, cap])]), cap], {}, { name: 'capped_scores' });
});

/** The BiasedScorer behind a '<bias>+<inner>' kind, or a ConfigError (a ModifiedScorer may carry the same kind). */
function biasedScorerOf(scorer: Scorer, Bias: typeof AlibiBias | typeof RelativePositionBias): BiasedScorer {
  if (!(scorer instanceof BiasedScorer) || !(scorer.positionBias instanceof Bias)) {
    const what = scorer instanceof BiasedScorer ? `a '${scorer.positionBias.kind}' position bias of its own` : scorer.constructor.name;
    throw new ConfigError(
      `the scorer '${scorer.kind}' is ${what}, not heed's ${Bias.name}: it has no ONNX export; register one with registerScorerExport('${scorer.kind}', …)`,
      { op: 'exportToOnnx', argument: 'scorer' },
    );
  }
  return scorer;
}

/** j − (i + offset) for query i and key j as an int64 [Lq, Lk]; the offset an integer or 'bottom-right' (Lk − Lq). */
function relativePositions(graph: GraphBuilder, q: string, k: string, scorer: BiasedScorer): string {
  const positions = (x: string): string => graph.op('Range', [graph.int64(0), lengthOf(graph, x), graph.int64(1)]); // [L]
  const offset =
    scorer.queryPositionOffset === 'bottom-right'
      ? graph.op('Sub', [lengthOf(graph, k), lengthOf(graph, q)])
      : graph.int64(scorer.queryPositionOffset);
  const queryPositions = graph.op('Unsqueeze', [graph.op('Add', [positions(q), offset]), graph.int64s([1])]); // [Lq, 1]
  return graph.op('Sub', [positions(k), queryPositions], {}, { name: 'relative_positions' }); // [Lq, Lk]
}

/**
 * ALiBi (Press et al. 2022): scores + slope_h · (j − (i + offset)) for query i, key j, head h.
 * -> [..., H, Lq, Lk] (a single slope without a heads axis).
 */
registerScorerExport<BiasedScorer>('alibi+*', (graph, q, k, context) => {
  const scorer = biasedScorerOf(context.scorer, AlibiBias);
  const bias = scorer.positionBias as AlibiBias;
  const scores = scoreInner(graph, q, k, context as ScorerExportContext<Scorer & { inner: Scorer }>); // [..., (H,) Lq, Lk]
  const distance = graph.op('Cast', [relativePositions(graph, q, k, scorer)], { to: 1 }); // j − (i + offset)  [Lq, Lk]
  const slopes =
    context.rank >= 4
      ? graph.float(bias.slopes, [bias.slopes.length, 1, 1], 'alibi_slopes')
      : graph.float(bias.slopes[0]!, undefined, 'alibi_slope'); // [H, 1, 1] or []
  return graph.op('Add', [scores, graph.op('Mul', [slopes, distance])], {}, { name: 'biased_scores' }); // [..., (H,) Lq, Lk]
});

/**
 * T5's relative position bias (Raffel et al. 2020): scores + table[bucket(j − (i + offset)), h]. The
 * buckets of distances 0 … ⌈maxDistance⌉ are computed once here (heed's `relativePositionBucket`) and
 * looked up in the graph; longer distances share the last. -> [..., H, Lq, Lk]
 */
registerScorerExport<BiasedScorer>('relative-position+*', (graph, q, k, context) => {
  const scorer = biasedScorerOf(context.scorer, RelativePositionBias);
  const bias = scorer.positionBias as RelativePositionBias;
  const scores = scoreInner(graph, q, k, context as ScorerExportContext<Scorer & { inner: Scorer }>); // [..., (H,) Lq, Lk]
  const options = { bidirectional: bias.bidirectional, numBuckets: bias.numBuckets, maxDistance: bias.maxDistance };
  const farthest = Math.ceil(bias.maxDistance);
  const table = (sign: number): string =>
    graph.int64s(
      Array.from({ length: farthest + 1 }, (_, d) => relativePositionBucket(sign * d, options)),
      sign > 0 ? 'buckets_ahead' : 'buckets_behind',
    ); // [farthest + 1]
  const relative = relativePositions(graph, q, k, scorer); // r = j − (i + offset)  [Lq, Lk]
  const distance = graph.op('Min', [graph.op('Abs', [relative]), graph.int64(farthest)]); // min(|r|, farthest)  [Lq, Lk]
  const ahead = graph.op('Greater', [relative, graph.int64(0)]); // r > 0  [Lq, Lk]
  const buckets = graph.op(
    'Where',
    [ahead, graph.op('Gather', [table(1), distance]), graph.op('Gather', [table(-1), distance])],
    {},
    { name: 'buckets' },
  ); // [Lq, Lk]
  const rows = graph.op('Gather', [context.parameter('positionBias.relative_attention_bias'), buckets]); // [numBuckets, H] -> [Lq, Lk, H]
  const perHead = graph.op('Transpose', [rows], { perm: [2, 0, 1] }, { name: 'relative_bias' }); // [H, Lq, Lk]
  return graph.op('Add', [scores, perHead], {}, { name: 'biased_scores' }); // [..., (H,) Lq, Lk]
});

/**
 * Softmax with one learned sink logit per head (gpt-oss): softmax over [scores, sink_h], the sink's
 * weight dropped, so a row's weights may sum to less than 1. scores [..., H, Lq, Lk] -> [..., H, Lq, Lk]
 */
registerNormalizerExport<SoftmaxWithSinks>('softmax-sinks', (graph, scores, keep, { normalizer, parameter }) => {
  const kept = keep ? graph.op('Where', [keep, scores, graph.float(-3.4028234663852886e38)]) : scores; // [..., H, Lq, Lk]
  const sinkShape = graph.op('Concat', [graph.op('Shape', [scores], { end: -1 }), graph.int64s([1])], { axis: 0 }); // [..., H, Lq, 1]
  const sinks = graph.op('Expand', [graph.op('Reshape', [parameter('sinks'), graph.int64s([normalizer.numHeads, 1, 1])]), sinkShape]); // [H, 1, 1] -> [..., H, Lq, 1]
  const all = graph.op('Softmax', [graph.op('Concat', [kept, sinks], { axis: -1 })], { axis: -1 }); // [..., H, Lq, Lk + 1]
  const weights = graph.op('Slice', [all, graph.int64s([0]), graph.int64s([-1]), graph.int64s([-1])]); // [..., H, Lq, Lk]
  return keep ? graph.op('Where', [keep, weights, graph.float(0)], {}, { name: 'weights' }) : weights;
});
