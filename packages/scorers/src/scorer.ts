import type { Module, Tensor } from '@heed/tensor';

/**
 * The brand of a scorer: `[scorerBrand]: true` marks a part as a Scorer without `instanceof`, so a
 * scorer from a second installed copy of `@heed/scorers` is still recognised (see `isScorer`).
 */
export const scorerBrand: unique symbol = Symbol.for('heed.scorer') as never;

/**
 * What the fused attention kernel can compute for a scorer: `{ kind: 'dot', scale }` means
 * score(q, k) = scale · q·k exactly (dq = dk), so softmax(score) V can run tile by tile.
 */
export interface FusedScore {
  kind: 'dot';
  /** Multiplies q·k (finite, > 0). */
  scale: number;
}

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
  /**
   * Opt-in to the fused path: what `score` computes for key feature size `keyDim` when the fused kernel
   * can compute it too (scale · q·k), or null when it cannot. Leave it out (or return null) unless
   * `score` is exactly that: attention then takes the fused path whenever the rest of the call allows.
   */
  fusedScore?(keyDim: number): FusedScore | null;
  /** Set by heed's scorers; a scorer of your own may set it too. */
  readonly [scorerBrand]?: true;
}

/** Whether `x` is a Scorer: it carries the brand (any installed copy of heed), or has `kind` and `score`. */
export function isScorer(x: unknown): x is Scorer {
  if (typeof x !== 'object' || x === null) return false;
  const part = x as { [scorerBrand]?: unknown; kind?: unknown; score?: unknown };
  return part[scorerBrand] === true || (typeof part.score === 'function' && typeof part.kind === 'string');
}

/** Feature sizes every factory receives (modules pass the per-head sizes). */
export interface ScorerDims {
  /** dq, the query feature size. */
  queryDim?: number;
  /** dk, the key feature size. */
  keyDim?: number;
}
