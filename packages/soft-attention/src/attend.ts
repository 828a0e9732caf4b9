import {
  add,
  ArgumentError,
  attentionWeights,
  broadcastTo,
  ConfigError,
  defaultRng,
  dropout,
  formatShape,
  matmul,
  permute,
  reshape,
  scaledDotProductAttentionWithLogSumExp,
  ShapeError,
  type Rng,
  type Tensor,
} from '@heed/tensor';
import { checkScorerInputs, createScorer, DotScorer, ScaledDotScorer, type Scorer, type ScorerSpec } from '@heed/scorers';
import { causalMask, checkMaskShape, combineMasks, keyPaddingToMask, toMask, type MaskLike } from './masks';
import type { Normalizer } from './normalizer';
import { resolveNormalizer, type NormalizerSpec } from './normalizer-registry';
import { Softmax } from './softmax';

// Shape letters: B batch (any leading dims), H query heads, Hkv = H / groupSize key/value heads,
// Lq queries, Lk keys, dq/dk/dv feature sizes.

export interface AttendOptions {
  /** [..., Lq, dq] */
  query: Tensor;
  /** [..., Lk, dk] */
  keys: Tensor;
  /** [..., Lk, dv] */
  values: Tensor;
  /** Step one; a Scorer, or a spec for a parameter-free kind (default: scaled-dot, 1/√d). */
  scorer?: Scorer | ScorerSpec;
  /** Step two; a Normalizer or a spec (default: softmax). */
  normalizer?: Normalizer | NormalizerSpec;
  /** Keep-mask (1 = may attend) broadcastable to [..., Lq, Lk]. */
  mask?: MaskLike;
  /** Keep-mask [B, Lk]: 1 = real key, 0 = padding. (PyTorch's key_padding_mask is the opposite.) */
  keyPaddingMask?: MaskLike;
  /** Query i may attend keys j ≤ i (top-left aligned). */
  causal?: boolean;
  /** Float mask added to the scores (0 = keep, −∞ = drop, or any bias), broadcastable to [..., Lq, Lk]. */
  additiveMask?: Tensor;
  /** Dropout probability on the weights (applied only when `training`, default true). */
  dropout?: number;
  training?: boolean;
  /** Generator for dropout (default: the shared default generator). */
  rng?: Rng;
  /**
   * Return the weights (default true). With false, `weights` is null and `attend` may take the fused
   * path, which never stores the [..., Lq, Lk] matrix (O(L) memory).
   */
  needWeights?: boolean;
  /** Which path computes the attention (default 'auto'; see `AttendImplementation`). */
  implementation?: AttendImplementation;
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
  layout?: 'heads-first' | 'sequence-first';
}

/**
 * 'plain': the three steps, always. 'fused': one tiled kernel (online softmax, O(L) memory), or a
 * ConfigError saying why this configuration cannot fuse. 'auto': fused when it can be and the weights
 * are not needed (`needWeights: false`), plain otherwise. Both paths give the same numbers.
 * Fusable: a `dot` or `scaled-dot` scorer, the softmax normalizer (any temperature), no additiveMask,
 * no dropout while training; mask, keyPaddingMask and causal all fuse.
 */
export type AttendImplementation = 'auto' | 'plain' | 'fused';

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
 * For dot / scaled-dot scores with softmax the same result can come from one fused kernel that never
 * stores the weights (see `implementation`, `needWeights`).
 */
export function attend(options: AttendOptions & { needWeights: false }): AttendResult & { weights: null };
export function attend(options: AttendOptions & { needWeights?: true }): AttendResult & { weights: Tensor };
export function attend(options: AttendOptions): AttendResult;
export function attend(options: AttendOptions): AttendResult {
  checkValues(options.keys, options.values, options.query);
  const { layout, groupSize } = checkHeads(options);
  const scorer = resolveScorer(options.scorer);
  const normalizer = resolveNormalizer(options.normalizer);
  const needWeights = options.needWeights ?? true;

  const fusedScale = chooseFused(options, scorer, normalizer, needWeights); // the one switch: a scale, or null for plain
  if (fusedScale !== null) {
    // Fused: softmax(scale · Q Kᵀ | keep) V tile by tile, never storing [..., Lq, Lk]; causal stays an index rule;
    // shared key/value heads and the 'sequence-first' layout are read in place.
    const { query, keys, values } = options;
    if (groupSize === 1 && layout === 'heads-first') checkScorerInputs(scorer.kind, query, keys, { sameDim: true });
    else checkFeatureSizes(scorer.kind, query, keys);
    const [queryShape, keyShape] = [headsFirstShape(query.shape, layout), headsFirstShape(keys.shape, layout)];
    const keep = buildKeepMaskFor({ mask: options.mask, keyPaddingMask: options.keyPaddingMask }, queryShape, keyShape, 'attend', { query: query.shape, keys: keys.shape }); // broadcastable to [..., Lq, Lk], or null
    const fused = { scale: fusedScale, keep, causal: options.causal ?? false, groupSize, layout };
    const { output: context, logSumExp } = scaledDotProductAttentionWithLogSumExp(query, keys, values, fused); // -> [..., Lq, dv] (or [..., Lq, H, dv]), [..., Lq]
    const weights = needWeights ? attentionWeights(query, keys, logSumExp, fused) : null; // [..., Lq, Lk], exact, from the same pass
    return { context, weights };
  }

  // Plain: the heads first, and every query head with its own copy of its key/value head.
  const swap = layout === 'sequence-first' ? headsAxisSwap(options.query.rank) : null;
  const query = swap ? permute(options.query, swap) : options.query; // [..., Lq, H, dq] -> [..., H, Lq, dq]
  const keys = repeatHeads(swap ? permute(options.keys, swap) : options.keys, groupSize); // -> [..., Hkv, Lk, dk] -> [..., H, Lk, dk]
  const values = repeatHeads(swap ? permute(options.values, swap) : options.values, groupSize); // -> [..., Hkv, Lk, dv] -> [..., H, Lk, dv]
  const keep = buildKeepMask(options, query, keys); // broadcastable to [..., Lq, Lk], or null

  let scores = scorer.score(query, keys); // [..., Lq, dq] x [..., Lk, dk] -> [..., Lq, Lk]
  if (options.additiveMask) {
    checkMaskShape(options.additiveMask, scores.shape, 'attend', 'additiveMask');
    scores = add(scores, options.additiveMask); // [..., Lq, Lk]
  }
  const weights = normalizer.normalize(scores, keep); // [..., Lq, Lk]
  const p = options.dropout ?? 0;
  const dropped = p > 0 ? dropout(weights, p, options.rng ?? defaultRng(), options.training ?? true) : weights; // [..., Lq, Lk]
  const context = matmul(dropped, values); // [..., Lq, Lk] x [..., Lk, dv] -> [..., Lq, dv]
  return { context: swap ? permute(context, swap) : context, weights: needWeights ? weights : null }; // [..., H, Lq, dv] -> [..., Lq, H, dv]
}

/** The axis order that swaps the heads and sequence axes (−3 and −2) of a rank-`rank` tensor. */
function headsAxisSwap(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => (i === rank - 3 ? rank - 2 : i === rank - 2 ? rank - 3 : i));
}

/** A shape read heads-first: 'sequence-first' [..., L, H, d] -> [..., H, L, d]. */
function headsFirstShape(shape: readonly number[], layout: 'heads-first' | 'sequence-first'): number[] {
  return layout === 'sequence-first' ? headsAxisSwap(shape.length).map((axis) => shape[axis]!) : [...shape];
}

/** [..., Hkv, L, d] -> [..., Hkv·g, L, d]: key/value head j serves query heads [j·g, (j+1)·g); gradients of the copies add up. */
function repeatHeads(x: Tensor, groupSize: number): Tensor {
  if (groupSize === 1) return x;
  const lead = x.shape.slice(0, -3);
  const [Hkv, L, d] = x.shape.slice(-3) as [number, number, number];
  const copies = broadcastTo(reshape(x, [...lead, Hkv, 1, L, d]), [...lead, Hkv, groupSize, L, d]); // [..., Hkv, 1, L, d] -> [..., Hkv, g, L, d]
  return reshape(copies, [...lead, Hkv * groupSize, L, d]); // [..., Hkv, g, L, d] -> [..., H, L, d]
}

/**
 * Checks `layout` and `groupSize` against the shapes: with either, query, keys and values need a heads
 * axis (rank ≥ 3), and with groups keys and values have H / groupSize heads where the query has H.
 */
function checkHeads(options: AttendOptions): { layout: 'heads-first' | 'sequence-first'; groupSize: number } {
  const { query, keys } = options;
  const shapes = { query: query.shape, keys: keys.shape, values: options.values.shape };
  const layout = options.layout ?? 'heads-first';
  if (layout !== 'heads-first' && layout !== 'sequence-first') {
    throw new ArgumentError(`layout must be 'heads-first' or 'sequence-first', got ${JSON.stringify(layout)}`, { op: 'attend', argument: 'layout', shapes });
  }
  const groupSize = options.groupSize ?? 1;
  if (!Number.isInteger(groupSize) || groupSize < 1) {
    throw new ArgumentError(`groupSize must be a positive integer, got ${groupSize}`, { op: 'attend', argument: 'groupSize', shapes });
  }
  if (layout === 'heads-first' && groupSize === 1) return { layout, groupSize };
  const form = layout === 'sequence-first' ? '[..., L, H, d]' : '[..., H, L, d]';
  if (query.rank < 3 || keys.rank !== query.rank) {
    throw new ShapeError(`${layout === 'sequence-first' ? "layout 'sequence-first'" : `groupSize ${groupSize}`} needs query and keys ${form} of the same rank ≥ 3, got query ${formatShape(query.shape)} and keys ${formatShape(keys.shape)}`, {
      op: 'attend',
      argument: query.rank < 3 ? 'query' : 'keys',
      shapes,
    });
  }
  const [queryShape, keyShape] = [headsFirstShape(query.shape, layout), headsFirstShape(keys.shape, layout)];
  const rank = query.rank;
  const H = queryShape[rank - 3]!;
  const expected = [...queryShape.slice(0, -3), H / groupSize];
  if (H % groupSize !== 0 || !keyShape.slice(0, -2).every((size, i) => size === expected[i])) {
    throw new ShapeError(
      `keys ${formatShape(keys.shape)} must have H / groupSize = ${H / groupSize} key/value heads and the batch dims of query ${formatShape(query.shape)} (both ${form}; H a multiple of groupSize ${groupSize})`,
      { op: 'attend', argument: H % groupSize !== 0 ? 'groupSize' : 'keys', shapes },
    );
  }
  return { layout, groupSize };
}

/** The fused path's feature check when the heads differ (groups) or sit elsewhere: dq must equal dk. */
function checkFeatureSizes(kind: string, query: Tensor, keys: Tensor): void {
  const queryDim = query.shape[query.rank - 1]!;
  const keyDim = keys.shape[keys.rank - 1]!;
  if (queryDim !== keyDim) {
    throw new ShapeError(`compares query and key features directly, so dq must equal dk; got query ${formatShape(query.shape)} (dq=${queryDim}) and keys ${formatShape(keys.shape)} (dk=${keyDim})`, {
      op: `${kind}.score`,
      argument: 'keys',
      shapes: { query: query.shape, keys: keys.shape },
    });
  }
}

/**
 * The scale of the fused path (the scorer's scale over the softmax temperature) when `implementation`
 * and the configuration select it, else null. 'fused' on a configuration that cannot fuse throws.
 */
function chooseFused(options: AttendOptions, scorer: Scorer, normalizer: Normalizer, needWeights: boolean): number | null {
  const implementation = options.implementation ?? 'auto';
  if (implementation !== 'auto' && implementation !== 'plain' && implementation !== 'fused') {
    throw new ArgumentError(`implementation must be 'auto', 'plain' or 'fused', got ${JSON.stringify(implementation)}`, { op: 'attend', argument: 'implementation' });
  }
  if (implementation === 'plain' || (implementation === 'auto' && needWeights)) return null;
  const plan = fusedPlan(options, scorer, normalizer);
  if (typeof plan === 'number') return plan;
  if (implementation === 'auto') return null;
  throw new ConfigError(`implementation 'fused' cannot run this configuration: ${plan}. Use implementation 'auto' or 'plain'.`, {
    op: 'attend',
    argument: 'implementation',
  });
}

/** softmax(scorer(q, k) / T) = softmax(scale · q·k) for the fusable scorers: that scale, or why not. */
function fusedPlan(options: AttendOptions, scorer: Scorer, normalizer: Normalizer): number | string {
  const isDot = scorer.kind === 'dot' && scorer instanceof DotScorer;
  const isScaledDot = scorer.kind === 'scaled-dot' && scorer instanceof ScaledDotScorer;
  if (!isDot && !isScaledDot) return `the scorer is '${scorer.kind}', and only the 'dot' and 'scaled-dot' scorers fuse`;
  if (!(normalizer.kind === 'softmax' && normalizer instanceof Softmax)) return `the normalizer is '${normalizer.kind}', and only softmax fuses`;
  if (options.additiveMask) return 'an additiveMask is given, and only keep-masks (mask, keyPaddingMask, causal) fuse';
  if ((options.dropout ?? 0) > 0 && (options.training ?? true)) return `dropout ${options.dropout} is active while training`;
  const keyDim = options.keys.shape[options.keys.rank - 1]!;
  const scale = isScaledDot ? (scorer as ScaledDotScorer).scaleFor(keyDim) : 1;
  return scale / normalizer.temperature;
}

/** The scorer as given, or built from a spec; undefined gives scaled-dot. */
export function resolveScorer(scorer: Scorer | ScorerSpec | undefined): Scorer {
  if (scorer === undefined) return new ScaledDotScorer();
  return typeof (scorer as Scorer).score === 'function' ? (scorer as Scorer) : createScorer(scorer as ScorerSpec);
}

/** The combined keep-mask of `mask`, `keyPaddingMask` and `causal`, checked against [..., Lq, Lk]. */
export function buildKeepMask(
  options: { mask?: MaskLike; keyPaddingMask?: MaskLike; causal?: boolean },
  query: Tensor,
  keys: Tensor,
  op = 'attend',
): Tensor | null {
  return buildKeepMaskFor(options, query.shape, keys.shape, op);
}

/** `buildKeepMask` from the (heads-first) shapes of query [..., Lq, dq] and keys [..., Lk, dk]; errors show the `given` shapes. */
function buildKeepMaskFor(
  options: { mask?: MaskLike; keyPaddingMask?: MaskLike; causal?: boolean },
  queryShape: readonly number[],
  keyShape: readonly number[],
  op = 'attend',
  given: { query: readonly number[]; keys: readonly number[] } = { query: queryShape, keys: keyShape },
): Tensor | null {
  const lead = queryShape.slice(0, -2);
  const Lq = queryShape[queryShape.length - 2]!;
  const Lk = keyShape[keyShape.length - 2]!;
  const target = [...lead, Lq, Lk];
  const explicit = options.mask === undefined ? null : toMask(options.mask);
  if (explicit) checkMaskShape(explicit, target, op, 'mask');
  let padding: Tensor | null = null;
  if (options.keyPaddingMask !== undefined) {
    const kpm = toMask(options.keyPaddingMask);
    const B = lead[0] ?? 1;
    if (kpm.rank !== 2 || kpm.shape[0] !== B || kpm.shape[1] !== Lk) {
      throw new ShapeError(`keyPaddingMask ${formatShape(kpm.shape)} must be [B, Lk] = [${B}, ${Lk}] for query ${formatShape(given.query)} and keys ${formatShape(given.keys)}`, {
        op,
        argument: 'keyPaddingMask',
        shapes: { keyPaddingMask: kpm.shape, query: given.query, keys: given.keys },
      });
    }
    const asMask = keyPaddingToMask(kpm); // [B, 1, Lk]
    padding = asMask.reshape([B, ...new Array<number>(Math.max(lead.length - 1, 0)).fill(1), 1, Lk]); // [B, 1.., 1, Lk]
  }
  const causal = options.causal ? causalMask(Lq, Lk) : null; // [Lq, Lk]
  return combineMasks(explicit, padding, causal);
}

function checkValues(keys: Tensor, values: Tensor, query: Tensor): void {
  const shapes = { query: query.shape, keys: keys.shape, values: values.shape };
  if (values.rank !== keys.rank || values.rank < 2) {
    throw new ShapeError(`values ${formatShape(values.shape)} must be [..., Lk, dv] with the rank of keys ${formatShape(keys.shape)}`, { op: 'attend', argument: 'values', shapes });
  }
  const same = keys.shape.slice(0, -1).every((d, i) => d === values.shape[i]);
  if (!same) {
    throw new ShapeError(`keys ${formatShape(keys.shape)} and values ${formatShape(values.shape)} must agree on every axis but the last (same number of keys Lk)`, {
      op: 'attend',
      argument: 'values',
      shapes,
    });
  }
}
