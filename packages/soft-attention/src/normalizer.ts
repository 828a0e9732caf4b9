import type { Tensor } from '@heed/tensor';

/**
 * The brand of a normalizer: `[normalizerBrand]: true` marks a part as a Normalizer without
 * `instanceof`, so one from a second installed copy of `@heed/soft-attention` is still recognised.
 */
export const normalizerBrand: unique symbol = Symbol.for('heed.normalizer') as never;

/**
 * What the fused attention kernel can compute for a normalizer: `{ kind: 'softmax', temperature }`
 * means normalize(z) = softmax(z / temperature) along the keys, masked entries 0.
 */
export interface FusedNormalizer {
  kind: 'softmax';
  /** Divides the scores first (finite, > 0). */
  temperature: number;
  /** Sink logits [H], one per head, joining each row's denominator with no value (gpt-oss); absent for plain softmax. */
  sinks?: Tensor;
}

/**
 * Step two of attention: turn scores into weights that sum to one along the last axis (the keys).
 * scores [..., Lk] (+ keep [..., Lk] broadcastable, 1 = may attend) -> weights [..., Lk].
 * Masked entries get weight exactly 0; a row with nothing kept is all zeros, never NaN.
 */
export interface Normalizer {
  /** The registry name, e.g. `'softmax'`, `'sparsemax'`, `'entmax15'`. */
  readonly kind: string;
  /** [..., Lk] (keep broadcastable to it) -> [..., Lk] */
  normalize(scores: Tensor, keep?: Tensor | null): Tensor;
  /** Opt-in to the fused path: what `normalize` computes when the fused kernel can compute it too, else null. */
  fusedNormalizer?(): FusedNormalizer | null;
  /** Set by heed's normalizers; one of your own may set it too. */
  readonly [normalizerBrand]?: true;
}

/** Whether `x` is a Normalizer: it carries the brand (any installed copy of heed), or has `kind` and `normalize`. */
export function isNormalizer(x: unknown): x is Normalizer {
  if (typeof x !== 'object' || x === null) return false;
  const part = x as { [normalizerBrand]?: unknown; kind?: unknown; normalize?: unknown };
  return part[normalizerBrand] === true || (typeof part.normalize === 'function' && typeof part.kind === 'string');
}
