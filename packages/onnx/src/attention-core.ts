import { DotScorer, ScaledDotScorer, type Scorer } from '@heed/scorers';
import { Softmax, type Normalizer } from '@heed/soft-attention';
import type { Module } from '@heed/tensor';
import type { GraphBuilder } from './graph-builder';
import { buildKeepMask, rowKeepsAny, type KeepInputs } from './keep-mask';
import { normalizerExportFor, temperatureOf } from './normalizer-export';
import type { ParameterTable } from './parameter-table';
import { isBuiltInScorer, scorerExportFor } from './scorer-export';

// Shape letters: B batch, H query heads, Hkv key/value heads (H / groupSize), Lq queries, Lk keys,
// dq/dk/dv per-head feature sizes. Inputs are heads-first: [B, H, L, d], or [B, L, d] without heads.

/**
 * 'standard': the ai.onnx `Attention` op (opset 23) where it expresses the configuration (dot or
 * scaled-dot scores, softmax), plain ops elsewhere. 'contrib': `com.microsoft.MultiHeadAttention`
 * (ONNX Runtime's own op, which its WebGPU provider runs on the GPU) where it applies, plain ops
 * elsewhere. 'decomposed': plain ops only (MatMul, Softmax, TopK, CumSum, …).
 */
export type OnnxTarget = 'standard' | 'contrib' | 'decomposed';

export interface AttentionCoreSpec {
  /** One scorer serving every head, or one per query head (with the prefix of its parameters' names). */
  scorers: readonly { scorer: Scorer; prefix: string }[];
  normalizer: Normalizer;
  /** H, or 0 when the inputs have no heads axis. */
  numHeads: number;
  /** H / Hkv (1 without grouped-query heads). */
  groupSize: number;
  queryDim: number;
  keyDim: number;
  valueDim: number;
  target: OnnxTarget;
  /** The op name used in errors. */
  op: string;
}

/** Which fused op computes the spec on this target, or null for the decomposed graph. */
export function fusedOpFor(spec: AttentionCoreSpec): 'Attention' | 'MultiHeadAttention' | null {
  if (spec.target === 'decomposed' || spec.scorers.length !== 1) return null;
  const { scorer } = spec.scorers[0]!;
  const dotLike = isBuiltInScorer(scorer) && (scorer instanceof DotScorer || scorer instanceof ScaledDotScorer);
  const softmax = spec.normalizer instanceof Softmax && Object.getPrototypeOf(spec.normalizer) === Softmax.prototype;
  if (!dotLike || !softmax) return null;
  if (spec.target === 'contrib' && spec.queryDim !== spec.valueDim) return null;
  return spec.target === 'standard' ? 'Attention' : 'MultiHeadAttention';
}

/** softmax(scale · q·kᵀ / T): the single scale of a dot-like scorer over the softmax temperature. */
function fusedScale(spec: AttentionCoreSpec): number {
  const { scorer } = spec.scorers[0]!;
  const scorerScale = scorer instanceof ScaledDotScorer ? scorer.scaleFor(spec.keyDim) : 1;
  return scorerScale / temperatureOf(spec.normalizer);
}

/**
 * Attention on query [B, (H,) Lq, dq], keys and values [B, (Hkv,) Lk, ·] with the masks -> context
 * [B, (H,) Lq, dv]. A fully masked query row gives a zero context, as in heed.
 */
export function attentionCore(
  graph: GraphBuilder,
  parameters: ParameterTable,
  query: string,
  keys: string,
  values: string,
  masks: KeepInputs,
  spec: AttentionCoreSpec,
): string {
  const rank = spec.numHeads > 0 ? 4 : 3;
  const fused = fusedOpFor(spec);
  const onlyCausal = masks.causal === true && masks.slidingWindow === undefined && !masks.attentionMask && !masks.keyPaddingMask;
  if (fused === 'Attention') {
    // Attention-23 wants [B, H, L, d] (it reads Hkv < H key/value heads itself).
    const toFour = (x: string): string => (rank === 4 ? x : graph.op('Unsqueeze', [x, graph.int64s([1])])); // [B, L, d] -> [B, 1, L, d]
    const [q, k, v] = [toFour(query), toFour(keys), toFour(values)];
    const keep = onlyCausal ? null : fullKeep(graph, masks, query, keys, rank); // [B|1, H|1, Lq, Lk]
    const inputs = keep ? [q, k, v, keep] : [q, k, v];
    const attributes = { scale: fusedScale(spec), ...(onlyCausal ? { is_causal: 1 } : {}) };
    let context = graph.op('Attention', inputs, attributes, { floatAttributes: ['scale'], name: 'attention' }); // [B, H, Lq, dv]
    if (keep) context = graph.op('Where', [rowKeepsAny(graph, keep), context, graph.float(0)]); // fully masked rows -> 0
    return rank === 4 ? context : graph.op('Squeeze', [context, graph.int64s([1])]); // [B, 1, Lq, dv] -> [B, Lq, dv]
  }
  if (fused === 'MultiHeadAttention') {
    // com.microsoft.MultiHeadAttention wants [B, L, H·d] and as many key/value heads as query heads.
    const H = Math.max(spec.numHeads, 1);
    const toFour = (x: string): string => (rank === 4 ? x : graph.op('Unsqueeze', [x, graph.int64s([1])])); // [B, L, d] -> [B, 1, L, d]
    const [q, k, v] = [toFour(query), repeatHeads(graph, toFour(keys), spec.groupSize), repeatHeads(graph, toFour(values), spec.groupSize)]; // [B, H, L, d]
    const flat = (x: string): string => graph.op('Reshape', [graph.op('Transpose', [x], { perm: [0, 2, 1, 3] }), graph.int64s([0, 0, -1])]); // [B, H, L, d] -> [B, L, H·d]
    const keep = fullKeep(graph, masks, query, keys, rank); // [B|1, H|1, Lq, Lk]
    const inputs = [flat(q), flat(k), flat(v)];
    if (keep)
      inputs.push('', '', graph.op('Where', [keep, graph.float(0), graph.float(-3.4028234663852886e38)], {}, { name: 'attention_bias' })); // bias, key_padding_mask unused
    const merged = graph.op(
      'MultiHeadAttention',
      inputs,
      { num_heads: H, scale: fusedScale(spec) },
      { domain: 'com.microsoft', floatAttributes: ['scale'], name: 'attention' },
    ); // [B, Lq, H·dv]
    let context = graph.op('Transpose', [graph.op('Reshape', [merged, graph.int64s([0, 0, H, spec.valueDim])])], { perm: [0, 2, 1, 3] }); // [B, H, Lq, dv]
    if (keep) context = graph.op('Where', [rowKeepsAny(graph, keep), context, graph.float(0)]); // fully masked rows -> 0
    return rank === 4 ? context : graph.op('Squeeze', [context, graph.int64s([1])]); // [B, 1, Lq, dv] -> [B, Lq, dv]
  }

  // Decomposed: the three steps, one line each.
  const k = repeatHeads(graph, keys, spec.groupSize); // [B, Hkv, Lk, dk] -> [B, H, Lk, dk]
  const v = repeatHeads(graph, values, spec.groupSize); // [B, Hkv, Lk, dv] -> [B, H, Lk, dv]
  const keep = buildKeepMask(graph, masks, query, k, rank); // broadcastable to [B, (H,) Lq, Lk], or null
  const scores = scoreAll(graph, parameters, query, k, spec, rank); // [B, (H,) Lq, Lk]
  const normalizer = spec.normalizer;
  const parameter = (path: string): string => parameters.useIn(normalizer as unknown as Module, path, 'normalizer.');
  const weights = normalizerExportFor(normalizer, spec.op)(graph, scores, keep, { normalizer, parameter }); // [B, (H,) Lq, Lk]
  return graph.op('MatMul', [weights, v], {}, { name: 'context' }); // [B, (H,) Lq, Lk] x [B, (H,) Lk, dv] -> [B, (H,) Lq, dv]
}

/**
 * The keep-mask with its query and key axes at full length and a heads axis, as the fused ops want it
 * (they broadcast batch and heads only): -> [B|1, H|1, Lq, Lk], or null when nothing masks.
 */
function fullKeep(graph: GraphBuilder, masks: KeepInputs, query: string, keys: string, rank: number): string | null {
  const keep = buildKeepMask(graph, masks, query, keys, rank); // broadcastable to [B, (H,) Lq, Lk]
  if (!keep) return null;
  const lengths = [graph.op('Shape', [query], { start: -2, end: -1 }), graph.op('Shape', [keys], { start: -2, end: -1 })]; // [1], [1]
  const shape = graph.op('Concat', [graph.int64s(new Array<number>(rank - 2).fill(1)), ...lengths], { axis: 0 }); // [1, (1,) Lq, Lk]
  const full = graph.op('Expand', [keep, shape], {}, { name: 'keep_full' }); // [B|1, (H|1,) Lq, Lk]
  return rank === 4 ? full : graph.op('Unsqueeze', [full, graph.int64s([1])]); // [B|1, Lq, Lk] -> [B|1, 1, Lq, Lk]
}

/** Scores of every head: one scorer on all heads, or scorer h on head h. -> [B, (H,) Lq, Lk] */
function scoreAll(
  graph: GraphBuilder,
  parameters: ParameterTable,
  query: string,
  keys: string,
  spec: AttentionCoreSpec,
  rank: number,
): string {
  const score = (entry: { scorer: Scorer; prefix: string }, q: string, k: string): string =>
    scorerExportFor(entry.scorer, spec.op)(graph, q, k, {
      scorer: entry.scorer,
      parameter: (path) => parameters.useIn(entry.scorer, path, entry.prefix),
      rank,
      queryDim: spec.queryDim,
      keyDim: spec.keyDim,
    });
  if (spec.scorers.length === 1) return score(spec.scorers[0]!, query, keys);
  const head = (x: string, h: number): string => graph.op('Slice', [x, graph.int64s([h]), graph.int64s([h + 1]), graph.int64s([1])]); // [B, 1, L, d]
  const perHead = spec.scorers.map((entry, h) => score(entry, head(query, h), head(keys, h))); // H × [B, 1, Lq, Lk]
  return graph.op('Concat', perHead, { axis: 1 }, { name: 'scores' }); // [B, H, Lq, Lk]
}

/** [B, Hkv, L, d] -> [B, Hkv·g, L, d]: key/value head j serves query heads [j·g, (j+1)·g). */
export function repeatHeads(graph: GraphBuilder, x: string, groupSize: number): string {
  if (groupSize === 1) return x;
  const copies = graph.op('Expand', [graph.op('Unsqueeze', [x, graph.int64s([2])]), graph.int64s([1, 1, groupSize, 1, 1])]); // [B, Hkv, 1, L, d] -> [B, Hkv, g, L, d]
  const shape = graph.op('Concat', [graph.op('Shape', [x], { end: 1 }), graph.int64s([-1]), graph.op('Shape', [x], { start: 2 })], {
    axis: 0,
  }); // [B, −1, L, d]
  return graph.op('Reshape', [copies, shape], {}, { name: 'repeated_heads' }); // [B, H, L, d]
}
