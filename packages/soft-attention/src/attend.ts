import {
  add,
  ArgumentError,
  attentionWeights,
  broadcastTo,
  defaultRng,
  deviceBackend,
  dropout,
  expectRng,
  isHeedError,
  matmul,
  permute,
  reshape,
  scaledDotProductAttentionWithLogSumExp,
  type HeedErrorFields,
  type Rng,
  type ScaledDotProductAttentionOptions,
  Tensor,
} from '@heed/tensor';
import { resolveNormalizer, type NormalizerLike } from './normalizer-registry';
import {
  keepMaskOf,
  planAttention,
  type AttentionCallOptions,
  type AttentionLayout,
  type AttentionPlan,
  type FusedVariants,
} from './plan-attention';
import { applyRotaryEmbedding } from './variants/rotary-embedding';
import { resolveScorer, type ScorerLike } from './resolve-scorer';
import type { Scorer } from '@heed/scorers';
import type { Normalizer } from './normalizer';

// Shape letters: B batch (any leading dims), H query heads, Hkv = H / groupSize key/value heads,
// Lq queries, Lk keys, dq/dk/dv feature sizes.

export interface AttendOptions extends AttentionCallOptions {
  /** [..., Lq, dq] */
  query: Tensor;
  /** [..., Lk, dk] */
  keys: Tensor;
  /** [..., Lk, dv] */
  values: Tensor;
  /** Step one; a Scorer, a spec, or a kind name for a parameter-free kind (default: scaled-dot, 1/√d). */
  scorer?: ScorerLike;
  /** Step two; a Normalizer, a spec or a kind name (default: softmax). */
  normalizer?: NormalizerLike;
  /** Dropout probability on the weights, in [0, 1) (applied only when `training`, default true). */
  dropout?: number;
  training?: boolean;
  /** Generator for dropout (default: the shared default generator). */
  rng?: Rng;
  /**
   * Query heads per key/value head (grouped-query attention, default 1): query [..., H, Lq, dq] with
   * keys and values [..., H / groupSize, Lk, ·]; query head h reads key/value head ⌊h / groupSize⌋.
   * The fused path reads the shared heads in place; the plain path repeats them (`broadcastTo`), so
   * their gradients add up in the shared head.
   */
  groupSize?: number;
  /**
   * Where the heads axis sits (default 'heads-first'). 'sequence-first': query [..., Lq, H, dq], keys
   * [..., Lk, Hkv, dk], values [..., Lk, Hkv, dv] and context [..., Lq, H, dv] — a projection's output
   * [..., L, H·d] reshaped, which the fused path reads in place (no permute; the plain path permutes).
   * Masks, scores and weights stay [..., H, Lq, Lk] either way.
   */
  layout?: AttentionLayout;
}

/** `attend`'s own option names, besides the attention options every call takes. */
const attendOptionNames = ['query', 'keys', 'values', 'scorer', 'normalizer', 'dropout', 'training', 'rng', 'groupSize', 'layout'] as const;

export interface AttendResult {
  /** [..., Lq, dv], the weighted sums of the values ([..., Lq, H, dv] with layout 'sequence-first'). */
  context: Tensor;
  /** [..., Lq, Lk], the normalized weights (before dropout); each row sums to 1, or is 0 if fully masked. Null with `needWeights: false`. */
  weights: Tensor | null;
}

/**
 * Attention in three steps: score every key, normalize the scores into weights, sum the values.
 *   scores  = scorer(query, keys)                 [..., Lq, Lk]
 *   weights = normalize(scores + additive | keep) [..., Lq, Lk]
 *   context = weights · values                    [..., Lq, dv]
 * The options are resolved once by `planAttention` (the only place they are checked); when the scorer
 * and normalizer declare the capability the same result comes from one fused kernel that never stores
 * the weights (see `implementation`, `needWeights`).
 */
export function attend(options: AttendOptions & { needWeights: false }): AttendResult & { weights: null };
export function attend(options: AttendOptions & { needWeights?: true }): AttendResult & { weights: Tensor };
export function attend(options: AttendOptions): AttendResult;
export function attend(options: AttendOptions): AttendResult {
  const op = 'attend';
  if (typeof options !== 'object' || options === null)
    throw new ArgumentError(`takes one options object { query, keys, values, ... }, got ${String(options)}`, { op, argument: 'options' });
  if (options.rng !== undefined) expectRng(op, 'rng', options.rng); // at the call, not when dropout first draws
  const scorer = resolveScorer(options.scorer, { op });
  const normalizer = resolveNormalizer(options.normalizer, op);
  const { query, keys, values, groupSize, layout, training } = options;
  const plan = planAttention(
    { op, query, keys, values, scorer, normalizer, groupSize, layout, dropout: options.dropout, training, optionNames: attendOptionNames },
    options,
  );
  return runAttention(plan, scorer, normalizer, options.rng);
}

/** Computes a checked plan on its path: query, keys, values and masks as the plan resolved them. */
export function runAttention(plan: AttentionPlan, scorer: Scorer, normalizer: Normalizer, rng: Rng | undefined): AttendResult {
  return plan.path === 'fused' ? fusedAttention(plan) : plainAttention(plan, scorer, normalizer, rng ?? defaultRng());
}

/**
 * Fused: softmax(scale · Q Kᵀ | keep) V tile by tile, never storing [..., Lq, Lk]; causal and the windows stay
 * key bounds (the kernels skip the tiles outside them); shared heads and 'sequence-first' are read in place.
 * Variants: RoPE rotates q and k first (O(L·d)); ALiBi, the relative bias, the cap, the sinks and the
 * segments run inside the kernels.
 */
function fusedAttention(plan: AttentionPlan): AttendResult {
  const { values, scale, layout, groupSize } = plan;
  const band = plan.keep.band;
  const causal = band?.causalOffset != null ? { offset: band.causalOffset } : false;
  const variants = plan.variants;
  const rotary = variants?.rotary;
  const query = rotary
    ? applyRotaryEmbedding(plan.query, { base: rotary.base, style: rotary.style, positionOffset: rotary.queryOffset, layout })
    : plan.query; // [..., Lq, d] (or [..., Lq, H, d]), rotated
  const keys = rotary ? applyRotaryEmbedding(plan.keys, { base: rotary.base, style: rotary.style, layout }) : plan.keys; // [..., Lk, d], rotated
  const fused = {
    scale: scale!,
    attentionMask: plan.keep.mask,
    causal,
    windowStart: band?.windowStart ?? null,
    groupSize,
    layout,
    ...(variants ? variantOptions(variants) : {}),
  };
  const { output: context, logSumExp } = scaledDotProductAttentionWithLogSumExp(query, keys, values, fused); // -> [..., Lq, dv] (or [..., Lq, H, dv]), [..., Lq]
  const weights = plan.needWeights ? attentionWeights(query, keys, logSumExp, fused) : null; // [..., Lq, Lk], exact, from the same pass
  return { context, weights };
}

/** The plan's variants as the fused op's options. */
function variantOptions(variants: FusedVariants): ScaledDotProductAttentionOptions {
  return {
    alibiSlopes: variants.alibi?.slopes ?? null,
    queryPositionOffset: variants.alibi?.queryOffset ?? 0,
    positionBias: variants.relativeBias,
    softcap: variants.softcap,
    sinks: variants.sinks,
    querySegments: variants.segments?.query ?? null,
    keySegments: variants.segments?.keys ?? null,
  };
}

/** Plain: the three steps as the equation, heads first, every query head with its own copy of its key/value head. */
function plainAttention(plan: AttentionPlan, scorer: Scorer, normalizer: Normalizer, rng: Rng): AttendResult {
  const swap = plan.layout === 'sequence-first' ? headsAxisSwap(plan.query.rank) : null;
  const query = swap ? permute(plan.query, swap) : plan.query; // [..., Lq, H, dq] -> [..., H, Lq, dq]
  const keys = repeatHeads(swap ? permute(plan.keys, swap) : plan.keys, plan.groupSize); // -> [..., Hkv, Lk, dk] -> [..., H, Lk, dk]
  const values = repeatHeads(swap ? permute(plan.values, swap) : plan.values, plan.groupSize); // -> [..., Hkv, Lk, dv] -> [..., H, Lk, dv]

  const scores = scoreFor(plan, scorer, query, keys); // [..., Lq, dq] x [..., Lk, dk] -> [..., Lq, Lk]
  const biased = plan.additive ? add(scores, additiveOn(scores, plan.additive)) : scores; // [..., Lq, Lk]
  const weights = asCall(plan, () => normalizer.normalize(biased, keepMaskOf(plan))); // [..., Lq, Lk]
  const dropped = plan.dropout > 0 ? dropout(weights, plan.dropout, rng, true) : weights; // [..., Lq, Lk]
  const context = matmul(dropped, values); // [..., Lq, Lk] x [..., Lk, dv] -> [..., Lq, dv]
  return { context: swap ? permute(context, swap) : context, weights: plan.needWeights ? weights : null }; // [..., H, Lq, dv] -> [..., Lq, H, dv]
}

/**
 * The additive mask where the scores live: a host mask (masks are built on the CPU, as keep-masks are) is uploaded for
 * a call on a device. Same shape. (The planner has refused one on another device.) A host one that tracks a gradient
 * (an upload would lose it) is left as it is, for `add` to refuse by name.
 */
function additiveOn(scores: Tensor, additive: Tensor): Tensor {
  if (additive.storage !== null || scores.storage === null || additive.requiresGrad) return additive;
  return new Tensor(deviceBackend(scores.device, 'attend').upload(additive.data), additive.shape); // [..., Lq, Lk]
}

/**
 * scorer.score(query, keys) -> [..., Lq, Lk]; an error the scorer raises about its inputs (e.g. a head size it
 * was not built for) is re-raised naming the public call, with the scorer's kind in the message.
 */
function scoreFor(plan: AttentionPlan, scorer: Scorer, query: Tensor, keys: Tensor): Tensor {
  return asCall(plan, () => scorer.score(query, keys)); // [..., Lq, Lk]
}

/** `compute()`, with a HeedError it raises (the scorer's, the normalizer's) re-raised naming the public call. */
function asCall<T>(plan: AttentionPlan, compute: () => T): T {
  try {
    return compute();
  } catch (error) {
    if (!isHeedError(error) || error.op === plan.op) throw error;
    const message = error.message.startsWith(`${error.op}: `) ? error.message.slice(error.op.length + 2) : error.message;
    const Kind = error.constructor as new (message: string, fields: HeedErrorFields) => Error;
    throw new Kind(`${error.op}: ${message}`, { op: plan.op, argument: error.argument, shapes: error.shapes });
  }
}

/** The axis order that swaps the heads and sequence axes (−3 and −2) of a rank-`rank` tensor. */
function headsAxisSwap(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => (i === rank - 3 ? rank - 2 : i === rank - 2 ? rank - 3 : i));
}

/** [..., Hkv, L, d] -> [..., Hkv·g, L, d]: key/value head j serves query heads [j·g, (j+1)·g); gradients of the copies add up. */
function repeatHeads(x: Tensor, groupSize: number): Tensor {
  if (groupSize === 1) return x;
  const lead = x.shape.slice(0, -3);
  const [Hkv, L, d] = x.shape.slice(-3) as [number, number, number];
  const copies = broadcastTo(reshape(x, [...lead, Hkv, 1, L, d]), [...lead, Hkv, groupSize, L, d]); // [..., Hkv, 1, L, d] -> [..., Hkv, g, L, d]
  return reshape(copies, [...lead, Hkv * groupSize, L, d]); // [..., Hkv, g, L, d] -> [..., H, L, d]
}
