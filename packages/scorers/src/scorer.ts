import type { Module, Tensor } from '@heed/tensor';

/**
 * Step one of attention: compare every query with every key.
 * query [..., Lq, dq] x keys [..., Lk, dk] -> scores [..., Lq, Lk]  (leading dims, e.g. B or B×H, match).
 * A scorer is a Module: its parameters (if any) train with the rest of the model.
 */
export interface Scorer extends Module {
  /** The registry name, e.g. `'dot'`, `'scaled-dot'`, `'additive'`. */
  readonly kind: string;
  /** [..., Lq, dq] x [..., Lk, dk] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor;
}

/** Feature sizes every factory receives (modules pass the per-head sizes). */
export interface ScorerDims {
  /** dq, the query feature size. */
  queryDim?: number;
  /** dk, the key feature size. */
  keyDim?: number;
}
