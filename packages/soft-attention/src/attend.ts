import { add, defaultRng, dropout, formatShape, matmul, ShapeError, type Rng, type Tensor } from '@heed/tensor';
import { createScorer, ScaledDotScorer, type Scorer, type ScorerSpec } from '@heed/scorers';
import { causalMask, checkMaskShape, combineMasks, keyPaddingToMask, toMask, type MaskLike } from './masks';
import type { Normalizer } from './normalizer';
import { resolveNormalizer, type NormalizerSpec } from './normalizer-registry';

// Shape letters: B batch (any leading dims), Lq queries, Lk keys, dq/dk/dv feature sizes.

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
}

export interface AttendResult {
  /** [..., Lq, dv], the weighted sums of the values. */
  context: Tensor;
  /** [..., Lq, Lk], the normalized weights (before dropout); each row sums to 1, or is 0 if fully masked. */
  weights: Tensor;
}

/**
 * Attention in three steps: score every key, normalize the scores into weights, sum the values.
 *   scores  = scorer(query, keys)                 [..., Lq, Lk]
 *   weights = normalize(scores + additive | keep) [..., Lq, Lk]
 *   context = weights · values                    [..., Lq, dv]
 */
export function attend(options: AttendOptions): AttendResult {
  const { query, keys, values } = options;
  checkValues(keys, values, query);
  const scorer = resolveScorer(options.scorer);
  const normalizer = resolveNormalizer(options.normalizer);

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
  return { context, weights };
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
  const lead = query.shape.slice(0, -2);
  const Lq = query.shape[query.rank - 2]!;
  const Lk = keys.shape[keys.rank - 2]!;
  const target = [...lead, Lq, Lk];
  const explicit = options.mask === undefined ? null : toMask(options.mask);
  if (explicit) checkMaskShape(explicit, target, op, 'mask');
  let padding: Tensor | null = null;
  if (options.keyPaddingMask !== undefined) {
    const kpm = toMask(options.keyPaddingMask);
    const B = lead[0] ?? 1;
    if (kpm.rank !== 2 || kpm.shape[0] !== B || kpm.shape[1] !== Lk) {
      throw new ShapeError(`keyPaddingMask ${formatShape(kpm.shape)} must be [B, Lk] = [${B}, ${Lk}] for query ${formatShape(query.shape)} and keys ${formatShape(keys.shape)}`, {
        op,
        argument: 'keyPaddingMask',
        shapes: { keyPaddingMask: kpm.shape, query: query.shape, keys: keys.shape },
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
