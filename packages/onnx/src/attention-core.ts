import { DotScorer, ScaledDotScorer, type Scorer } from '@heed/scorers';
import { Softmax, SoftcapScorer, SoftmaxWithSinks, type Normalizer } from '@heed/soft-attention';
import type { Module } from '@heed/tensor';
import type { GraphBuilder } from './graph-builder';
import { buildKeepMask, rowKeepsAny, type KeepInputs, type OffsetValue } from './keep-mask';
import { normalizerExportFor, temperatureOf } from './normalizer-export';
import type { ParameterTable } from './parameter-table';
import { isBuiltInScorer, scorerExportFor } from './scorer-export';

// Shape letters: B batch, H query heads, Hkv key/value heads (H / groupSize), Lq queries, Lk keys,
// dq/dk/dv per-head feature sizes. Inputs are heads-first: [B, H, L, d], or [B, L, d] without heads.

/**
 * 'standard': the ai.onnx `Attention` op (opset 23) where it expresses the configuration (dot or
 * scaled-dot scores, softmax), plain ops elsewhere. 'contrib': ONNX Runtime's own ops, which its WebGPU
 * provider runs on the GPU — `com.microsoft.GroupQueryAttention` for causal self-attention without a cache
 * (GQA, MQA, a sliding window, softcap, sinks), `com.microsoft.MultiHeadAttention` for the other
 * dot-like softmax configurations — plain ops elsewhere. 'decomposed': plain ops only (MatMul,
 * Softmax, TopK, CumSum, …).
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
  /**
   * Query row r sits at key position r + pastLength (self-attention, with a cache's past length or 0):
   * a causal rule at that offset is GroupQueryAttention's bottom-right causal. Null when the query and
   * key lengths are unrelated (cross-attention inputs).
   */
  selfAttention?: { pastLength: OffsetValue } | null;
}

export type FusedOp = 'Attention' | 'MultiHeadAttention' | 'GroupQueryAttention';

/** The dot-like scorer at the heart of the spec's one scorer, and its soft-cap (0 without): null when it is not dot-like. */
function dotLikeOf(spec: AttentionCoreSpec): { scorer: DotScorer | ScaledDotScorer; cap: number } | null {
  if (spec.scorers.length !== 1) return null;
  const { scorer } = spec.scorers[0]!;
  const dotLike = (s: Scorer): s is DotScorer | ScaledDotScorer =>
    isBuiltInScorer(s) && (s instanceof DotScorer || s instanceof ScaledDotScorer);
  if (dotLike(scorer)) return { scorer, cap: 0 };
  if (scorer instanceof SoftcapScorer && dotLike(scorer.inner)) return { scorer: scorer.inner, cap: scorer.cap };
  return null;
}

/**
 * Whether com.microsoft.GroupQueryAttention computes the spec: causal self-attention without a cache,
 * maybe a causal sliding window, dot-like scores (maybe
 * soft-capped), softmax (with a temperature when not capped) or softmax with sinks, and no mask inputs;
 * ONNX Runtime wants a head size that is a multiple of 8.
 */
function groupQueryApplies(spec: AttentionCoreSpec, masks: KeepInputs): boolean {
  const dotLike = dotLikeOf(spec);
  const self = spec.selfAttention;
  if (!dotLike || !self || spec.numHeads === 0 || spec.queryDim !== spec.valueDim || spec.queryDim % 8 !== 0) return false;
  const plainSoftmax = isPlainSoftmax(spec.normalizer) && (dotLike.cap === 0 || temperatureOf(spec.normalizer) === 1);
  const sinks = spec.normalizer instanceof SoftmaxWithSinks && spec.normalizer.numHeads === spec.numHeads;
  if (!plainSoftmax && !sinks) return false;
  const onlyRules = !masks.attentionMask && !masks.keyPaddingMask && !masks.additiveMask && !masks.keepRule;
  // No cache (past length 0): given past keys, ONNX Runtime 1.30's GroupQueryAttention takes more than one
  // new position only for a batch of 1, and a graph must run at every batch size and chunk length.
  return onlyRules && self.pastLength === 0 && masks.causal?.offset === 0;
}

const isPlainSoftmax = (normalizer: Normalizer): boolean =>
  normalizer instanceof Softmax && Object.getPrototypeOf(normalizer) === Softmax.prototype;

/** Which fused op computes the spec (with these masks) on this target, or null for the decomposed graph. */
export function fusedOpFor(spec: AttentionCoreSpec, masks: KeepInputs): FusedOp | null {
  if (spec.target === 'decomposed') return null;
  if (spec.target === 'contrib' && groupQueryApplies(spec, masks)) return 'GroupQueryAttention';
  const dotLike = dotLikeOf(spec);
  if (dotLike?.cap !== 0 || !isPlainSoftmax(spec.normalizer)) return null;
  if (spec.target === 'contrib' && spec.queryDim !== spec.valueDim) return null;
  return spec.target === 'standard' ? 'Attention' : 'MultiHeadAttention';
}

/** softmax(scale · q·kᵀ / T): the single scale of a dot-like scorer over the softmax temperature. */
function fusedScale(spec: AttentionCoreSpec): number {
  const { scorer } = dotLikeOf(spec)!;
  const scorerScale = scorer instanceof ScaledDotScorer ? scorer.scaleFor(spec.keyDim) : 1;
  return scorerScale / temperatureOf(spec.normalizer);
}

/**
 * The float bias a fused op adds to its scaled scores: the additive mask over the temperature where
 * kept, the lowest float elsewhere. keep [B|1, H|1, Lq, Lk] -> [B|1, H|1, Lq, Lk]
 */
function fusedBias(graph: GraphBuilder, keep: string, masks: KeepInputs, spec: AttentionCoreSpec, rank: number): string {
  let additive = graph.float(0);
  if (masks.additiveMask) {
    const full = rank === 4 ? masks.additiveMask : graph.op('Unsqueeze', [masks.additiveMask, graph.int64s([1])]); // [B, Lq, Lk] -> [B, 1, Lq, Lk]
    const T = temperatureOf(spec.normalizer);
    additive = T === 1 ? full : graph.op('Div', [full, graph.float(T, undefined, 'temperature')]); // softmax((s + a) / T) = softmax(s / T + a / T)
  }
  return graph.op('Where', [keep, additive, graph.float(FLOAT_LOWEST)], {}, { name: 'attention_bias' });
}

const FLOAT_LOWEST = -3.4028234663852886e38;

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
  const fused = fusedOpFor(spec, masks);
  const toFour = (x: string): string => (rank === 4 ? x : graph.op('Unsqueeze', [x, graph.int64s([1])])); // [B, L, d] -> [B, 1, L, d]
  const fromFour = (x: string): string => (rank === 4 ? x : graph.op('Squeeze', [x, graph.int64s([1])])); // [B, 1, Lq, dv] -> [B, Lq, dv]
  if (fused === 'Attention') {
    // Attention-23 wants [B, H, L, d] (it reads Hkv < H key/value heads itself).
    const onlyCausal =
      masks.causal?.offset === 0 &&
      masks.slidingWindow === undefined &&
      !masks.attentionMask &&
      !masks.keyPaddingMask &&
      !masks.additiveMask &&
      !masks.keepRule;
    const [q, k, v] = [toFour(query), toFour(keys), toFour(values)];
    const keep = onlyCausal ? null : fullKeep(graph, masks, query, keys, rank); // [B|1, H|1, Lq, Lk]
    const mask = keep && masks.additiveMask ? fusedBias(graph, keep, masks, spec, rank) : keep; // bool, or float with an additive mask
    const inputs = mask ? [q, k, v, mask] : [q, k, v];
    const attributes = { scale: fusedScale(spec), ...(onlyCausal ? { is_causal: 1 } : {}) };
    let context = graph.op('Attention', inputs, attributes, { floatAttributes: ['scale'], name: 'attention' }); // [B, H, Lq, dv]
    if (keep) context = graph.op('Where', [rowKeepsAny(graph, keep), context, graph.float(0)]); // fully masked rows -> 0
    return fromFour(context);
  }
  const flat = (x: string): string => graph.op('Reshape', [graph.op('Transpose', [x], { perm: [0, 2, 1, 3] }), graph.int64s([0, 0, -1])]); // [B, H, L, d] -> [B, L, H·d]
  const H = Math.max(spec.numHeads, 1);
  const unflat = (x: string, heads: number, d: number): string =>
    graph.op('Transpose', [graph.op('Reshape', [x, graph.int64s([0, 0, heads, d])])], { perm: [0, 2, 1, 3] }); // [B, L, H·d] -> [B, H, L, d]
  if (fused === 'GroupQueryAttention') {
    // com.microsoft.GroupQueryAttention: [B, L, H·d] queries, [B, L, Hkv·d] keys and values, causal bottom-right
    // over all the keys (seqlens_k = Lk − 1 for every batch row, total_sequence_length = Lk).
    const Hkv = spec.numHeads / spec.groupSize;
    const total = graph.op('Cast', [graph.op('Shape', [keys], { start: 2, end: 3 })], { to: 6 }); // [1] int32 = Lk
    const lastKey = graph.op('Sub', [total, graph.int32s([1])]); // [1]
    const seqlens = graph.op('Expand', [lastKey, graph.op('Shape', [query], { end: 1 })], {}, { name: 'seqlens_k' }); // [B] int32
    const totalLength = graph.op('Squeeze', [total, graph.int64s([0])], {}, { name: 'total_sequence_length' }); // [] int32
    const { cap } = dotLikeOf(spec)!;
    const sinks =
      spec.normalizer instanceof SoftmaxWithSinks ? parameters.useIn(spec.normalizer as unknown as Module, 'sinks', 'normalizer.') : null;
    const inputs = [flat(query), flat(keys), flat(values), '', '', seqlens, totalLength, ...(sinks ? ['', '', '', '', sinks] : [])];
    const attributes = {
      num_heads: spec.numHeads,
      kv_num_heads: Hkv,
      scale: fusedScale(spec),
      ...(masks.slidingWindow !== undefined ? { local_window_size: masks.slidingWindow } : {}),
      ...(cap > 0 ? { softcap: cap } : {}),
    };
    const [merged] = graph.ops('GroupQueryAttention', inputs, 3, attributes, {
      domain: 'com.microsoft',
      floatAttributes: ['scale', 'softcap'],
      name: 'attention',
    }); // [B, Lq, H·dv]
    return unflat(merged!, spec.numHeads, spec.valueDim); // [B, H, Lq, dv]
  }
  if (fused === 'MultiHeadAttention') {
    // com.microsoft.MultiHeadAttention wants [B, L, H·d] and as many key/value heads as query heads.
    const [q, k, v] = [toFour(query), repeatHeads(graph, toFour(keys), spec.groupSize), repeatHeads(graph, toFour(values), spec.groupSize)]; // [B, H, L, d]
    const keep = fullKeep(graph, masks, query, keys, rank); // [B|1, H|1, Lq, Lk]
    const inputs = [flat(q), flat(k), flat(v)];
    if (keep) inputs.push('', '', fusedBias(graph, keep, masks, spec, rank)); // bias, key_padding_mask unused
    const merged = graph.op(
      'MultiHeadAttention',
      inputs,
      { num_heads: H, scale: fusedScale(spec) },
      { domain: 'com.microsoft', floatAttributes: ['scale'], name: 'attention' },
    ); // [B, Lq, H·dv]
    let context = unflat(merged, H, spec.valueDim); // [B, H, Lq, dv]
    if (keep) context = graph.op('Where', [rowKeepsAny(graph, keep), context, graph.float(0)]); // fully masked rows -> 0
    return fromFour(context);
  }

  // Decomposed: the three steps, one line each.
  const k = repeatHeads(graph, keys, spec.groupSize); // [B, Hkv, Lk, dk] -> [B, H, Lk, dk]
  const v = repeatHeads(graph, values, spec.groupSize); // [B, Hkv, Lk, dv] -> [B, H, Lk, dv]
  const keep = buildKeepMask(graph, masks, query, k, rank); // broadcastable to [B, (H,) Lq, Lk], or null
  const unbiased = scoreAll(graph, parameters, query, k, spec, rank); // [B, (H,) Lq, Lk]
  const scores = masks.additiveMask ? graph.op('Add', [unbiased, masks.additiveMask], {}, { name: 'biased_scores' }) : unbiased; // [B, (H,) Lq, Lk]
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
