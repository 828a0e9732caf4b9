import {
  add,
  ArgumentError,
  attentionWeights,
  ConfigError,
  defaultRng,
  dropout,
  formatShape,
  matmul,
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
  /**
   * Return the weights (default true). With false, `weights` is null and `attend` may take the fused
   * path, which never stores the [..., Lq, Lk] matrix (O(L) memory).
   */
  needWeights?: boolean;
  /** Which path computes the attention (default 'auto'; see `AttendImplementation`). */
  implementation?: AttendImplementation;
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
  /** [..., Lq, dv], the weighted sums of the values. */
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
  const { query, keys, values } = options;
  checkValues(keys, values, query);
  const scorer = resolveScorer(options.scorer);
  const normalizer = resolveNormalizer(options.normalizer);
  const needWeights = options.needWeights ?? true;

  const fusedScale = chooseFused(options, scorer, normalizer, needWeights); // the one switch: a scale, or null for plain
  if (fusedScale !== null) {
    // Fused: softmax(scale · Q Kᵀ | keep) V tile by tile, never storing [..., Lq, Lk]; causal stays an index rule.
    checkScorerInputs(scorer.kind, query, keys, { sameDim: true });
    const keep = buildKeepMask({ mask: options.mask, keyPaddingMask: options.keyPaddingMask }, query, keys); // broadcastable to [..., Lq, Lk], or null
    const fused = { scale: fusedScale, keep, causal: options.causal ?? false };
    const { output: context, logSumExp } = scaledDotProductAttentionWithLogSumExp(query, keys, values, fused); // -> [..., Lq, dv], [..., Lq]
    const weights = needWeights ? attentionWeights(query, keys, logSumExp, fused) : null; // [..., Lq, Lk], exact, from the same pass
    return { context, weights };
  }

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
  return { context, weights: needWeights ? weights : null };
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
