import { matmul, Module, mul, type Tensor } from '@heed/tensor';
import { checkOptions, checkPositive } from './check-dim';
import { checkScorerInputs } from './check-scorer-inputs';
import { scorerBrand, type FusedScore, type Scorer } from './scorer';

export interface ScaledDotScorerOptions {
  /** Multiplies qᵀk; default 1/√d with d the key feature size at call time. */
  scale?: number;
}

/**
 * Vaswani et al. 2017, "scaled dot-product": score(q, k) = scale · qᵀk, scale = 1/√d by default.
 * query [..., Lq, d] x keys [..., Lk, d] -> [..., Lq, Lk]; needs dq = dk. No parameters.
 */
export class ScaledDotScorer extends Module implements Scorer {
  readonly kind = 'scaled-dot';
  readonly [scorerBrand] = true as const;
  /** The fixed scale, or undefined for 1/√d. */
  readonly scale: number | undefined;

  constructor(options: ScaledDotScorerOptions = {}) {
    super();
    checkOptions('ScaledDotScorer', options, false);
    this.scale = options.scale === undefined ? undefined : checkPositive('ScaledDotScorer', 'scale', options.scale);
  }

  /** The scale applied for feature size d. */
  scaleFor(d: number): number {
    return this.scale ?? 1 / Math.sqrt(d);
  }

  /** [..., Lq, d] x [..., Lk, d] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    const { keyDim } = checkScorerInputs(this.kind, query, keys, { sameDim: true });
    const logits = matmul(query, keys, { transposeB: true }); // [..., Lq, d] x [..., d, Lk] -> [..., Lq, Lk]
    return mul(logits, this.scaleFor(keyDim)); // [..., Lq, Lk]
  }

  /** scale · q·k is the fused kernel's score (null for a subclass that changes `score`). */
  fusedScore(keyDim: number): FusedScore | null {
    return this.score === ScaledDotScorer.prototype.score ? { kind: 'dot', scale: this.scaleFor(keyDim) } : null;
  }
}
