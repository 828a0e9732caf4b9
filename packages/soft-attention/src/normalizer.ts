import type { Tensor } from '@heed/tensor';

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
}
