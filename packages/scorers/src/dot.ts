import { matmul, Module, type Tensor } from '@heed/tensor';
import { checkScorerInputs } from './check-scorer-inputs';
import { scorerBrand, type FusedScore, type Scorer } from './scorer';

/**
 * Luong et al. 2015, "dot": score(q, k) = qᵀk.
 * query [..., Lq, d] x keys [..., Lk, d] -> [..., Lq, Lk]; needs dq = dk. No parameters.
 */
export class DotScorer extends Module implements Scorer {
  readonly kind = 'dot';
  readonly [scorerBrand] = true as const;

  /** [..., Lq, d] x [..., Lk, d] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    checkScorerInputs(this.kind, query, keys, { sameDim: true });
    return matmul(query, keys, { transposeB: true }); // [..., Lq, d] x [..., d, Lk] -> [..., Lq, Lk]
  }

  /** q·k is the fused kernel's score with scale 1 (null for a subclass that changes `score`). */
  fusedScore(): FusedScore | null {
    return this.score === DotScorer.prototype.score ? { kind: 'dot', scale: 1 } : null;
  }
}
